/**
 * Payout addresses to output scripts (scriptPubKey), checked against the
 * pool's network.
 *
 * - Base58Check (P2PKH, P2SH): version bytes 0x00/0x05 on mainnet, 0x6f/0xc4
 *   on every test network (testnet3, testnet4, signet and regtest share
 *   them, as in Bitcoin Core's chainparams).
 * - Segwit (BIP 173 bech32 for witness v0, BIP 350 bech32m for v1..v16):
 *   prefix (HRP) `bc` on mainnet, `tb` on testnet3, testnet4 and signet,
 *   `bcrt` on regtest. Programs of 2..40 bytes (BIP 141); v0 only 20 (P2WPKH)
 *   or 32 (P2WSH); v1 with 32 bytes is P2TR (BIP 341).
 *
 * Decoding uses `bech32` and `bs58check` (bitcoinjs); this module adds the
 * address rules on top, in the order Bitcoin Core's `DecodeDestination`
 * (key_io.cpp) applies them, so that every vector of Core's key_io tests
 * decodes or fails the same way.
 *
 * Unknown witness versions: Core decodes them (`WitnessUnknown`) and its
 * vectors treat them as valid addresses, so `decodeAddress` accepts them.
 * As a payout target they are refused by default (`addressToScript`): until
 * a soft fork gives such a program spending rules, anyone can spend an
 * output paying to it, so a block reward sent there can be taken by the
 * first miner who notices. The same goes for v1 programs that are not 32
 * bytes (for example the 2-byte pay-to-anchor), which BIP 341 leaves
 * unencumbered. `allowUnknownWitness` lifts the refusal.
 *
 * Error messages never repeat the input: a pasted private key must not end
 * up in a log. The caller names the config key the address came from.
 */
import { bech32, bech32m, type Decoded } from 'bech32'
import bs58check from 'bs58check'
import type { Network } from '../config/schema.js'
import { OP_0, OP_1 } from './serialize.js'

/** An address that is malformed, or valid but not usable on this network. */
export class AddressError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AddressError'
  }
}

export type AddressType = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr' | 'witness-unknown'

/** What an address decodes to. */
export interface DecodedAddress {
  readonly type: AddressType
  /** The output script paying to it. */
  readonly script: Buffer
  /** The witness version for segwit addresses (0..16); undefined for base58 ones. */
  readonly witnessVersion?: number
}

export interface AddressOptions {
  /**
   * Accept witness programs without spending rules yet (v1 that is not 32
   * bytes, v2..v16) as payout targets. Off by default: see the module notes.
   */
  readonly allowUnknownWitness?: boolean
}

/** BIP 173: a segwit address has at most 90 characters (and no other address is longer). */
export const MAX_ADDRESS_LENGTH = 90

/** Bech32 prefix (human-readable part) per network. */
export const SEGWIT_HRP: Readonly<Record<Network, string>> = {
  mainnet: 'bc',
  testnet3: 'tb',
  testnet4: 'tb',
  signet: 'tb',
  regtest: 'bcrt',
}

/** Base58Check version bytes per network: mainnet, and the test networks' shared pair. */
const BASE58_VERSIONS = {
  main: { p2pkh: 0x00, p2sh: 0x05 },
  test: { p2pkh: 0x6f, p2sh: 0xc4 },
} as const
type Base58Family = keyof typeof BASE58_VERSIONS

const NETWORK_BASE58: Readonly<Record<Network, Base58Family>> = {
  mainnet: 'main',
  testnet3: 'test',
  testnet4: 'test',
  signet: 'test',
  regtest: 'test',
}

/** Where an address of each encoding family belongs, for "address is for X" messages. */
const BASE58_FAMILY_NAME: Readonly<Record<Base58Family, string>> = {
  main: 'mainnet',
  test: 'a test network (testnet3, testnet4, signet or regtest)',
}
const HRP_NAME: Readonly<Record<string, string>> = {
  bc: 'mainnet',
  tb: 'testnet3, testnet4 or signet',
  bcrt: 'regtest',
}

/** WIF private key version bytes (mainnet, test networks): refused with a warning. */
const WIF_VERSIONS = new Set([0x80, 0xef])

const BASE58_ALPHABET = /^[1-9A-HJ-NP-Za-km-z]+$/
const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'

/**
 * Decodes `address` for `network`. Accepts every address Bitcoin Core
 * accepts on that network, unknown witness versions included; throws
 * `AddressError` otherwise.
 */
export function decodeAddress(address: string, network: Network): DecodedAddress {
  if (address.length === 0) throw new AddressError('the address is empty')
  if (address.length > MAX_ADDRESS_LENGTH) {
    throw new AddressError(`the address is too long: ${address.length} characters, an address has at most ${MAX_ADDRESS_LENGTH} (BIP 173)`)
  }
  const lower = address.toLowerCase()
  const hrp = lower.slice(0, Math.max(0, lower.lastIndexOf('1')))
  if (Object.hasOwn(HRP_NAME, hrp)) return decodeSegwit(address, hrp, network)
  // An unknown prefix with a valid checksum is a segwit address of another chain.
  const other = bech32.decodeUnsafe(lower) ?? bech32m.decodeUnsafe(lower)
  if (other !== undefined) {
    checkCase(address)
    throw new AddressError(
      `unknown segwit address prefix "${other.prefix}": expected ${SEGWIT_HRP[network]} on ${network} (bc mainnet, tb testnet3/testnet4/signet, bcrt regtest)`,
    )
  }
  return decodeBase58(address, network)
}

