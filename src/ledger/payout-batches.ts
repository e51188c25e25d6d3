/**
 * Payout batch records (`po/<id>`): what makes sending money idempotent
 * (docs/payouts.md, "Idempotency").
 *
 * A batch is created in ONE atomic LevelDB batch together with the debits
 * of its accounts (a posting with ref `payout:<id>`), so a batch exists if
 * and only if its balances were debited: there is no moment, and so no
 * crash, where money left a balance without a batch saying where it goes,
 * or a batch exists whose money is still in the balances. Before each send
 * the attempt is recorded (fsynced); after it the txid. A batch the wallet
 * certainly refused is marked failed in the same atomic batch that credits
 * the money back (ref `payout-refund:<id>`). Every write here is fsynced.
 */
import { randomBytes } from 'node:crypto'
import { type JournalEntry, post } from './balances.js'
import { type BatchOp, type LedgerContext, corrupt, get, parseRecord, scan, write } from './context.js'
import { assertName, hexTime, keys, prefixRange } from './keyspace.js'
import { LedgerError } from './ledger-error.js'

export type PayoutBatchStatus = 'pending' | 'sent' | 'failed'

/** One account's payout in a batch. */
export interface PayoutLine {
  readonly account: string
  readonly address: string
  /** Satoshis, > 0. */
  readonly amount: bigint
}

/** A payout batch as stored. */
export interface PayoutBatch {
  /** `<created ms, 12 hex>-<16 random hex>`: unique, and sorts by creation. */
  readonly id: string
  readonly status: PayoutBatchStatus
  /** The sender kind that pays it (`onchain`). */
  readonly sender: string
  readonly createdAt: number
  readonly lines: readonly PayoutLine[]
  /** Sum of the lines. */
  readonly total: bigint
  /** Send attempts started (recorded before each send). */
  readonly attempts: number
  readonly lastAttemptAt: number | undefined
  /** The payment's reference once known (the txid for onchain). */
  readonly txid: string | undefined
  readonly sentAt: number | undefined
  /** Why the last attempt failed, or why the batch failed. */
  readonly error: string | undefined
}

/** Fields `update` may change. */
export interface PayoutBatchChange {
  readonly attempts?: number
  readonly lastAttemptAt?: number
  readonly status?: 'sent'
  readonly txid?: string
  readonly sentAt?: number
  readonly error?: string
}

const BATCH_ID = /^[0-9a-f]{12}-[0-9a-f]{16}$/

/** A new unique batch id for a batch created at `now`. */
export function newBatchId(now: number): string {
  return `${hexTime(now)}-${randomBytes(8).toString('hex')}`
}

/** The idempotency ref of a batch's debits. */
export const debitRef = (id: string): string => `payout:${id}`
/** The idempotency ref of a failed batch's refund. */
export const refundRef = (id: string): string => `payout-refund:${id}`

function encode(batch: PayoutBatch): string {
  return JSON.stringify({
    ...batch,
    total: batch.total.toString(),
    lines: batch.lines.map((l) => ({ account: l.account, address: l.address, amount: l.amount.toString() })),
  })
}

const isDigits = (v: unknown): v is string => typeof v === 'string' && /^\d{1,20}$/.test(v)
const optNumber = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)
const optString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function decode(ctx: LedgerContext, key: string, raw: string): PayoutBatch {
  const v = parseRecord(ctx, key, raw)
  const lines = v.lines
  if (
    typeof v.id !== 'string' ||
    (v.status !== 'pending' && v.status !== 'sent' && v.status !== 'failed') ||
    typeof v.sender !== 'string' ||
    typeof v.createdAt !== 'number' ||
    typeof v.attempts !== 'number' ||
    !isDigits(v.total) ||
    !Array.isArray(lines) ||
    !lines.every((l: unknown) => {
      const line = l as Record<string, unknown> | null
      return typeof line === 'object' && line !== null && typeof line.account === 'string' && typeof line.address === 'string' && isDigits(line.amount)
    })
  ) {
    throw corrupt(ctx, key, raw)
  }
  return {
    id: v.id,
    status: v.status,
    sender: v.sender,
    createdAt: v.createdAt,
    lines: (lines as { account: string; address: string; amount: string }[]).map((l) => ({ account: l.account, address: l.address, amount: BigInt(l.amount) })),
    total: BigInt(v.total),
    attempts: v.attempts,
    lastAttemptAt: optNumber(v.lastAttemptAt),
    txid: optString(v.txid),
    sentAt: optNumber(v.sentAt),
    error: optString(v.error),
  }
}

