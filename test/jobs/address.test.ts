import t from 'tap'
import { bech32, bech32m } from 'bech32'
import bs58check from 'bs58check'
import { NETWORKS, type Network } from '../../src/config/schema.js'
import { AddressError, addressToScript, decodeAddress, MAX_ADDRESS_LENGTH, SEGWIT_HRP } from '../../src/jobs/address.js'
import { fixture } from '../helpers/fixtures.js'

// Bitcoin Core v30 src/test/data/key_io_{valid,invalid}.json (MIT), copied from ../shared.
type ValidRow = [string, string, { chain: string; isPrivkey: boolean; tryCaseFlip?: boolean }]
const VALID = JSON.parse(fixture('bitcoin-core/key_io_valid.json').toString('utf8')) as ValidRow[]
const INVALID = JSON.parse(fixture('bitcoin-core/key_io_invalid.json').toString('utf8')) as [string][]

/** Core's chain names to ours (`test` is testnet3). */
const CHAIN: Record<string, Network> = { main: 'mainnet', test: 'testnet3', testnet4: 'testnet4', signet: 'signet', regtest: 'regtest' }
const TEST_NETS: readonly Network[] = ['testnet3', 'testnet4', 'signet', 'regtest']

/** Networks where `address` (valid on `home`) is encoded the same way, so it must decode there too. */
function sameEncoding(address: string, home: Network): Network[] {
  const segwit = NETWORKS.some((n) => address.toLowerCase().startsWith(`${SEGWIT_HRP[n]}1`))
  if (segwit) return NETWORKS.filter((n) => SEGWIT_HRP[n] === SEGWIT_HRP[home])
  return home === 'mainnet' ? ['mainnet'] : [...TEST_NETS]
}

function flipCase(s: string): string {
  return [...s].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('')
}

t.test('the fixtures are all there', async (t) => {
  t.equal(VALID.filter((r) => !r[2].isPrivkey).length, 54, 'address rows')
  t.equal(INVALID.length, 70)
  for (const r of VALID) t.ok(CHAIN[r[2].chain], `chain ${r[2].chain} is mapped`)
})

t.test('key_io_valid: each address gives its scriptPubKey on its chain and on chains sharing its encoding', async (t) => {
  for (const [address, script, meta] of VALID) {
    if (meta.isPrivkey) continue
    t.test(`${meta.chain} ${address}`, async (t) => {
      const home = CHAIN[meta.chain] as Network
      const accepted = sameEncoding(address, home)
      t.ok(accepted.includes(home))
      for (const network of NETWORKS) {
        if (accepted.includes(network)) {
          const decoded = decodeAddress(address, network)
          t.equal(decoded.script.toString('hex'), script, `decodes on ${network}`)
          if (decoded.type === 'witness-unknown') {
            t.throws(() => addressToScript(address, network), { name: 'AddressError', message: /no spending rules yet/ }, `refused as a payout on ${network}`)
            t.equal(addressToScript(address, network, { allowUnknownWitness: true }).toString('hex'), script, `allowed on ${network} when asked`)
          } else {
            t.equal(addressToScript(address, network).toString('hex'), script, `payout script on ${network}`)
          }
        } else {
          t.throws(() => decodeAddress(address, network), { name: 'AddressError', message: new RegExp(`^address is for .*, the pool is on ${network}`) }, `wrong network: ${network}`)
        }
      }
      if (meta.tryCaseFlip === true) {
        t.equal(decodeAddress(flipCase(address), home).script.toString('hex'), script, 'all upper case is the same address (BIP 173)')
        const at = address.search(/[a-z][^a-z]*$/) // the last letter (digits have no case)
        const mixed = address.slice(0, at) + flipCase(address.slice(at, at + 1)) + address.slice(at + 1)
        t.throws(() => decodeAddress(mixed, home), { name: 'AddressError', message: /mixes upper and lower case/ })
      }
    })
  }
})

t.test('key_io_valid private keys (WIF) are refused on every network, without echoing the key', async (t) => {
  for (const [key, , meta] of VALID) {
    if (!meta.isPrivkey) continue
    for (const network of NETWORKS) {
      try {
        decodeAddress(key, network)
        t.fail(`${meta.chain} key decoded on ${network}`)
      } catch (err) {
        t.ok(err instanceof AddressError)
        t.match((err as Error).message, /private key \(WIF\)/)
        t.notOk((err as Error).message.includes(key), 'the key is not in the message')
      }
    }
  }
})

t.test('key_io_invalid: every string throws on every network', async (t) => {
  for (const [i, [s]] of INVALID.entries()) {
    t.test(`#${i} ${JSON.stringify(s)}`, async (t) => {
      for (const network of NETWORKS) {
        t.throws(() => decodeAddress(s, network), AddressError, network)
        t.throws(() => addressToScript(s, network, { allowUnknownWitness: true }), AddressError, network)
      }
    })
  }
})

t.test('the regtest fixtures pay the address they name', async (t) => {
  for (const name of ['empty-mempool', 'segwit-txs', 'many-txs', 'big-template']) {
    const c = JSON.parse(fixture(`regtest/${name}.json`).toString('utf8')) as { payout_address: string; payout_script: string }
    t.equal(addressToScript(c.payout_address, 'regtest').toString('hex'), c.payout_script, name)
  }
})

