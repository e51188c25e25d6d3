/**
 * The coinbase transaction, split around the extranonce space as Stratum V1
 * needs it: `coinb1 + extranonce1 + extranonce2 + coinb2` is the coinbase
 * without witness (what its txid and the merkle root hash).
 *
 * Layout (docs/coinbase.md), matched byte for byte against Bitcoin Core
 * v30 regtest blocks it accepted (test/fixtures/regtest):
 *
 *   version 2 | 1 input: null prevout (32 zero bytes, index 0xffffffff),
 *   scriptSig = BIP34 height push, tag push, extranonce space (raw bytes at
 *   the end, not a push), sequence 0xffffffff | outputs: payouts, then the
 *   witness commitment (value 0) | locktime 0
 *
 * (`timelockToHeight` switches to BIP 54's sequence 0xfffffffe and locktime
 * height - 1.)
 *
 * coinb1 ends just before the extranonce space, coinb2 starts with the
 * sequence. When the template has a witness commitment the block carries
 * the coinbase with its witness (BIP 141): one stack item, the 32-byte
 * witness reserved value, all zero (`coinbaseWithWitness`).
 *
 * Money is bigint satoshis throughout; the outputs must add up to the
 * template's `coinbasevalue` exactly (more is `bad-cb-amount`, less burns
 * fees).
 */
import { MAX_MONEY, OP_RETURN, pushData, pushInt, pushSize, uint32LE, uint64LE, varInt, withVarIntLength } from './serialize.js'

/** A problem with the coinbase's inputs: tag too long, amounts that do not add up, a bad commitment. */
export class CoinbaseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CoinbaseError'
  }
}

/** A transaction output: its script (scriptPubKey) and value in satoshis. */
export interface TxOutput {
  readonly script: Buffer
  readonly value: bigint
}

export interface CoinbaseParams {
  /** The height of the block being mined (the template's `height`). */
  readonly height: number
  /** The pool's tag, pushed after the height (a string is UTF-8). Empty: no push. */
  readonly tag: Uint8Array | string
  /** Bytes of extranonce space (extranonce1 + extranonce2) ending the scriptSig. */
  readonly extranonceSize: number
  /** The payout outputs in order (see `payoutOutputs`); at least one. */
  readonly outputs: readonly TxOutput[]
  /** The template's `coinbasevalue`: the outputs must add up to it exactly. */
  readonly coinbaseValue: bigint
  /** The template's `default_witness_commitment` script, when it has one. */
  readonly witnessCommitment?: Buffer | undefined
  /**
   * BIP 54 (Consensus Cleanup, proposed) forward compatibility: locktime
   * height - 1 and sequence 0xfffffffe instead of 0 and 0xffffffff. Valid
   * today (the locktime is already passed); off by default, matching the
   * regtest fixtures.
   */
  readonly timelockToHeight?: boolean
}

/** The coinbase without witness, split around the extranonce space. */
export interface CoinbaseParts {
  readonly coinb1: Buffer
  readonly coinb2: Buffer
}

/** The coinbase transaction's version, as Bitcoin Core's miner writes it (and its fixtures carry). */
export const COINBASE_VERSION = 2
/** Consensus bounds on a coinbase scriptSig (Core `CheckTransaction`: `bad-cb-length`). */
export const COINBASE_SCRIPT_SIG_MIN = 2
export const COINBASE_SCRIPT_SIG_MAX = 100
/** The witness reserved value (BIP 141): the coinbase's single witness item, 32 zero bytes. */
const WITNESS_RESERVED_VALUE = Buffer.alloc(32)
/** Start of a witness commitment script: OP_RETURN, push 36, 0xaa21a9ed (BIP 141). */
const WITNESS_COMMITMENT_HEADER = Buffer.from([OP_RETURN, 0x24, 0xaa, 0x21, 0xa9, 0xed])
/** Core's MINIMUM_WITNESS_COMMITMENT: header + 32-byte commitment. */
const WITNESS_COMMITMENT_MIN_SIZE = 38
/** The largest height `CScript() << nHeight` takes (Core's nHeight is a 32-bit int). */
const MAX_HEIGHT = 0x7fffffff

