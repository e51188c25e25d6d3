/**
 * Blocks for the fake bitcoind's tests: rebuilding a block with an edited
 * coinbase or header (merkle root recomputed, nonce searched again), the
 * fixtures' mutations, and a block built from a template.
 *
 * big-template's `broken_blocks` keep only the mutation name, so the tests
 * rebuild each broken block from the accepted one the way the fixture
 * generator did — checked by reproducing the recorded broken blocks of the
 * small fixtures byte for byte. After a mutation the nonce is searched from
 * 0 for the first that meets the target (for `high-hash`, that misses it).
 */
import { selectHasher } from '../../src/shares/hasher.js'
import { parseBlock, serializeBlock, serializeTx, type TxInput, type TxOutput, type TxParts } from '../helpers/block.js'
import { heightPush, merkleRoot, targetOf, witnessCommitmentScript, type GbtTemplate } from '../helpers/fake-bitcoind.js'

const sha256d = selectHasher({}).sha256d

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
export function blockFromTemplate(gbt: GbtTemplate, options: { extra?: bigint; tag?: string; time?: number } = {}): string {
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
