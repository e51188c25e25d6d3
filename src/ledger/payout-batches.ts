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
 *
 * After the send (schema version 3): a sent batch becomes `confirmed` once
 * its transaction is deep enough, follows a fee bump to the replacing
 * transaction, or becomes `dropped` when its transaction can never confirm
 * (a conflicting one is deep in the chain): dropped is credited back under
 * the same ref as failed, so a batch's money returns to the balances at
 * most once whatever happens to it.
 *
 *   pending -> sent -> confirmed
 *      |         \-> dropped (credited back)
 *      \-> failed (credited back)
 */
import { randomBytes } from 'node:crypto'
import { type JournalEntry, post } from './balances.js'
import { type BatchOp, type LedgerContext, corrupt, get, parseRecord, scan, write } from './context.js'
import { assertName, hexTime, keys, prefixRange } from './keyspace.js'
import { LedgerError } from './ledger-error.js'

export type PayoutBatchStatus = 'pending' | 'sent' | 'confirmed' | 'failed' | 'dropped'

const STATUSES: readonly string[] = ['pending', 'sent', 'confirmed', 'failed', 'dropped'] satisfies PayoutBatchStatus[]

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
  /** The payment's reference once known (the txid for onchain); after a fee bump the newest replacement, once confirmed the one that confirmed. */
  readonly txid: string | undefined
  readonly sentAt: number | undefined
  /** The batch's other transactions, in the order found: while it is sent, the ones its fee bumps replaced, or that it replaced (any of them may still be the one that confirms); once confirmed, all but the one that did. */
  readonly replacedTxids: readonly string[]
  /** When the newest replacement was recorded. */
  readonly replacedAt: number | undefined
  /** When its transaction was seen deep enough to be final (status confirmed). */
  readonly confirmedAt: number | undefined
  /** Why the last attempt failed, why the batch failed or was dropped, or what replaced its transaction. */
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
/** What `updateSent` may do to a sent batch: record its replacements (fee bumps), or mark it confirmed by one of its transactions. */
export type SentBatchChange =
  | { readonly txid: string; readonly replacedTxids: readonly string[]; readonly replacedAt: number }
  | { readonly status: 'confirmed'; readonly confirmedAt: number; readonly txid: string; readonly replacedTxids: readonly string[] }

/** The idempotency ref of a failed or dropped batch's refund. */
export const refundRef = (id: string): string => `payout-refund:${id}`

function encode(batch: PayoutBatch): string {
  return JSON.stringify({
    ...batch,
    replacedTxids: batch.replacedTxids.length === 0 ? undefined : batch.replacedTxids,
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
    typeof v.status !== 'string' ||
    !STATUSES.includes(v.status) ||
    typeof v.sender !== 'string' ||
    typeof v.createdAt !== 'number' ||
    typeof v.attempts !== 'number' ||
    // A lost transaction of the batch could let it be dropped while that one confirms: damage, never skipped.
    (v.replacedTxids !== undefined && !(Array.isArray(v.replacedTxids) && v.replacedTxids.every((x: unknown) => typeof x === 'string'))) ||
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
    status: v.status as PayoutBatchStatus,
    sender: v.sender,
    createdAt: v.createdAt,
    lines: (lines as { account: string; address: string; amount: string }[]).map((l) => ({ account: l.account, address: l.address, amount: BigInt(l.amount) })),
    total: BigInt(v.total),
    attempts: v.attempts,
    lastAttemptAt: optNumber(v.lastAttemptAt),
    txid: optString(v.txid),
    sentAt: optNumber(v.sentAt),
    replacedTxids: Array.isArray(v.replacedTxids) ? v.replacedTxids : [],
    replacedAt: optNumber(v.replacedAt),
    confirmedAt: optNumber(v.confirmedAt),
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
        replacedTxids: [],
        replacedAt: undefined,
        confirmedAt: undefined,
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
    return this.change(id, 'pending', change, extra)
  }

  /**
   * Changes a sent batch (its replacements recorded, or confirmed), fsynced,
   * with `extra` operations in the same atomic write.
   * @throws LedgerError `HF_LEDGER_INVALID` for an unknown batch or one that is not sent.
   */
  updateSent(id: string, change: SentBatchChange, extra: readonly BatchOp[] = []): Promise<PayoutBatch> {
    return this.change(id, 'sent', change, extra)
  }

  private change(id: string, from: PayoutBatchStatus, change: PayoutBatchChange | SentBatchChange, extra: readonly BatchOp[]): Promise<PayoutBatch> {
    return this.guard(() =>
      this.ctx.lock.run(async () => {
        const next: PayoutBatch = { ...(await this.inStatus(id, from)), ...change }
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
    return this.refund(id, 'pending', 'failed', error, extra)
  }

  /**
   * Marks a sent batch dropped and credits its lines back, atomically: only
   * for a batch whose payment can never arrive (its transaction conflicts
   * with one deep in the chain). Same ref as `fail`: credited back once.
   */
  drop(id: string, error: string, extra: readonly BatchOp[] = []): Promise<{ batch: PayoutBatch; refund: JournalEntry[] }> {
    return this.refund(id, 'sent', 'dropped', error, extra)
  }

  /** The status change and the credit back in one posting; the status is checked under the same lock hold that writes it. */
  private refund(id: string, from: PayoutBatchStatus, status: 'failed' | 'dropped', error: string, extra: readonly BatchOp[]): Promise<{ batch: PayoutBatch; refund: JournalEntry[] }> {
    return this.guard(async () => {
      const current = await this.inStatus(id, from)
      const next: PayoutBatch = { ...current, status, error }
      const ops: BatchOp[] = [{ type: 'put', key: keys.payoutBatch(id), value: encode(next) }, ...extra]
      // Under the lock: the record is still the one read (nothing changed it meanwhile), and it was never refunded.
      const precheck = async (): Promise<void> => {
        if (encode(await this.inStatus(id, from)) !== encode(current)) throw new LedgerError('HF_LEDGER_INVALID', `payout batch ${id} changed while it was being ${status}; nothing was written`)
        const ref = refundRef(id)
        if ((await get(this.ctx, keys.ref(ref))) !== undefined) {
          throw new LedgerError('HF_LEDGER_CORRUPT', `ledger ${this.ctx.path}: payout batch ${id} is ${from} but its refund ${ref} was already posted`, { path: this.ctx.path })
        }
      }
      const refund = await post(this.ctx, current.lines.map((l) => ({ account: l.account, amount: l.amount })), { ref: refundRef(id), note: `payout batch ${id} ${status}`, precheck }, ops)
      return { batch: next, refund }
    })
  }

  private async read(id: string): Promise<PayoutBatch | undefined> {
    const key = keys.payoutBatch(id)
    const raw = await get(this.ctx, key)
    return raw === undefined ? undefined : decode(this.ctx, key, raw)
  }

  private async inStatus(id: string, status: PayoutBatchStatus): Promise<PayoutBatch> {
    const current = await this.read(id)
    if (current === undefined) throw new LedgerError('HF_LEDGER_INVALID', `no payout batch ${id}`)
    if (current.status !== status) throw new LedgerError('HF_LEDGER_INVALID', `payout batch ${id} is ${current.status}, not ${status}`)
    return current
  }
}