const NULL_PREVOUT = Buffer.concat([Buffer.alloc(32), Buffer.from([0xff, 0xff, 0xff, 0xff])])
const SEQUENCE_FINAL = 0xffffffff
/** The highest sequence that keeps nLockTime enforced (BIP 54 needs it non-final). */
const MAX_SEQUENCE_NONFINAL = 0xfffffffe

/**
 * The BIP34 height push, exactly as Bitcoin Core checks it: the scriptSig
 * must begin with `CScript() << nHeight` (validation.cpp,
 * `ContextualCheckBlock`, `bad-cb-height`). That is OP_0 for 0, OP_1..OP_16
 * for 1..16 (not a one-byte push), otherwise the minimal push of the
 * CScriptNum: `01 11` at 17, `02 8000` at 128, `03 40d10c` at 840000.
 */
export function heightPush(height: number): Buffer {
  if (!Number.isInteger(height) || height < 0 || height > MAX_HEIGHT) {
    throw new CoinbaseError(`block height ${height} is not an integer in 0..${MAX_HEIGHT}`)
  }
  return pushInt(height)
}

/**
 * The longest tag (bytes) that keeps the scriptSig within 100 bytes at
 * `height` with `extranonceSize` bytes of extranonce space; 0 when only an
 * empty tag fits. Tags over 75 bytes take a 2-byte OP_PUSHDATA1 prefix.
 */
export function maxTagLength(height: number, extranonceSize: number): number {
  const room = COINBASE_SCRIPT_SIG_MAX - heightPush(height).length - extranonceSize
  let length = room - 1
  while (length > 0 && pushSize(length) > room) length--
  return Math.max(0, length)
}

/** Builds the coinbase halves around the extranonce space (see the module notes). */
export function buildCoinbase(params: CoinbaseParams): CoinbaseParts {
  const { height, extranonceSize, outputs, coinbaseValue, witnessCommitment } = params
  const tag = typeof params.tag === 'string' ? Buffer.from(params.tag, 'utf8') : Buffer.from(params.tag)
  if (!Number.isInteger(extranonceSize) || extranonceSize < 0 || extranonceSize > COINBASE_SCRIPT_SIG_MAX) {
    throw new CoinbaseError(`extranonce size ${extranonceSize} is not an integer in 0..${COINBASE_SCRIPT_SIG_MAX}`)
  }
  const scriptSigHead = Buffer.concat([heightPush(height), tag.length === 0 ? Buffer.alloc(0) : pushData(tag)])
  checkScriptSigLength(scriptSigHead.length + extranonceSize, tag.length, height, extranonceSize)
  checkAmounts(outputs, coinbaseValue)

  const allOutputs = [...outputs]
  if (witnessCommitment !== undefined) {
    checkWitnessCommitment(witnessCommitment)
    allOutputs.push({ script: witnessCommitment, value: 0n })
  }

  const coinb1 = Buffer.concat([
    uint32LE(COINBASE_VERSION),
    varInt(1),
    NULL_PREVOUT,
    varInt(scriptSigHead.length + extranonceSize),
    scriptSigHead,
  ])
  const timelock = params.timelockToHeight === true
  const coinb2 = Buffer.concat([
    timelock ? uint32LE(MAX_SEQUENCE_NONFINAL) : uint32LE(SEQUENCE_FINAL),
    varInt(allOutputs.length),
    ...allOutputs.flatMap((o) => [uint64LE(o.value), withVarIntLength(o.script)]),
    uint32LE(timelock ? Math.max(0, height - 1) : 0),
  ])
  return { coinb1, coinb2 }
}

/**
 * The coinbase serialized with its witness (BIP 144): marker 0x00, flag
 * 0x01, then the inputs and outputs, then one witness stack of one item,
 * the 32-byte witness reserved value, then the locktime. `coinbase` is the
 * non-witness form (coinb1 + extranonces + coinb2). Its txid is unchanged;
 * this form goes in the block when the template has a witness commitment.
 */
