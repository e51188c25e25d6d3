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
 * bad bytes throw, they never crash or read past the end. Below the parser,
 * a few consensus helpers (merkle root with Core's mutation flag, witness
 * commitment, BIP34 height push, compact targets) shared by the fake
 * bitcoind and the tests.
 */
import { selectHasher, type Hasher } from '../../src/shares/hasher.js'

let hasher: Hasher | undefined
/** sha256d, the hasher chosen on first use (parsing alone never loads it). */
const sha256d = (data: Uint8Array): Buffer => (hasher ??= selectHasher({})).sha256d(data)

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

// ---- consensus helpers (Bitcoin Core's rules, written from its source) ------

/** The start of a BIP 141 witness commitment output: OP_RETURN, push 36, 0xaa21a9ed. */
export const WITNESS_COMMITMENT_HEADER = Buffer.from('6a24aa21a9ed', 'hex')

/** Display-order hex of internal-order bytes. */
export function display(bytes: Uint8Array): string {
  return Buffer.from(bytes).reverse().toString('hex')
}


/** One input spending the null outpoint (txid 0, index 0xffffffff). */
export function isCoinbase(tx: ParsedTx): boolean {
  const input = tx.inputs[0]
  return tx.inputs.length === 1 && input !== undefined && input.prevIndex === 0xffffffff && input.prevTxid.every((b) => b === 0)
}


/** The commitment output script of a template: 6a24aa21a9ed + sha256d(witness root || 32 zero bytes). */
export function witnessCommitmentScript(wtxidsDisplay: readonly string[]): Buffer {
  const leaves = [Buffer.alloc(32), ...wtxidsDisplay.map((h) => Buffer.from(h, 'hex').reverse())]
  const commitment = sha256d(Buffer.concat([merkleRoot(leaves).root, Buffer.alloc(32)]))
  return Buffer.concat([WITNESS_COMMITMENT_HEADER, commitment])
}

/** Core's ComputeMerkleRoot, with its CVE-2012-2459 mutation flag. */
export function merkleRoot(leaves: readonly Buffer[]): { root: Buffer; mutated: boolean } {
  let level = [...leaves]
  let mutated = false
  if (level.length === 0) return { root: Buffer.alloc(32), mutated }
  while (level.length > 1) {
    for (let i = 0; i + 1 < level.length; i += 2) if ((level[i] as Buffer).equals(level[i + 1] as Buffer)) mutated = true
    if (level.length % 2 === 1) level.push(level[level.length - 1] as Buffer)
    const next: Buffer[] = []
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(Buffer.concat([level[i] as Buffer, level[i + 1] as Buffer])))
    level = next
  }
  return { root: level[0] as Buffer, mutated }
}

/** `CScript() << height` (script.h push_int64): OP_1..OP_16 for 1-16, else a minimal CScriptNum push. */
export function heightPush(height: number): Buffer {
  if (height === 0) return Buffer.from([0x00])
  if (height >= 1 && height <= 16) return Buffer.from([0x50 + height])
  const bytes: number[] = []
  for (let v = height; v > 0; v = Math.floor(v / 256)) bytes.push(v & 0xff)
  if (((bytes[bytes.length - 1] as number) & 0x80) !== 0) bytes.push(0)
  return Buffer.from([bytes.length, ...bytes])
}


/** arith_uint256::SetCompact. */
export function targetOf(bits: number): { value: bigint; negative: boolean; overflow: boolean } {
  const size = bits >>> 24
  const word = bits & 0x007fffff
  const value = size <= 3 ? BigInt(word >>> (8 * (3 - size))) : BigInt(word) << BigInt(8 * (size - 3))
  const negative = word !== 0 && (bits & 0x00800000) !== 0
  const overflow = word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32))
  return { value, negative, overflow }
}


/** Bytes of the CompactSize encoding of `n`. */
export function compactSizeLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9
}

// ---- building blocks for tests ------------------------------------------------
//
// Rebuilding a block with an edited coinbase or header (merkle root
// recomputed, nonce searched again), the fixtures' mutations, and a valid
// block from a getblocktemplate answer.
//
// big-template's `broken_blocks` keep only the mutation name, so the tests
// rebuild each broken block from the accepted one the way the fixture
// generator did — checked by reproducing the recorded broken blocks of the
// small fixtures byte for byte. After a mutation the nonce is searched from
// 0 for the first that meets the target (for `high-hash`, that misses it).

/** The getblocktemplate fields `blockFromTemplate` reads (JSON as Core sends it). */
export interface TemplateLike {
  readonly version: number
  readonly previousblockhash: string
  readonly transactions: readonly { readonly data: string; readonly txid: string; readonly hash: string }[]
  readonly coinbasevalue: number
  readonly curtime: number
  readonly bits: string
  readonly height: number
  readonly default_witness_commitment?: string | undefined
}

export const MUTATIONS = [
  'bad-txnmrklroot',
  'high-hash',
  'bad-cb-height',
  'bad-cb-amount',
  'bad-witness-merkle-match',
  'bad-witness-nonce-size',
] as const
export type Mutation = (typeof MUTATIONS)[number]

export interface BlockEdit {
  /** Returns the new coinbase; the merkle root is recomputed when given. */
  coinbase?: (coinbase: TxParts) => TxParts
  /** Edits the 80-byte header in place (after the merkle root is set). */
  header?: (header: Buffer) => void
  /** Nonce search from 0: first that meets the target, first that misses it, or keep the nonce. */
  grind?: 'meet' | 'miss' | 'keep'
}

