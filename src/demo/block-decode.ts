/**
 * Decoding a serialized block the way Bitcoin Core's `submitblock` reads it
 * (BIP 144 witness serialization included), for the demo's simulated chain.
 *
 * Production code builds blocks (src/jobs) but never had to read one back;
 * the simulated chain must, to check what the pool submits as strictly as
 * bitcoind would. Every length is bounds-checked: a malformed block is a
 * `BlockDecodeError`, never an out-of-range read.
 */
import type { Sha256d } from '../jobs/merkle.js'

/** A transaction input. */
export interface DecodedInput {
  /** Internal byte order. */
  readonly prevTxid: Buffer
  readonly prevIndex: number
  readonly scriptSig: Buffer
  readonly sequence: number
  readonly witness: readonly Buffer[]
}

/** A transaction output. */
export interface DecodedOutput {
  readonly value: bigint
  readonly script: Buffer
}

/** A transaction with both of its serializations. */
export interface DecodedTx {
  readonly version: number
  readonly inputs: readonly DecodedInput[]
  readonly outputs: readonly DecodedOutput[]
  readonly locktime: number
  readonly hasWitness: boolean
  /** As it appeared in the block (with witness when it has one): hashed for the wtxid. */
  readonly raw: Buffer
  /** Without witness: hashed for the txid. */
  readonly stripped: Buffer
}

export interface DecodedBlock {
  readonly header: Buffer
  readonly txs: readonly DecodedTx[]
}

/** The bytes do not decode as a block (Core: "Block decode failed"). */
export class BlockDecodeError extends Error {}

/** A cursor over bytes that throws `BlockDecodeError` on any read past the end. */
class Reader {
  offset = 0
  constructor(readonly bytes: Buffer) {}

  take(n: number): Buffer {
    if (n < 0 || this.offset + n > this.bytes.length) throw new BlockDecodeError(`read of ${n} bytes past the end at offset ${this.offset}`)
    const out = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return out
  }

  u8(): number {
    return this.take(1)[0] as number
  }

  u32(): number {
    return this.take(4).readUInt32LE(0)
  }

  i32(): number {
    return this.take(4).readInt32LE(0)
  }

  u64(): bigint {
    return this.take(8).readBigUInt64LE(0)
  }

  /** CompactSize; non-canonical encodings are rejected as Core does (ReadCompactSize). */
  varInt(): number {
    const first = this.u8()
    if (first < 0xfd) return first
    if (first === 0xfd) return this.canonical(this.take(2).readUInt16LE(0), 0xfd)
    if (first === 0xfe) return this.canonical(this.u32(), 0x10000)
    const big = this.u64()
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new BlockDecodeError('size too large')
    return this.canonical(Number(big), 0x100000000)
  }

  bytesWithLength(): Buffer {
    return this.take(this.varInt())
  }

  get done(): boolean {
    return this.offset === this.bytes.length
  }

  private canonical(value: number, min: number): number {
    if (value < min) throw new BlockDecodeError('non-canonical ReadCompactSize()')
    return value
  }
}

/** Decodes a whole block; trailing bytes are an error (Core's submitblock decodes the whole hex). */
export function decodeBlock(bytes: Buffer): DecodedBlock {
  const reader = new Reader(bytes)
  const header = Buffer.from(reader.take(80))
  const count = reader.varInt()
  // Each transaction is at least 10 bytes: a bogus count fails here, not after a huge allocation.
  if (count * 10 > bytes.length) throw new BlockDecodeError(`${count} transactions cannot fit in ${bytes.length} bytes`)
  const txs: DecodedTx[] = []
  for (let i = 0; i < count; i++) txs.push(readTx(reader))
  if (!reader.done) throw new BlockDecodeError(`${bytes.length - reader.offset} bytes after the last transaction`)
  return { header, txs }
}

function readTx(reader: Reader): DecodedTx {
  const start = reader.offset
  const version = reader.i32()
  let inputCount = reader.varInt()
  let hasWitness = false
  if (inputCount === 0) {
    // BIP 144: marker 0x00 then flag; flag must be 1 (Core: "Unknown transaction optional data").
    const flag = reader.u8()
    if (flag !== 1) throw new BlockDecodeError('unknown transaction optional data')
    hasWitness = true
    inputCount = reader.varInt()
  }
  const bodyStart = reader.offset
  const inputs: { prevTxid: Buffer; prevIndex: number; scriptSig: Buffer; sequence: number; witness: Buffer[] }[] = []
  for (let i = 0; i < inputCount; i++) {
    inputs.push({ prevTxid: Buffer.from(reader.take(32)), prevIndex: reader.u32(), scriptSig: Buffer.from(reader.bytesWithLength()), sequence: reader.u32(), witness: [] })
  }
  const outputCount = reader.varInt()
  const outputs: DecodedOutput[] = []
  for (let i = 0; i < outputCount; i++) outputs.push({ value: reader.u64(), script: Buffer.from(reader.bytesWithLength()) })
  const bodyEnd = reader.offset
  if (hasWitness) {
    for (const input of inputs) {
      const items = reader.varInt()
      for (let j = 0; j < items; j++) input.witness.push(Buffer.from(reader.bytesWithLength()))
    }
    // Core: a witness flag with every witness empty is "Superfluous witness record".
    if (inputs.every((input) => input.witness.length === 0)) throw new BlockDecodeError('superfluous witness record')
  }
  const locktime = reader.u32()
  const raw = Buffer.from(reader.bytes.subarray(start, reader.offset))
  const stripped = Buffer.concat([raw.subarray(0, 4), reader.bytes.subarray(bodyStart - lengthOfVarInt(inputCount), bodyEnd), raw.subarray(raw.length - 4)])
  return { version, inputs, outputs, locktime, hasWitness, raw, stripped }
}

function lengthOfVarInt(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9
}

/** Whether `tx` is a coinbase: one input spending the null outpoint. */
export function isCoinbase(tx: DecodedTx): boolean {
  const input = tx.inputs[0]
  return tx.inputs.length === 1 && input !== undefined && input.prevIndex === 0xffffffff && input.prevTxid.every((b) => b === 0)
}

/**
 * Bitcoin's merkle root of `leaves` (internal order), and whether the tree
 * is "mutated" (CVE-2012-2459: two equal siblings, which lets a different
 * transaction list have the same root). Core's `ComputeMerkleRoot`.
 */
export function merkleRootMutated(leaves: readonly Buffer[], sha256d: Sha256d): { root: Buffer; mutated: boolean } {
  if (leaves.length === 0) return { root: Buffer.alloc(32), mutated: false }
  let level: Buffer[] = leaves.map((leaf) => Buffer.from(leaf))
  let mutated = false
  while (level.length > 1) {
    const next: Buffer[] = []
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Buffer
      const right = level[i + 1]
      if (right !== undefined && left.equals(right)) mutated = true
      next.push(sha256d(Buffer.concat([left, right ?? left])))
    }
    level = next
  }
  return { root: level[0] as Buffer, mutated }
}
