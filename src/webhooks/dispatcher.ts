/**
 * Delivers webhook events from the persisted outbox (src/ledger/outbox.ts)
 * to each configured endpoint, at least once.
 *
 * One loop per endpoint takes its oldest event, POSTs it with undici
 * (`Content-Type: application/json`, the signature, the event id and type
 * as headers), and deletes it only after a 2xx answer. Anything else (a
 * refused connection, a timeout, a 500) records the failure and the time of
 * the next try: exponential backoff from `minDelayMs`, capped at
 * `maxDelayMs`, with ±50 % jitter so endpoints coming back are not hit in
 * step. Events of one endpoint go out in order (the oldest blocks the
 * rest), and nothing is ever dropped for being old: an endpoint down for a
 * day gets the day's events when it is back, and a restart resumes from
 * the outbox.
 */
import { createHash } from 'node:crypto'
import { Agent, request } from 'undici'
import { abortableSleep } from '../abortable-sleep.js'
import type { WebhookConfig } from '../config/index.js'
import { WebhookError } from '../errors.js'
import { outboxOps, type BatchOp, type Ledger, type OutboxEntry, type OutboxEvent } from '../ledger/index.js'
import type { Logger } from '../log.js'
import { SIGNATURE_HEADER, signBody } from './signature.js'

/** One endpoint. */
export interface WebhookTarget {
  /** Outbox key: the first 16 hex digits of sha256(url). */
  readonly key: string
  readonly url: string
  readonly secret: string
  /** Event types sent; empty = all. */
  readonly events: ReadonlySet<string>
  readonly timeoutMs: number
}

/** The outbox key of an endpoint URL (changing the URL makes a new endpoint). */
export const targetKey = (url: string): string => createHash('sha256').update(url).digest('hex').slice(0, 16)

/** Targets from `[[webhooks]]` (secrets already resolved from `secret_env` by the config loader). */
export function webhookTargets(configs: readonly WebhookConfig[]): WebhookTarget[] {
  return configs.map((c) => ({ key: targetKey(c.url), url: c.url, secret: c.secret, events: new Set(c.events), timeoutMs: c.timeout_ms }))
}

export interface WebhookDispatcherOptions {
  readonly ledger: Ledger
  readonly targets: readonly WebhookTarget[]
  readonly log?: Logger | undefined
  readonly clock?: () => number
  /** First retry delay (default 1 s). */
  readonly minDelayMs?: number
  /** Largest retry delay (default 10 minutes). */
  readonly maxDelayMs?: number
  /** Longest idle wait before the outbox is read again anyway (default 60 s). */
  readonly idleMs?: number
  /** Jitter source in [0, 1) (tests pass a seeded one). */
  readonly random?: () => number
}

/** Counters per endpoint. */
export interface WebhookTargetStats {
  readonly url: string
  delivered: number
  failures: number
  /** Last delivery failure, if the last attempt failed. */
  lastError: string | undefined
}

interface Loop {
  readonly target: WebhookTarget
  readonly stats: WebhookTargetStats
  /** Set by a publish; cleared before each outbox read, so no wake-up is missed. */
  dirty: boolean
  wake: (() => void) | undefined
  done: Promise<void> | undefined
}

export class WebhookDispatcher {
  private readonly ledger: Ledger
  private readonly loops: Loop[]
  private readonly log: Logger | undefined
  private readonly clock: () => number
  private readonly minDelayMs: number
  private readonly maxDelayMs: number
  private readonly idleMs: number
  private readonly random: () => number
  private readonly stopping = new AbortController()
  private readonly agent = new Agent({ connections: 2 })
  private stopped_: Promise<void> | undefined

  constructor(options: WebhookDispatcherOptions) {
    this.ledger = options.ledger
    this.loops = options.targets.map((target) => ({ target, stats: { url: target.url, delivered: 0, failures: 0, lastError: undefined }, dirty: true, wake: undefined, done: undefined }))
    this.log = options.log
    this.clock = options.clock ?? Date.now
    this.minDelayMs = options.minDelayMs ?? 1000
    this.maxDelayMs = options.maxDelayMs ?? 600_000
    this.idleMs = options.idleMs ?? 60_000
    this.random = options.random ?? Math.random
  }

  /** Per-endpoint counters. */
  get stats(): readonly WebhookTargetStats[] {
    return this.loops.map((l) => l.stats)
  }

  /** The outbox writes that queue `event` for every endpoint subscribed to its type. */
  ops(event: OutboxEvent): BatchOp[] {
    const hooks = this.loops.filter((l) => l.target.events.size === 0 || l.target.events.has(event.type)).map((l) => l.target.key)
    return outboxOps(hooks, event)
  }

