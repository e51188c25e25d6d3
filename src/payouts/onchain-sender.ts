/**
 * The `onchain` payout sender: one `sendmany` per batch through a bitcoind
 * wallet's RPC (`/wallet/<name>`), the batch id in the transaction comment.
 *
 * - Amounts go out as BTC strings with exactly 8 decimals built from the
 *   integer satoshis (`formatBtc`); bitcoind's `AmountFromValue` parses
 *   strings as decimals, so no float ever carries an amount out.
 * - `sendmany` is never retried here (RpcClient retries only reads). An RPC
 *   error answer means the wallet did not create the transaction
 *   (`HF_PAYOUT_SEND`); no answer means it may have (`HF_PAYOUT_UNKNOWN`).
 * - `find` pages through `listtransactions` (newest first) for a send whose
 *   `comment` is this batch's, back to a day before the batch was created.
 *   The comment is stored in the wallet with the transaction (its mapValue)
 *   in the same database write that commits it, so "not in the list" means
 *   "not created", once no call that could still create it is running.
 * - `status` asks `gettransaction` where a sent batch's transaction stands:
 *   its confirmations (negative when a block conflicts with it), whether it
 *   was abandoned, and the wallet's own replacements (bumpfee) it is part
 *   of: the txid that replaced it, the txid it replaced.
 *   The wallet's -5 "Invalid or non-wallet transaction id" is "unknown".
 */
import { z } from 'zod'
import { BitcoindClient, type RpcClientOptions } from '../bitcoind/index.js'
import { BitcoindError, PayoutError } from '../errors.js'
import type { Logger } from '../log.js'
import { formatBtc } from './amount.js'
import type { PaymentStatus, PayoutRequest, PayoutSender, SentPayment } from './sender.js'

/** The transaction comment that carries a batch id. */
export const batchComment = (batchId: string): string => `headframe payout ${batchId}`

export interface OnchainSenderOptions {
  /** The node's RPC (url without the wallet path, credentials, timeout). */
  readonly rpc: RpcClientOptions
  /** The wallet to pay from; '' = bitcoind's default wallet. */
  readonly wallet: string
  /** `minconf` of sendmany: confirmations the spent coins need (default 1). */
  readonly minConf?: number
  /** `listtransactions` page size while reconciling (default 100). */
  readonly pageSize?: number
  readonly log?: Logger
}

const txidSchema = z.string().regex(/^[0-9a-f]{64}$/)
const listSchema = z.array(
  z.looseObject({
    category: z.string(),
    txid: z.string().optional(),
    time: z.number().optional(),
    comment: z.string().optional(),
  }),
)
const transactionSchema = z.looseObject({
  confirmations: z.number().int(),
  abandoned: z.boolean().optional(),
  replaced_by_txid: txidSchema.optional(),
  replaces_txid: txidSchema.optional(),
  details: z.array(z.looseObject({ abandoned: z.boolean().optional() })).optional(),
})
/** bitcoind's RPC_INVALID_ADDRESS_OR_KEY: gettransaction's "Invalid or non-wallet transaction id". */
const RPC_INVALID_ADDRESS_OR_KEY = -5
const balancesSchema = z.looseObject({ mine: z.looseObject({ trusted: z.number() }) })

/** A wallet's JSON BTC number as satoshis, via its 8-decimal text (no float arithmetic). */
export function btcToSats(btc: number): bigint {
  if (!Number.isFinite(btc)) throw new RangeError(`not a BTC amount: ${btc}`)
  const text = Math.abs(btc).toFixed(8)
  const sats = BigInt(text.replace('.', ''))
  return btc < 0 ? -sats : sats
}

/** A day: how far before a batch's creation `find` still looks (wallet clocks and ours may differ). */
const LOOK_BEHIND_S = 86_400

export class OnchainSender implements PayoutSender {
  readonly kind = 'onchain'
  private readonly client: BitcoindClient
  private readonly minConf: number
  private readonly pageSize: number
  private readonly log: Logger | undefined

