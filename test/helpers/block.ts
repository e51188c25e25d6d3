/**
 * A minimal parser (and serializer) of blocks and transactions, tests only:
 * enough to split a block into its header and transactions, with or without
 * witness data (BIP 144), to compute txids and wtxids, and to read what the
 * fake bitcoind checks (coinbase scriptSig and witness, outputs).
 *
 * It follows Bitcoin Core's `UnserializeTransaction`: an input count of 0
 * announces the extended format (a flags byte, then inputs and outputs);
 * flag 1 means witness data, which must not be all empty ("Superfluous
 * witness record"); any other flag is an error. Every read is bounds-checked:
 * bad bytes throw, they never crash or read past the end.
 */

export interface TxInput {
  /** The spent txid, internal byte order (all zero for a coinbase). */
  readonly prevTxid: Buffer
  readonly prevIndex: number
  readonly scriptSig: Buffer
  readonly sequence: number
  /** Witness stack items (empty when the input has none). */
  readonly witness: readonly Buffer[]
}

export interface TxOutput {
  /** Satoshis. */
  readonly value: bigint
  readonly script: Buffer
}

export interface ParsedTx {
  /** The transaction bytes without witness data (what the txid hashes). */
  readonly stripped: Buffer
  /** The bytes as serialized in the block (with witness data if any; what the wtxid hashes). */
  readonly raw: Buffer
  readonly version: number
  readonly inputs: readonly TxInput[]
  readonly outputs: readonly TxOutput[]
  readonly locktime: number
  /** True when some input carries witness data. */
  readonly hasWitness: boolean
}

export interface ParsedBlock {
  readonly header: Buffer
  readonly txs: readonly ParsedTx[]
}

/** A transaction to serialize (a `ParsedTx` is one). */
export interface TxParts {
  readonly version: number
  readonly inputs: readonly TxInput[]
  readonly outputs: readonly TxOutput[]
  readonly locktime: number
}

/** Bounds-checked reading from a buffer. */
class Reader {
  at: number

  constructor(
    readonly raw: Buffer,
    start = 0,
  ) {
    this.at = start
  }

  need(n: number): void {
    if (n < 0 || this.at + n > this.raw.length) throw new RangeError(`read of ${n} bytes at ${this.at} past the end (${this.raw.length})`)
  }

  bytes(n: number): Buffer {
    this.need(n)
    const out = this.raw.subarray(this.at, this.at + n)
    this.at += n
    return out
  }

  u8(): number {
    this.need(1)
    return this.raw[this.at++] as number
  }

  u32(): number {
    this.need(4)
    const v = this.raw.readUInt32LE(this.at)
    this.at += 4
    return v
  }

  u64(): bigint {
    this.need(8)
    const v = this.raw.readBigUInt64LE(this.at)
    this.at += 8
    return v
  }

  /** CompactSize, refusing counts larger than what is left (as Core's MAX_SIZE guard would). */
  varInt(): number {
    const first = this.u8()
    let v: number
    if (first < 0xfd) v = first
    else if (first === 0xfd) {
      this.need(2)
      v = this.raw.readUInt16LE(this.at)
      this.at += 2
    } else if (first === 0xfe) {
      v = this.u32()
    } else {
      const big = this.u64()
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('CompactSize too large')
      v = Number(big)
    }
    if (v > this.raw.length - this.at) throw new RangeError(`count ${v} at ${this.at} exceeds the bytes left`)
    return v
  }

  varBytes(): Buffer {
    return this.bytes(this.varInt())
  }
}

function readInputs(r: Reader): { prevTxid: Buffer; prevIndex: number; scriptSig: Buffer; sequence: number }[] {
  const n = r.varInt()
  const inputs = []
  for (let i = 0; i < n; i++) inputs.push({ prevTxid: r.bytes(32), prevIndex: r.u32(), scriptSig: r.varBytes(), sequence: r.u32() })
  return inputs
}

function readOutputs(r: Reader): TxOutput[] {
  const n = r.varInt()
  const outputs: TxOutput[] = []
  for (let i = 0; i < n; i++) outputs.push({ value: r.u64(), script: r.varBytes() })
  return outputs
}