  /** Queues events (with `extra` operations, atomically), then wakes the loops. */
  async publish(events: readonly OutboxEvent[], extra: readonly BatchOp[] = []): Promise<void> {
    await this.ledger.outbox.enqueue([...events.flatMap((e) => this.ops(e)), ...extra])
    this.wake()
  }

  /** Tells the loops the outbox changed (after an atomic write elsewhere queued events). */
  wake(): void {
    for (const loop of this.loops) {
      loop.dirty = true
      loop.wake?.()
    }
  }

  /** Drops events of endpoints no longer configured, then starts one loop per endpoint. */
  async start(): Promise<void> {
    const dropped = await this.ledger.outbox.dropOthers(this.loops.map((l) => l.target.key))
    if (dropped > 0) this.log?.warn({ dropped }, 'dropped queued webhook events of endpoints no longer configured')
    for (const loop of this.loops) loop.done = this.run(loop)
  }

  /** Ends the loops (a delivery in flight is aborted and stays queued) and the connections. */
  stop(): Promise<void> {
    this.stopped_ ??= (async () => {
      this.stopping.abort()
      this.wake()
      await Promise.all(this.loops.map((l) => l.done ?? Promise.resolve()))
      await this.agent.close()
    })()
    return this.stopped_
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted
  }

  private async run(loop: Loop): Promise<void> {
    const log = this.log?.child({ webhook: loop.target.url })
    while (!this.stopped) {
      loop.dirty = false
      let entry: OutboxEntry | undefined
      try {
        ;[entry] = await this.ledger.outbox.head(loop.target.key, 1)
      } catch (err) {
        if (this.stopped) return
        log?.error({ err }, 'cannot read the webhook outbox; trying again')
        await abortableSleep(this.minDelayMs, this.stopping.signal)
        continue
      }
      if (entry === undefined) {
        await this.idle(loop)
        continue
      }
      const wait = entry.nextAt - this.clock()
      if (wait > 0) {
        await abortableSleep(wait, this.stopping.signal)
        continue
      }
      const failure = await this.deliver(loop.target, entry)
      if (this.stopped && failure !== undefined) return
      try {
        if (failure === undefined) {
          await this.ledger.outbox.delivered(entry)
          loop.stats.delivered++
          loop.stats.lastError = undefined
        } else {
          const delay = this.backoff(entry.attempts + 1)
          await this.ledger.outbox.retryLater(entry, this.clock() + delay, failure.message)
          loop.stats.failures++
          loop.stats.lastError = failure.message
          log?.warn({ err: failure, event: entry.id, attempts: entry.attempts + 1, retryInMs: Math.round(delay) }, 'webhook delivery failed; will retry')
        }
      } catch (err) {
        if (this.stopped) return
        log?.error({ err }, 'cannot update the webhook outbox; trying again')
        await abortableSleep(this.minDelayMs, this.stopping.signal)
      }
    }
  }

  /** Waits for a publish, the stop, or `idleMs`. */
  private idle(loop: Loop): Promise<void> {
    if (loop.dirty || this.stopped) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.idleMs)
      function done(): void {
        clearTimeout(timer)
        loop.wake = undefined
        resolve()
      }
      loop.wake = done
    })
  }

  /** One POST; undefined on a 2xx answer, else the failure. */
  private async deliver(target: WebhookTarget, entry: OutboxEntry): Promise<WebhookError | undefined> {
    const signal = AbortSignal.any([AbortSignal.timeout(target.timeoutMs), this.stopping.signal])
    try {
      const res = await request(target.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'headframe-webhooks',
          [SIGNATURE_HEADER]: signBody(target.secret, entry.body),
          'x-headframe-event': entry.type,
          'x-headframe-delivery': entry.id,
        },
        body: entry.body,
        signal,
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
      })
      await res.body.dump()
      if (res.statusCode >= 200 && res.statusCode < 300) return undefined
      return new WebhookError('HF_WEBHOOK_DELIVERY', `webhook ${target.url} answered event ${entry.id} with HTTP ${res.statusCode}`)
    } catch (err) {
      const why = signal.aborted && !this.stopped ? `no answer within ${target.timeoutMs} ms` : err instanceof Error ? err.message : String(err)
      return new WebhookError('HF_WEBHOOK_DELIVERY', `webhook ${target.url} did not take event ${entry.id}: ${why}`, { cause: err })
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** Math.min(attempt - 1, 30))
    return base * (0.5 + this.random() / 2)
  }
}