function validateNew(id: string, lines: readonly PayoutLine[]): void {
  if (!BATCH_ID.test(id)) throw new LedgerError('HF_LEDGER_INVALID', `payout batch id ${JSON.stringify(id)} is not <12 hex>-<16 hex>`)
  if (lines.length === 0) throw new LedgerError('HF_LEDGER_INVALID', 'a payout batch needs at least one line')
  const seen = new Set<string>()
  for (const l of lines) {
    assertName(l.account, 'account')
    if (seen.has(l.account)) throw new LedgerError('HF_LEDGER_INVALID', `account ${l.account} appears twice in payout batch ${id}`)
    seen.add(l.account)
    if (typeof l.amount !== 'bigint' || l.amount <= 0n) throw new LedgerError('HF_LEDGER_INVALID', `payout amount for ${l.account} must be a positive bigint, got ${String(l.amount)}`)
    if (typeof l.address !== 'string' || l.address.length === 0) throw new LedgerError('HF_LEDGER_INVALID', `payout line for ${l.account} has no address`)
  }
}

/** Payout batches of one ledger; every method runs through the ledger's open check. */
export class PayoutBatchStore {
  constructor(
    private readonly ctx: LedgerContext,
    private readonly guard: <T>(fn: () => Promise<T>) => Promise<T>,
  ) {}

  /**
   * Creates a pending batch and debits its accounts, atomically.
   * @throws LedgerError `HF_LEDGER_BALANCE` when an account has less than
   * its line (then nothing at all was written).
   */
  create(input: { readonly id: string; readonly sender: string; readonly lines: readonly PayoutLine[] }): Promise<PayoutBatch> {
    return this.guard(async () => {
      validateNew(input.id, input.lines)
      const batch: PayoutBatch = {
        id: input.id,
        status: 'pending',
        sender: input.sender,
        createdAt: this.ctx.clock(),
        lines: input.lines.map((l) => ({ ...l })),
        total: input.lines.reduce((sum, l) => sum + l.amount, 0n),
        attempts: 0,
        lastAttemptAt: undefined,
        txid: undefined,
        sentAt: undefined,
        error: undefined,
      }
      const record: BatchOp = { type: 'put', key: keys.payoutBatch(batch.id), value: encode(batch) }
      await post(this.ctx, batch.lines.map((l) => ({ account: l.account, amount: -l.amount })), { ref: debitRef(batch.id), note: `payout batch ${batch.id}` }, [record])
      return (await this.read(batch.id)) ?? batch
    })
  }

  /** One batch, or undefined. */
  get(id: string): Promise<PayoutBatch | undefined> {
    return this.guard(() => this.read(id))
  }

  /** Batches oldest first, optionally of one status. */
  list(query: { readonly status?: PayoutBatchStatus } = {}): Promise<PayoutBatch[]> {
    return this.guard(async () => {
      const out: PayoutBatch[] = []
      for await (const [key, raw] of scan(this.ctx, prefixRange(keys.payoutBatchesAll), 'reading payout batches')) {
        const batch = decode(this.ctx, key, raw)
        if (query.status === undefined || batch.status === query.status) out.push(batch)
      }
      return out
    })
  }

  /**
   * Changes a pending batch (an attempt, or sent with its txid), fsynced,
   * with `extra` operations (webhook events) in the same atomic write.
   * @throws LedgerError `HF_LEDGER_INVALID` for an unknown or no longer pending batch.
   */
  update(id: string, change: PayoutBatchChange, extra: readonly BatchOp[] = []): Promise<PayoutBatch> {
    return this.guard(() =>
      this.ctx.lock.run(async () => {
        const current = await this.pending(id)
        const next: PayoutBatch = { ...current, ...change }
        await write(this.ctx, [{ type: 'put', key: keys.payoutBatch(id), value: encode(next) }, ...extra], `payout batch ${id}`, true)
        return next
      }),
    )
  }

  /**
   * Marks a pending batch failed and credits its lines back, atomically:
   * only for a batch the sender certainly did not pay.
   */
  fail(id: string, error: string, extra: readonly BatchOp[] = []): Promise<{ batch: PayoutBatch; refund: JournalEntry[] }> {
    return this.guard(async () => {
      const current = await this.pending(id)
      const next: PayoutBatch = { ...current, status: 'failed', error }
      const ops: BatchOp[] = [{ type: 'put', key: keys.payoutBatch(id), value: encode(next) }, ...extra]
      const refund = await post(this.ctx, current.lines.map((l) => ({ account: l.account, amount: l.amount })), { ref: refundRef(id), note: `payout batch ${id} failed` }, ops)
      return { batch: next, refund }
    })
  }

  private async read(id: string): Promise<PayoutBatch | undefined> {
    const key = keys.payoutBatch(id)
    const raw = await get(this.ctx, key)
    return raw === undefined ? undefined : decode(this.ctx, key, raw)
  }

  private async pending(id: string): Promise<PayoutBatch> {
    const current = await this.read(id)
    if (current === undefined) throw new LedgerError('HF_LEDGER_INVALID', `no payout batch ${id}`)
    if (current.status !== 'pending') throw new LedgerError('HF_LEDGER_INVALID', `payout batch ${id} is ${current.status}, not pending`)
    return current
  }
}