function parseTxAt(r: Reader): ParsedTx {
  const start = r.at
  const version = r.u32()
  let ioStart = r.at
  let inputs = readInputs(r)
  let outputs: TxOutput[] = []
  let flags = 0
  if (inputs.length === 0) {
    flags = r.u8()
    if (flags !== 0) {
      ioStart = r.at
      inputs = readInputs(r)
      outputs = readOutputs(r)
    }
  } else {
    outputs = readOutputs(r)
  }
  const ioEnd = r.at
  const witnesses: Buffer[][] = inputs.map(() => [])
  let hasWitness = false
  if ((flags & 1) !== 0) {
    flags ^= 1
    for (let i = 0; i < inputs.length; i++) {
      const items = r.varInt()
      const stack: Buffer[] = []
      for (let k = 0; k < items; k++) stack.push(r.varBytes())
      witnesses[i] = stack
      if (stack.length > 0) hasWitness = true
    }
    if (!hasWitness) throw new Error('Superfluous witness record')
  }
  if (flags !== 0) throw new Error('Unknown transaction optional data')
  const locktime = r.u32()
  const raw = r.raw.subarray(start, r.at)
  const segwit = ioStart !== start + 4
  const stripped = segwit ? Buffer.concat([r.raw.subarray(start, start + 4), r.raw.subarray(ioStart, ioEnd), r.raw.subarray(r.at - 4, r.at)]) : raw
  return {
    stripped,
    raw,
    version,
    inputs: inputs.map((input, i) => ({ ...input, witness: witnesses[i] ?? [] })),
    outputs,
    locktime,
    hasWitness,
  }
}

/** One transaction starting at `offset`; `end` is where it stops. */
export function parseTx(raw: Buffer, offset = 0): { tx: ParsedTx; end: number } {
  const r = new Reader(raw, offset)
  const tx = parseTxAt(r)
  return { tx, end: r.at }
}

/** A whole serialized block; throws on anything malformed or trailing. */
export function parseBlock(raw: Buffer): ParsedBlock {
  const r = new Reader(raw)
  const header = r.bytes(80)
  const count = r.varInt()
  const txs: ParsedTx[] = []
  for (let i = 0; i < count; i++) txs.push(parseTxAt(r))
  if (r.at !== raw.length) throw new Error(`block parse ended at ${r.at} of ${raw.length}`)
  return { header, txs }
}

/** CompactSize encoding. */
export function compactSize(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n])
  if (n <= 0xffff) {
    const b = Buffer.alloc(3)
    b[0] = 0xfd
    b.writeUInt16LE(n, 1)
    return b
  }
  if (n <= 0xffffffff) {
    const b = Buffer.alloc(5)
    b[0] = 0xfe
    b.writeUInt32LE(n, 1)
    return b
  }
  const b = Buffer.alloc(9)
  b[0] = 0xff
  b.writeBigUInt64LE(BigInt(n), 1)
  return b
}

/** A transaction's bytes; with `withWitness` (default) in BIP 144 form when some input has witness data. */
export function serializeTx(tx: TxParts, withWitness = true): Buffer {
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(n >>> 0)
    return b
  }
  const witness = withWitness && tx.inputs.some((input) => input.witness.length > 0)
  const parts: Buffer[] = [u32(tx.version)]
  if (witness) parts.push(Buffer.from([0x00, 0x01]))
  parts.push(compactSize(tx.inputs.length))
  for (const input of tx.inputs) parts.push(input.prevTxid, u32(input.prevIndex), compactSize(input.scriptSig.length), input.scriptSig, u32(input.sequence))
  parts.push(compactSize(tx.outputs.length))
  for (const output of tx.outputs) {
    const value = Buffer.alloc(8)
    value.writeBigUInt64LE(output.value)
    parts.push(value, compactSize(output.script.length), output.script)
  }
  if (witness) {
    for (const input of tx.inputs) {
      parts.push(compactSize(input.witness.length))
      for (const item of input.witness) parts.push(compactSize(item.length), item)
    }
  }
  parts.push(u32(tx.locktime))
  return Buffer.concat(parts)
}

/** Header + transaction count + transactions (each already serialized). */
export function serializeBlock(header: Buffer, txs: readonly Buffer[]): Buffer {
  return Buffer.concat([header, compactSize(txs.length), ...txs])
}