/**
 * The output script paying to `address` on `network`, for use as a coinbase
 * payout. Like `decodeAddress`, but refuses witness programs that anyone
 * could spend today unless `options.allowUnknownWitness` is set.
 */
export function addressToScript(address: string, network: Network, options: AddressOptions = {}): Buffer {
  const decoded = decodeAddress(address, network)
  if (decoded.type === 'witness-unknown' && options.allowUnknownWitness !== true) {
    const program = decoded.script.length - 2
    throw new AddressError(
      `witness v${decoded.witnessVersion} program of ${program} bytes has no spending rules yet: anyone could spend a payout to it ` +
        '(a valid address under BIP 350, refused as a payout target unless allowUnknownWitness is set)',
    )
  }
  return decoded.script
}

function decodeBase58(address: string, network: Network): DecodedAddress {
  if (!BASE58_ALPHABET.test(address)) {
    const bad = [...address].find((c) => !BASE58_ALPHABET.test(c)) as string
    throw new AddressError(`not a valid address: character ${JSON.stringify(bad)} is neither base58 nor a known segwit form`)
  }
  const payload = bs58check.decodeUnsafe(address)
  if (payload === undefined) throw new AddressError('bad checksum (base58check): the address is mistyped or truncated')
  const version = payload[0]
  if (version !== undefined && WIF_VERSIONS.has(version) && (payload.length === 33 || payload.length === 34)) {
    throw new AddressError('this is a private key (WIF), not an address: keep it out of the config and treat it as exposed')
  }
  if (payload.length !== 21) throw new AddressError(`base58check payload is ${payload.length} bytes, a P2PKH or P2SH address has 21`)
  const hash = Buffer.from(payload.subarray(1))
  const family = (Object.keys(BASE58_VERSIONS) as Base58Family[]).find(
    (f) => BASE58_VERSIONS[f].p2pkh === version || BASE58_VERSIONS[f].p2sh === version,
  )
  if (family === undefined) {
    throw new AddressError(`unknown base58 version byte 0x${(version as number).toString(16).padStart(2, '0')}: not a P2PKH or P2SH address of any Bitcoin network`)
  }
  const want = NETWORK_BASE58[network]
  if (family !== want) throw new AddressError(`address is for ${BASE58_FAMILY_NAME[family]}, the pool is on ${network}`)
  if (version === BASE58_VERSIONS[family].p2pkh) {
    // OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG
    return { type: 'p2pkh', script: Buffer.concat([Buffer.from([0x76, 0xa9, 0x14]), hash, Buffer.from([0x88, 0xac])]) }
  }
  // OP_HASH160 <20> OP_EQUAL
  return { type: 'p2sh', script: Buffer.concat([Buffer.from([0xa9, 0x14]), hash, Buffer.from([0x87])]) }
}

function decodeSegwit(address: string, hrp: string, network: Network): DecodedAddress {
  checkCase(address)
  const lower = address.toLowerCase()
  const data = lower.slice(hrp.length + 1)
  const badChar = [...data].find((c) => !BECH32_CHARSET.includes(c))
  if (badChar !== undefined) throw new AddressError(`character ${JSON.stringify(badChar)} is not in the bech32 alphabet (BIP 173)`)
  if (data.length < 7) throw new AddressError('the segwit address is too short: no room for a witness version and a checksum')

  // A string is valid under at most one of the two checksums (BIP 350).
  let decoded: Decoded | undefined = bech32.decodeUnsafe(lower)
  const encoding = decoded === undefined ? 'bech32m' : 'bech32'
  decoded ??= bech32m.decodeUnsafe(lower)
  if (decoded === undefined) throw new AddressError('bad checksum (bech32/bech32m): the address is mistyped or truncated')

  const [version, ...words] = decoded.words as [number, ...number[]]
  if (version > 16) throw new AddressError(`witness version ${version} does not exist (0..16, BIP 141)`)
  const program = bech32.fromWordsUnsafe(words)
  if (program === undefined) throw new AddressError('invalid padding in the witness program (BIP 173)')
  if (program.length < 2 || program.length > 40) {
    throw new AddressError(`witness program of ${program.length} bytes: it must be 2 to 40 bytes (BIP 141)`)
  }
  if (version === 0 && program.length !== 20 && program.length !== 32) {
    throw new AddressError(`witness v0 program of ${program.length} bytes: it must be 20 (P2WPKH) or 32 (P2WSH) bytes (BIP 141)`)
  }
  if (version === 0 && encoding !== 'bech32') {
    throw new AddressError('witness v0 address with a bech32m checksum: v0 addresses use bech32 (BIP 350)')
  }
  if (version !== 0 && encoding !== 'bech32m') {
    throw new AddressError(`witness v${version} address with a bech32 checksum: v1 and later use bech32m (BIP 350)`)
  }

  const want = SEGWIT_HRP[network]
  if (hrp !== want) {
    throw new AddressError(`address is for ${HRP_NAME[hrp]} (prefix ${hrp}), the pool is on ${network} (prefix ${want})`)
  }

  const script = Buffer.concat([Buffer.from([version === 0 ? OP_0 : OP_1 + version - 1, program.length]), Buffer.from(program)])
  const type: AddressType =
    version === 0 ? (program.length === 20 ? 'p2wpkh' : 'p2wsh') : version === 1 && program.length === 32 ? 'p2tr' : 'witness-unknown'
  return { type, script, witnessVersion: version }
}

/** BIP 173: all lower case or all upper case, never mixed. */
function checkCase(address: string): void {
  if (address !== address.toLowerCase() && address !== address.toUpperCase()) {
    throw new AddressError('the address mixes upper and lower case (BIP 173 forbids it)')
  }
}
