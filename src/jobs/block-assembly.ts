/**
 * A found block, serialized for `submitblock`: the 80-byte header, the
 * transaction count (CompactSize), the coinbase, then every template
 * transaction's `data` exactly as `getblocktemplate` gave it, in template
 * order (BIP 22; the data already carries each transaction's witness).
 *
 * The coinbase goes in with its witness (BIP 141: the 32-byte witness
 * reserved value) when the template has a witness commitment: without it
 * the block is `bad-witness-nonce-size`. Bitcoin Core's `submitblock`
 * quietly adds a missing one, but the same block arriving over P2P is
 * rejected, so Headframe never relies on that.
 *
 * Also here: the template's txids in internal byte order, the leaves the
 * coinbase merkle branch (merkle.ts) is built from.
 */
import { coinbaseWithWitness } from './coinbase.js'
import { coinbaseMerkleBranch, type Sha256d } from './merkle.js'
import { varInt } from './serialize.js'

/** The fields of a `getblocktemplate` transaction this module reads. */
export interface TemplateTransaction {
  /** The transaction serialized (with witness when it has one), hex. */
  readonly data: string
  /** Its txid in display (RPC) byte order, hex. */
  readonly txid: string
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/

/**
 * The block: header, transaction count, the coinbase (`coinbase` is the
 * non-witness form, coinb1 + extranonce1 + extranonce2 + coinb2; with its
 * witness added when `withWitness`), then `transactions` as given.
 */
export function assembleBlock(header80: Buffer, coinbase: Buffer, withWitness: boolean, transactions: readonly Buffer[]): Buffer {
  if (header80.length !== 80) throw new RangeError(`assembleBlock: the header is ${header80.length} bytes, not 80`)
  return Buffer.concat([header80, varInt(1 + transactions.length), withWitness ? coinbaseWithWitness(coinbase) : coinbase, ...transactions])
}

/** Each template transaction's raw bytes, in template order (for `assembleBlock`). */
export function templateTransactionData(transactions: readonly Pick<TemplateTransaction, 'data'>[]): Buffer[] {
  return transactions.map((tx, i) => hexBytes(tx.data, `transaction ${i} data`))
}

/**
 * The template's txids in internal byte order (the RPC shows them
 * reversed), the leaves after the coinbase in the block's merkle tree.
 */
export function templateTxids(transactions: readonly Pick<TemplateTransaction, 'txid'>[]): Buffer[] {
  return transactions.map((tx, i) => {
    const id = hexBytes(tx.txid, `transaction ${i} txid`)
    if (id.length !== 32) throw new RangeError(`transaction ${i} txid is ${id.length} bytes, not 32`)
    return id.reverse()
  })
}

/** The coinbase merkle branch of a template (what `mining.notify` carries), internal byte order. */
export function templateMerkleBranch(transactions: readonly Pick<TemplateTransaction, 'txid'>[], sha256d: Sha256d): Buffer[] {
  return coinbaseMerkleBranch(templateTxids(transactions), sha256d)
}

/** Strict hex to bytes: `Buffer.from(s, 'hex')` stops silently at the first bad digit. */
function hexBytes(s: string, what: string): Buffer {
  if (!HEX.test(s)) throw new RangeError(`${what} is not even-length hex`)
  return Buffer.from(s, 'hex')
}