/** The block `hex` rebuilt with `edit`. */
export function rebuildBlock(hex: string, edit: BlockEdit): string {
  const block = parseBlock(Buffer.from(hex, 'hex'))
  const header = Buffer.from(block.header)
  const first = block.txs[0]
  if (first === undefined) throw new Error('no coinbase')
  const rest = block.txs.slice(1)
  let coinbase: TxParts = first
  if (edit.coinbase !== undefined) {
    coinbase = edit.coinbase(first)
    const txids = [sha256d(serializeTx(coinbase, false)), ...rest.map((tx) => sha256d(tx.stripped))]
    merkleRoot(txids).root.copy(header, 36)
  }
  edit.header?.(header)
  const want = edit.grind ?? 'meet'
  if (want !== 'keep') grind(header, want)
  return serializeBlock(header, [serializeTx(coinbase), ...rest.map((tx) => tx.raw)]).toString('hex')
}

/** The block `hex` broken as the fixtures' `mutation`. */
export function mutateBlock(hex: string, mutation: Mutation): string {
  const editInput = (cb: TxParts, f: (input: TxInput) => TxInput): TxParts => ({ ...cb, inputs: [f(cb.inputs[0] as TxInput)] })
  switch (mutation) {
    case 'bad-txnmrklroot':
      return rebuildBlock(hex, { header: (h) => void (h[36] = (h[36] as number) ^ 1) })
    case 'high-hash':
      return rebuildBlock(hex, { grind: 'miss' })
    case 'bad-cb-height':
      return rebuildBlock(hex, {
        coinbase: (cb) =>
          editInput(cb, (input) => {
            // The height push is [length, little-endian bytes]: add one to the number.
            const len = input.scriptSig[0] as number
            const scriptSig = Buffer.from(input.scriptSig)
            scriptSig.writeUIntLE(input.scriptSig.readUIntLE(1, len) + 1, 1, len)
            return { ...input, scriptSig }
          }),
      })
    case 'bad-cb-amount':
      return rebuildBlock(hex, { coinbase: (cb) => ({ ...cb, outputs: cb.outputs.map((o, i) => (i === 0 ? { ...o, value: o.value + 1n } : o)) }) })
    case 'bad-witness-merkle-match':
      return rebuildBlock(hex, {
        coinbase: (cb) => ({
          ...cb,
          outputs: cb.outputs.map((o) => {
            if (!o.script.subarray(0, 6).equals(Buffer.from('6a24aa21a9ed', 'hex'))) return o
            const script = Buffer.from(o.script)
            script[script.length - 1] = (script[script.length - 1] as number) ^ 1
            return { ...o, script }
          }),
        }),
      })
    case 'bad-witness-nonce-size':
      return rebuildBlock(hex, { coinbase: (cb) => editInput(cb, (input) => ({ ...input, witness: [Buffer.alloc(31)] })), grind: 'keep' })
  }
}

/**
 * A valid block from a getblocktemplate answer: coinbase with the BIP34
 * height, paying `coinbasevalue` (+ `extra`) to OP_TRUE, the witness
 * commitment of its transactions and a 32-byte zero reserved value, every template transaction.
 */
export function blockFromTemplate(gbt: TemplateLike, options: { extra?: bigint; tag?: string; time?: number } = {}): string {
  const outputs: TxOutput[] = [{ value: BigInt(gbt.coinbasevalue) + (options.extra ?? 0n), script: Buffer.from([0x51]) }]
  // Recomputed from the transactions (a test may edit the list), not copied.
  if (gbt.default_witness_commitment !== undefined) outputs.push({ value: 0n, script: witnessCommitmentScript(gbt.transactions.map((tx) => tx.hash)) })
  const tag = Buffer.from(options.tag ?? '/test/')
  const coinbase: TxParts = {
    version: 2,
    inputs: [
      {
        prevTxid: Buffer.alloc(32),
        prevIndex: 0xffffffff,
        scriptSig: Buffer.concat([heightPush(gbt.height), Buffer.from([tag.length]), tag]),
        sequence: 0xffffffff,
        witness: gbt.default_witness_commitment === undefined ? [] : [Buffer.alloc(32)],
      },
    ],
    outputs,
    locktime: 0,
  }
  const txs = gbt.transactions.map((tx) => Buffer.from(tx.data, 'hex'))
  const txids = [sha256d(serializeTx(coinbase, false)), ...gbt.transactions.map((tx) => Buffer.from(tx.txid, 'hex').reverse())]
  const header = Buffer.alloc(80)
  header.writeInt32LE(gbt.version, 0)
  Buffer.from(gbt.previousblockhash, 'hex').reverse().copy(header, 4)
  merkleRoot(txids).root.copy(header, 36)
  header.writeUInt32LE(options.time ?? gbt.curtime, 68)
  header.writeUInt32LE(Number.parseInt(gbt.bits, 16), 72)
  grind(header, 'meet')
  return serializeBlock(header, [serializeTx(coinbase), ...txs]).toString('hex')
}

/** The block hash (display order) of a block's hex. */
export function blockHash(hex: string): string {
  return Buffer.from(sha256d(Buffer.from(hex.slice(0, 160), 'hex'))).reverse().toString('hex')
}

function grind(header: Buffer, want: 'meet' | 'miss'): void {
  const target = targetOf(header.readUInt32LE(72)).value
  for (let nonce = 0; ; nonce++) {
    header.writeUInt32LE(nonce, 76)
    const meets = BigInt(`0x${Buffer.from(sha256d(header)).reverse().toString('hex')}`) <= target
    if (meets === (want === 'meet')) return
  }
}