  constructor(options: OnchainSenderOptions) {
    const base = options.rpc.url.replace(/\/+$/, '')
    const url = options.wallet === '' ? base : `${base}/wallet/${encodeURIComponent(options.wallet)}`
    this.client = new BitcoindClient({ ...options.rpc, url })
    this.minConf = options.minConf ?? 1
    this.pageSize = options.pageSize ?? 100
    this.log = options.log
  }

  /** The wallet URL (no credentials). */
  get url(): string {
    return this.client.url
  }

  async send(request: PayoutRequest): Promise<SentPayment> {
    const amounts: Record<string, string> = {}
    for (const o of request.outputs) {
      if (Object.hasOwn(amounts, o.address)) throw new PayoutError('HF_PAYOUT_SEND', `batch ${request.batchId} pays ${o.address} twice; nothing was sent`)
      if (o.amount <= 0n) throw new PayoutError('HF_PAYOUT_SEND', `batch ${request.batchId} has a non-positive output; nothing was sent`)
      amounts[o.address] = formatBtc(o.amount)
    }
    let result: unknown
    try {
      result = await this.client.call('sendmany', ['', amounts, this.minConf, batchComment(request.batchId)], { retries: 0 })
    } catch (err) {
      if (err instanceof BitcoindError && !err.transport) {
        throw new PayoutError('HF_PAYOUT_SEND', `the wallet at ${this.url} refused payout batch ${request.batchId}: ${err.message}`, { cause: err })
      }
      throw new PayoutError('HF_PAYOUT_UNKNOWN', `no answer from the wallet at ${this.url} to payout batch ${request.batchId}; it will be looked up before any resend: ${(err as Error).message}`, { cause: err })
    }
    const txid = txidSchema.safeParse(result)
    if (!txid.success) {
      throw new PayoutError('HF_PAYOUT_UNKNOWN', `the wallet at ${this.url} answered sendmany for batch ${request.batchId} with something that is not a txid`)
    }
    this.log?.info({ batch: request.batchId, txid: txid.data, outputs: request.outputs.length }, 'payout batch sent')
    return { txid: txid.data }
  }

  async find(batchId: string, since: number): Promise<SentPayment | undefined> {
    const comment = batchComment(batchId)
    const oldest = Math.floor(since / 1000) - LOOK_BEHIND_S
    for (let skip = 0; ; skip += this.pageSize) {
      const raw = await this.client.call('listtransactions', ['*', this.pageSize, skip, true], { retries: 2 })
      const page = listSchema.safeParse(raw)
      if (!page.success) throw new PayoutError('HF_PAYOUT_UNKNOWN', `the wallet at ${this.url} answered listtransactions with an unexpected shape`)
      for (const tx of page.data) {
        if (tx.category === 'send' && tx.comment === comment && tx.txid !== undefined) return { txid: tx.txid }
      }
      // Pages are oldest first within the page; the wallet lists newest last.
      const newest = page.data.reduce((m, tx) => Math.max(m, tx.time ?? Number.MAX_SAFE_INTEGER), -Infinity)
      if (page.data.length < this.pageSize || newest < oldest) return undefined
    }
  }

  async status(txid: string): Promise<PaymentStatus | undefined> {
    let raw: unknown
    try {
      raw = await this.client.call('gettransaction', [txid], { retries: 2 })
    } catch (err) {
      if (err instanceof BitcoindError && err.rpcCode === RPC_INVALID_ADDRESS_OR_KEY) return undefined
      throw err
    }
    const tx = transactionSchema.safeParse(raw)
    if (!tx.success) throw new PayoutError('HF_PAYOUT_UNKNOWN', `the wallet at ${this.url} answered gettransaction ${txid} with an unexpected shape`)
    // Core marks abandonment on the send entries of `details`.
    const abandoned = tx.data.abandoned === true || (tx.data.details ?? []).some((d) => d.abandoned === true)
    return { confirmations: tx.data.confirmations, abandoned, replacedBy: tx.data.replaced_by_txid, replaces: tx.data.replaces_txid }
  }

  async available(): Promise<bigint | undefined> {
    const raw = await this.client.call('getbalances', [], { retries: 2 })
    const parsed = balancesSchema.safeParse(raw)
    return parsed.success ? btcToSats(parsed.data.mine.trusted) : undefined
  }

  close(): Promise<void> {
    return this.client.close()
  }
}
