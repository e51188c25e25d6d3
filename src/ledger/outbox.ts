/**
 * The webhook outbox (`wh/`) and block notices (`wb/`), in the ledger's
 * LevelDB so that an event is stored in the same atomic write as the change
 * it reports (a payout batch marked sent, a block status noticed): after any
 * crash either both are there or neither, and an event once stored is
 * delivered, however long its endpoint is down (docs/webhooks.md).
 *
 * One entry per (endpoint, event), keyed `wh/<hook>/<created 12 hex>/<event
 * id>`, so each endpoint's events are read oldest first and one endpoint's
 * outage never holds back another's. Enqueues are fsynced; deleting a
 * delivered entry is not (a lost delete means one more delivery, which the
 * event id lets the receiver drop).
 */
import { type BatchOp, type LedgerContext, corrupt, parseRecord, scan, write } from './context.js'
import { assertTime, keys, prefixRange } from './keyspace.js'
import { LedgerError } from './ledger-error.js'

/** An event as queued: the exact body is stored, so every retry sends (and signs) the same bytes. */
export interface OutboxEvent {
  /** Unique per event, stable across retries: `<type>:<subject>`. */
  readonly id: string
  readonly type: string
  /** ms since the epoch. */
  readonly createdAt: number
  /** The JSON body, exactly as it is POSTed. */
  readonly body: string
}

/** An event waiting for one endpoint. */
export interface OutboxEntry extends OutboxEvent {
  readonly key: string
  readonly hook: string
  /** Failed deliveries so far. */
  readonly attempts: number
  /** Not before this time (ms). */
  readonly nextAt: number
  readonly lastError: string | undefined
}

const HOOK = /^[0-9a-f]{1,32}$/
const EVENT_ID = /^[\x21-\x2e\x30-\x7e]{1,200}$/

function checkEvent(hook: string, event: OutboxEvent): void {
  if (!HOOK.test(hook)) throw new LedgerError('HF_LEDGER_INVALID', `webhook key ${JSON.stringify(hook)} must be 1-32 hex digits`)
  if (!EVENT_ID.test(event.id)) throw new LedgerError('HF_LEDGER_INVALID', `event id ${JSON.stringify(event.id)} must be 1-200 printable ASCII characters without '/' or spaces`)
  assertTime(event.createdAt, 'event time')
  if (typeof event.body !== 'string' || typeof event.type !== 'string') throw new LedgerError('HF_LEDGER_INVALID', 'an event needs a type and a string body')
}

function encode(entry: Omit<OutboxEntry, 'key' | 'hook'>): string {
  return JSON.stringify({ id: entry.id, type: entry.type, createdAt: entry.createdAt, body: entry.body, attempts: entry.attempts, nextAt: entry.nextAt, lastError: entry.lastError })
}

function decode(ctx: LedgerContext, key: string, raw: string): OutboxEntry {
  const v = parseRecord(ctx, key, raw)
  if (typeof v.id !== 'string' || typeof v.type !== 'string' || typeof v.createdAt !== 'number' || typeof v.body !== 'string' || typeof v.attempts !== 'number' || typeof v.nextAt !== 'number') {
    throw corrupt(ctx, key, raw)
  }
  const hook = key.slice(keys.outboxAll.length, key.indexOf('/', keys.outboxAll.length))
  return { key, hook, id: v.id, type: v.type, createdAt: v.createdAt, body: v.body, attempts: v.attempts, nextAt: v.nextAt, lastError: typeof v.lastError === 'string' ? v.lastError : undefined }
}

/**
 * The operations that queue `event` for each of `hooks`: write them alone
 * (`Outbox.enqueue`) or inside another atomic write (a payout batch update).
 */
export function outboxOps(hooks: readonly string[], event: OutboxEvent): BatchOp[] {
  return hooks.map((hook) => {
    checkEvent(hook, event)
    return { type: 'put', key: keys.outboxEntry(hook, event.createdAt, event.id), value: encode({ ...event, attempts: 0, nextAt: event.createdAt, lastError: undefined }) }
  })
}

/** The operation that records the last block status webhooks were told about. */
export function blockNoticeOp(hash: string, status: string): BatchOp {
  return { type: 'put', key: keys.blockNotice(hash), value: status }
}

export class Outbox {
  constructor(
    private readonly ctx: LedgerContext,
    private readonly guard: <T>(fn: () => Promise<T>) => Promise<T>,
  ) {}

  /** Queues operations from `outboxOps` (and any others, such as block notices) in one fsynced write. */
  enqueue(ops: readonly BatchOp[]): Promise<void> {
    return this.guard(() => (ops.length === 0 ? Promise.resolve() : this.ctx.lock.run(() => write(this.ctx, [...ops], `${ops.length} webhook outbox records`, true))))
  }

  /** The oldest `limit` entries waiting for `hook`. */
  head(hook: string, limit = 1): Promise<OutboxEntry[]> {
    return this.guard(async () => {
      const out: OutboxEntry[] = []
      for await (const [key, raw] of scan(this.ctx, { ...prefixRange(keys.outboxOf(hook)), limit }, 'reading the webhook outbox')) out.push(decode(this.ctx, key, raw))
      return out
    })
  }

  /** Every waiting entry (all endpoints), oldest first per endpoint. */
  all(): Promise<OutboxEntry[]> {
    return this.guard(async () => {
      const out: OutboxEntry[] = []
      for await (const [key, raw] of scan(this.ctx, prefixRange(keys.outboxAll), 'reading the webhook outbox')) out.push(decode(this.ctx, key, raw))
      return out
    })
  }

  /** Removes a delivered entry. */
  delivered(entry: OutboxEntry): Promise<void> {
    return this.guard(() => this.ctx.lock.run(() => write(this.ctx, [{ type: 'del', key: entry.key }], 'a delivered webhook event', false)))
  }

  /** Records a failed delivery and when to try again. */
  retryLater(entry: OutboxEntry, nextAt: number, error: string): Promise<OutboxEntry> {
    return this.guard(async () => {
      const next: OutboxEntry = { ...entry, attempts: entry.attempts + 1, nextAt, lastError: error.slice(0, 500) }
      await this.ctx.lock.run(() => write(this.ctx, [{ type: 'put', key: entry.key, value: encode(next) }], 'a webhook retry', false))
      return next
    })
  }

  /** Deletes the entries of endpoints not in `hooks` (removed from the config); resolves to how many. */
  dropOthers(hooks: readonly string[]): Promise<number> {
    return this.guard(async () => {
      const keep = new Set(hooks)
      const ops: BatchOp[] = []
      for await (const [key] of scan(this.ctx, prefixRange(keys.outboxAll), 'reading the webhook outbox')) {
        const hook = key.slice(keys.outboxAll.length, key.indexOf('/', keys.outboxAll.length))
        if (!keep.has(hook)) ops.push({ type: 'del', key })
      }
      if (ops.length > 0) await this.ctx.lock.run(() => write(this.ctx, ops, `${ops.length} webhook events of removed endpoints`, true))
      return ops.length
    })
  }

  /** Block hash → the last status webhooks were told about. */
  blockNotices(): Promise<Map<string, string>> {
    return this.guard(async () => {
      const out = new Map<string, string>()
      for await (const [key, raw] of scan(this.ctx, prefixRange(keys.blockNoticesAll), 'reading block notices')) out.set(key.slice(keys.blockNoticesAll.length), raw)
      return out
    })
  }
}