t.test('types', async (t) => {
  t.equal(decodeAddress('1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo', 'mainnet').type, 'p2pkh')
  t.equal(decodeAddress('36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm', 'mainnet').type, 'p2sh')
  t.equal(decodeAddress('bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv', 'mainnet').type, 'p2wpkh')
  t.equal(decodeAddress('bc1qyucykdlhp62tezs0hagqury402qwhk589q80tqs5myh3rxq34nwqhkdhv7', 'mainnet').type, 'p2wsh')
  const tr = decodeAddress('bc1p83n3au0rjylefxq2nc2xh2y4jzz4pm6zxj4mw5pagdjjr2a9f36s6jjnnu', 'mainnet')
  t.same([tr.type, tr.witnessVersion], ['p2tr', 1])
  const v2 = decodeAddress('bc1z2rksukkjr8', 'mainnet')
  t.same([v2.type, v2.witnessVersion], ['witness-unknown', 2])
  t.equal(decodeAddress('1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo', 'mainnet').witnessVersion, undefined)
})

t.test('error messages say what is wrong', async (t) => {
  const program20 = Buffer.alloc(20, 0x11)
  const program32 = Buffer.alloc(32, 0x22)
  const seg = (hrp: string, version: number, program: Uint8Array, lib = version === 0 ? bech32 : bech32m, limit?: number): string =>
    lib.encode(hrp, [version, ...lib.toWords(program)], limit)
  const cases: [string, string, Network, RegExp][] = [
    ['empty', '', 'mainnet', /empty/],
    ['too long', 'bc1' + 'q'.repeat(MAX_ADDRESS_LENGTH), 'mainnet', /too long: 93 characters.*90/],
    ['base58 test on mainnet', 'mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ', 'mainnet', /^address is for a test network \(testnet3, testnet4, signet or regtest\), the pool is on mainnet$/],
    ['base58 main on signet', '1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo', 'signet', /^address is for mainnet, the pool is on signet$/],
    ['tb on mainnet', 'tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54', 'mainnet', /^address is for testnet3, testnet4 or signet \(prefix tb\), the pool is on mainnet \(prefix bc\)$/],
    ['bcrt on testnet4', 'bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9', 'testnet4', /address is for regtest \(prefix bcrt\), the pool is on testnet4 \(prefix tb\)/],
    ['bc on regtest', 'bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv', 'regtest', /address is for mainnet \(prefix bc\), the pool is on regtest/],
    ['base58 bad checksum', '1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mn', 'mainnet', /bad checksum \(base58check\)/],
    ['bech32 bad checksum', 'bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhw', 'mainnet', /bad checksum \(bech32\/bech32m\)/],
    ['mixed case', 'bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lHv', 'mainnet', /mixes upper and lower case/],
    ['mixed case, unknown prefix', 'Tc1' + seg('tc', 0, program20).slice(3), 'mainnet', /mixes upper and lower case/],
    ['not bech32 alphabet', 'bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhb', 'mainnet', /character "b" is not in the bech32 alphabet/],
    ['too short', 'bc1qqqqqq', 'mainnet', /too short/],
    ['v0 with bech32m', seg('bc', 0, program20, bech32m), 'mainnet', /witness v0 address with a bech32m checksum: v0 addresses use bech32 \(BIP 350\)/],
    ['v1 with bech32', seg('bc', 1, program32, bech32), 'mainnet', /witness v1 address with a bech32 checksum: v1 and later use bech32m \(BIP 350\)/],
    ['v0 of 21 bytes', seg('bc', 0, Buffer.alloc(21)), 'mainnet', /witness v0 program of 21 bytes: it must be 20 \(P2WPKH\) or 32 \(P2WSH\)/],
    ['program of 1 byte', seg('bc', 1, Buffer.alloc(1)), 'mainnet', /witness program of 1 bytes: it must be 2 to 40/],
    ['program of 41 bytes', seg('bc', 1, Buffer.alloc(41)), 'mainnet', /witness program of 41 bytes: it must be 2 to 40/],
    ['version 17', bech32m.encode('bc', [17, ...bech32m.toWords(program32)]), 'mainnet', /witness version 17 does not exist/],
    ['bad padding', bech32.encode('bc', [0, ...bech32.toWords(program20), 0]), 'mainnet', /invalid padding/],
    ['unknown prefix', seg('tc', 0, program20), 'mainnet', /unknown segwit address prefix "tc": expected bc on mainnet/],
    ['unknown base58 version', bs58check.encode(Buffer.concat([Buffer.from([0x30]), program20])), 'mainnet', /unknown base58 version byte 0x30/],
    ['base58 payload of 22 bytes', bs58check.encode(Buffer.concat([Buffer.from([0x00]), program20, Buffer.from([1])])), 'mainnet', /payload is 22 bytes/],
    ['not base58', '0FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo', 'mainnet', /character "0" is neither base58 nor a known segwit form/],
    ['prototype key as prefix', 'constructor1qqqqqqqq', 'mainnet', /bad checksum \(base58check\)/],
    ['witness v16 payout', seg('bc', 16, Buffer.alloc(40)), 'mainnet', /witness v16 program of 40 bytes has no spending rules yet/],
    ['pay-to-anchor payout', seg('bc', 1, Buffer.from([0x4e, 0x73])), 'mainnet', /witness v1 program of 2 bytes has no spending rules yet/],
  ]
  for (const [what, address, network, message] of cases) {
    t.throws(() => addressToScript(address, network), { name: 'AddressError', message }, what)
  }
  t.ok(new AddressError('x') instanceof Error)
})

t.test('a valid bech32m v1 program that is not 32 bytes decodes as witness-unknown', async (t) => {
  const address = bech32m.encode('bcrt', [1, ...bech32m.toWords(Buffer.alloc(20, 7))])
  const d = decodeAddress(address, 'regtest')
  t.equal(d.type, 'witness-unknown')
  t.equal(d.script.toString('hex'), '5114' + '07'.repeat(20))
})