export function coinbaseWithWitness(coinbase: Uint8Array): Buffer {
  const tx = Buffer.from(coinbase.buffer, coinbase.byteOffset, coinbase.byteLength)
  // version(4) + 1 input (1 + 36 + 1 + >=2 + 4) + outputs(>=1) + locktime(4)
  if (tx.length < 4 + 1 + 36 + 1 + COINBASE_SCRIPT_SIG_MIN + 4 + 1 + 4 || tx[4] !== 0x01) {
    throw new CoinbaseError('coinbaseWithWitness: expected a non-witness coinbase with exactly one input')
  }
  return Buffer.concat([
    tx.subarray(0, 4),
    Buffer.from([0x00, 0x01]),
    tx.subarray(4, tx.length - 4),
    varInt(1),
    withVarIntLength(WITNESS_RESERVED_VALUE),
    tx.subarray(tx.length - 4),
  ])
}

/**
 * Splits `coinbaseValue` between the pool and an optional treasury, in
 * integer satoshis: the treasury gets floor(value * basisPoints / 10000),
 * the pool the rest, so the outputs add up to `coinbaseValue` exactly. A
 * zero-value output is left out (the pool's is kept if it would be the only
 * one). Pool first, then treasury.
 */
export function payoutOutputs(coinbaseValue: bigint, pool: Buffer, treasury?: { script: Buffer; basisPoints: number }): TxOutput[] {
  if (coinbaseValue < 0n || coinbaseValue > MAX_MONEY) throw new CoinbaseError(`coinbase value ${coinbaseValue} is outside 0..${MAX_MONEY} satoshis`)
  const bp = treasury?.basisPoints ?? 0
  if (!Number.isInteger(bp) || bp < 0 || bp > 10_000) throw new CoinbaseError(`treasury share ${bp} is not a whole number of basis points in 0..10000`)
  const treasuryValue = (coinbaseValue * BigInt(bp)) / 10_000n
  const poolValue = coinbaseValue - treasuryValue
  const out: TxOutput[] = []
  if (poolValue > 0n || treasuryValue === 0n) out.push({ script: pool, value: poolValue })
  if (treasury !== undefined && treasuryValue > 0n) out.push({ script: treasury.script, value: treasuryValue })
  return out
}

function checkScriptSigLength(length: number, tagLength: number, height: number, extranonceSize: number): void {
  if (length > COINBASE_SCRIPT_SIG_MAX) {
    const max = maxTagLength(height, extranonceSize)
    throw new CoinbaseError(
      `coinbase scriptSig would be ${length} bytes, consensus allows ${COINBASE_SCRIPT_SIG_MAX}: the tag is ${tagLength} bytes, ` +
        `at most ${max} fit with ${extranonceSize} bytes of extranonce space at height ${height}`,
    )
  }
  if (length < COINBASE_SCRIPT_SIG_MIN) {
    throw new CoinbaseError(
      `coinbase scriptSig would be ${length} byte, consensus needs at least ${COINBASE_SCRIPT_SIG_MIN}: add a tag or extranonce space`,
    )
  }
}

function checkAmounts(outputs: readonly TxOutput[], coinbaseValue: bigint): void {
  if (outputs.length === 0) throw new CoinbaseError('the coinbase needs at least one payout output')
  let sum = 0n
  for (const [i, o] of outputs.entries()) {
    if (o.value < 0n || o.value > MAX_MONEY) throw new CoinbaseError(`output ${i} value ${o.value} is outside 0..${MAX_MONEY} satoshis`)
    sum += o.value
  }
  if (sum !== coinbaseValue) {
    throw new CoinbaseError(`coinbase outputs add up to ${sum} satoshis, the template's coinbasevalue is ${coinbaseValue}: they must be equal`)
  }
}

function checkWitnessCommitment(script: Buffer): void {
  if (script.length < WITNESS_COMMITMENT_MIN_SIZE || !script.subarray(0, WITNESS_COMMITMENT_HEADER.length).equals(WITNESS_COMMITMENT_HEADER)) {
    throw new CoinbaseError('the witness commitment is not a BIP 141 commitment script (6a24aa21a9ed + 32 bytes)')
  }
}
