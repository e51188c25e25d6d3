/**
 * Counters of what the ledger does not keep share by share: the upstream
 * pool's answers to forwarded shares (proxy mode) and the shares the pool
 * itself rejected. Both are tallied per worker in minute, hour and day
 * buckets (`ev/<u|x>/<res>/<bucket>/<account>/<worker>`), kept forever, and
 * written by their own group commit (the same batching as shares, but fire
 * and forget: the miner's answer never waits for them).
 *
 * Fire and forget does not mean lost silently: a record that cannot be
 * written (a failed batch, or a malformed record) is counted
 * (`Ledger.stats.failedEvents`) and logged once per failed batch.
 *
 * There are no per-event records, so a range is exact to the minute: a
 * partial minute at either end counts whole when it starts inside the
 * range, not at all otherwise (`exact: false` then).
 */
import { type BatchOp, type LedgerContext, type LedgerSnapshot, getMany, scan, write } from './context.js'
import { scaleDifficulty, type ScaledDifficulty } from './difficulty.js'
import { MINUTE, RESOLUTIONS, assertName, assertTime, bucketStart, keys } from './keyspace.js'
import { LedgerError } from './ledger-error.js'
import { ceilTo, planRange, type BucketRun } from './range-plan.js'

/** Which counters: upstream answers, or local rejects. */
export type EventKind = 'u' | 'x'

/** A forwarded share's upstream answer (the server's `UpstreamShareRecord`). */
export interface UpstreamResult {
  /** ms since the epoch, when the answer came. */
  readonly time: number
  readonly account: string
  readonly worker: string
  /** The upstream difficulty the share was judged at. */
  readonly difficulty: number
  readonly accepted: boolean
  /** The upstream's reject reason, when rejected. */
  readonly reason?: string | undefined
  /** Name of the upstream source. */
  readonly source: string
}

/** A share the pool rejected, from a worker that had authorized. */
export interface RejectedShare {
  readonly time: number
  readonly account: string
  readonly worker: string
  /** The reject reason (`stale`, `job-not-found`, `duplicate`, `low-difficulty`, ...). */
  readonly reason: string
}

/** One event as the commit counts it. */
export interface LedgerEvent {
  readonly kind: EventKind
  readonly time: number
  readonly account: string
  readonly worker: string
  /** Accepted (upstream) difficulty, scaled; 0 for a reject. */
  readonly scaled: ScaledDifficulty
  readonly accepted: boolean
  readonly stale: boolean
}

/** Counters of one bucket (or of a range). */
export interface EventCounts {
  /** Accepted upstream (always 0 for local rejects). */
  readonly accepted: number
  /** Their upstream difficulty, scaled. */
  readonly scaled: ScaledDifficulty
  /** Rejected, not stale. */
  readonly rejected: number
  /** Rejected as stale (`stale`, `job-not-found`, or an upstream reason saying so). */
  readonly stale: number
}

export const ZERO_COUNTS: EventCounts = { accepted: 0, scaled: 0n, rejected: 0, stale: 0 }

/** Upstream reject reasons vary by pool; these mean the job was over. */
const UPSTREAM_STALE = /stale|job not found|job-not-found|unknown job/i
const LOCAL_STALE = new Set(['stale', 'job-not-found'])

/** An upstream answer as an event. @throws LedgerError `HF_LEDGER_INVALID`. */
export function upstreamEvent(r: UpstreamResult): LedgerEvent {
  if (typeof r !== 'object' || r === null) throw new LedgerError('HF_LEDGER_INVALID', 'an upstream result must be an object')
  assertTime(r.time, 'upstream result time')
  assertName(r.account, 'account')
  assertName(r.worker, 'worker')
  if (typeof r.accepted !== 'boolean') throw new LedgerError('HF_LEDGER_INVALID', 'upstream result accepted must be a boolean')
  const scaled = r.accepted ? scaleDifficulty(r.difficulty) : 0n
  const stale = !r.accepted && typeof r.reason === 'string' && UPSTREAM_STALE.test(r.reason)
  return { kind: 'u', time: r.time, account: r.account, worker: r.worker, scaled, accepted: r.accepted, stale }
}

/** A local reject as an event. @throws LedgerError `HF_LEDGER_INVALID`. */
export function rejectEvent(r: RejectedShare): LedgerEvent {
  if (typeof r !== 'object' || r === null) throw new LedgerError('HF_LEDGER_INVALID', 'a rejected share must be an object')
  assertTime(r.time, 'reject time')
  assertName(r.account, 'account')
  assertName(r.worker, 'worker')
  if (typeof r.reason !== 'string') throw new LedgerError('HF_LEDGER_INVALID', 'reject reason must be a string')
  return { kind: 'x', time: r.time, account: r.account, worker: r.worker, scaled: 0n, accepted: false, stale: LOCAL_STALE.has(r.reason) }
}

export function addCounts(a: EventCounts, b: EventCounts): EventCounts {
  return { accepted: a.accepted + b.accepted, scaled: a.scaled + b.scaled, rejected: a.rejected + b.rejected, stale: a.stale + b.stale }
}

function encodeCounts(c: EventCounts): string {
  return `{"n":${c.accepted},"d":"${c.scaled}","r":${c.rejected},"s":${c.stale}}`
}

function decodeCounts(key: string, raw: string): EventCounts {
  try {
    const v = JSON.parse(raw) as { n: unknown; d: unknown; r: unknown; s: unknown }
    if (typeof v.n === 'number' && typeof v.d === 'string' && /^\d+$/.test(v.d) && typeof v.r === 'number' && typeof v.s === 'number') {
      return { accepted: v.n, scaled: BigInt(v.d), rejected: v.r, stale: v.s }
    }
  } catch {
    // reported below
  }
  throw new LedgerError('HF_LEDGER_CORRUPT', `ledger record ${key} is not an event tally: ${raw.slice(0, 100)}`)
}

const countsOf = (e: LedgerEvent): EventCounts => ({
  accepted: e.accepted ? 1 : 0,
  scaled: e.scaled,
  rejected: !e.accepted && !e.stale ? 1 : 0,
  stale: e.stale ? 1 : 0,
})

/**
 * Writes counts summed per worker and minute (each `event` stands for its
 * kind, time, account and worker; `counts` is what to add): every bucket
 * they touch, read-modify-write, in one batch. Runs under the ledger's
 * write lock. Summing before building keys matters: three keys per event
 * were a tenth of the pool's CPU under an invalid-share flood.
 */
export async function commitTallies(ctx: LedgerContext, tallies: readonly { readonly event: LedgerEvent; readonly counts: EventCounts }[]): Promise<void> {
  const deltas = new Map<string, EventCounts>()
  for (const { event: e, counts } of tallies) {
    for (const res of RESOLUTIONS) {
      const key = keys.eventTally(e.kind, res, bucketStart(e.time, res), e.account, e.worker)
      deltas.set(key, addCounts(deltas.get(key) ?? ZERO_COUNTS, counts))
    }
  }
  const list = [...deltas.keys()]
  const stored = await getMany(ctx, list)
  const ops: BatchOp[] = list.map((key, i) => {
    const raw = stored[i]
    const before = raw === undefined ? ZERO_COUNTS : decodeCounts(key, raw)
    return { type: 'put', key, value: encodeCounts(addCounts(before, deltas.get(key) ?? ZERO_COUNTS)) }
  })
  await write(ctx, ops, `${tallies.length} upstream result / reject tallies`, ctx.sync)
}

/** One worker's counters over a range. */
export interface EventTotal {
  readonly account: string
  readonly worker: string
  readonly counts: EventCounts
}

/**
 * Counters per worker over [from, to), sorted by account then worker; one
 * account's only with `account`. `exact` is false when an end is not on a
 * minute boundary (see the module comment).
 */
export async function eventTotals(
  ctx: LedgerContext,
  kind: EventKind,
  query: { readonly from: number; readonly to: number; readonly account?: string | undefined },
): Promise<{ workers: EventTotal[]; exact: boolean }> {
  assertTime(query.from, 'from')
  assertTime(query.to, 'to')
  if (query.account !== undefined) assertName(query.account, 'account')
  const plan = planRange(query.from, query.to)
  const runs: BucketRun[] = [...plan.runs]
  for (const [lo, hi] of plan.edges) {
    const minute = ceilTo(lo, MINUTE)
    if (minute < hi) runs.push({ res: 'm', from: minute, to: minute + MINUTE })
  }
  const byName = new Map<string, EventTotal>()
  const snapshot = ctx.db.snapshot()
  try {
    for (const run of runs) await scanRun(ctx, kind, run, snapshot, query.account, byName)
  } finally {
    await snapshot.close()
  }
  const workers = [...byName.values()].sort((x, y) => (x.account === y.account ? cmp(x.worker, y.worker) : cmp(x.account, y.account)))
  return { workers, exact: plan.edges.length === 0 }
}

async function scanRun(
  ctx: LedgerContext,
  kind: EventKind,
  run: BucketRun,
  snapshot: LedgerSnapshot,
  account: string | undefined,
  into: Map<string, EventTotal>,
): Promise<void> {
  const range = { gte: keys.eventTallyTime(kind, run.res, run.from), lt: keys.eventTallyTime(kind, run.res, run.to), snapshot }
  const prefixLength = range.gte.length
  for await (const [key, raw] of scan(ctx, range, 'reading event tallies')) {
    const rest = key.slice(prefixLength)
    const slash = rest.indexOf('/')
    const a = rest.slice(0, slash)
    if (account !== undefined && a !== account) continue
    const worker = rest.slice(slash + 1)
    const name = `${a}/${worker}`
    const seen = into.get(name)
    into.set(name, { account: a, worker, counts: addCounts(seen?.counts ?? ZERO_COUNTS, decodeCounts(key, raw)) })
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The group commit of events: `add` never throws and never waits; a record
 * that cannot be written is counted in `failed` (and the failed batch
 * logged), never dropped silently.
 *
 * Events are summed per worker and minute as they arrive, so what waits for
 * a write is one tally per worker, not one object (and promise) per event:
 * under a flood of invalid shares faster than the writes, memory stays
 * bounded by the number of workers (an event queue grew by hundreds of MB
 * in seconds in the load benchmark, docs/benchmarks.md). A group is written
 * `delayMs` after its first event or once `maxItems` events are waiting;
 * one write runs at a time.
 */
export class EventRecorder {
  /** Events written. */
  recorded = 0
  /** Events refused as malformed or lost with a failed batch. */
  failed = 0
  private pending = new Map<string, { event: LedgerEvent; counts: EventCounts; n: number }>()
  private pendingEvents = 0
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> | undefined

  constructor(
    private readonly ctx: LedgerContext,
    private readonly options: { readonly delayMs: number; readonly maxItems: number },
  ) {}

  /** Queues the event `make` builds; a malformed one is counted as failed. */
  add(make: () => LedgerEvent): void {
    let event: LedgerEvent
    try {
      event = make()
    } catch (err) {
      this.failed++
      this.ctx.log?.warn({ err }, 'a malformed upstream result / reject was not recorded')
      return
    }
    const id = `${event.kind}/${bucketStart(event.time, 'm')}/${event.account}/${event.worker}`
    const seen = this.pending.get(id)
    if (seen === undefined) this.pending.set(id, { event, counts: countsOf(event), n: 1 })
    else {
      seen.counts = addCounts(seen.counts, countsOf(event))
      seen.n++
    }
    this.pendingEvents++
    this.schedule()
  }

  /** Events waiting for their batch. */
  get queued(): number {
    return this.pendingEvents
  }

  /** Writes what is queued now. */
  async flush(): Promise<void> {
    while (this.pendingEvents > 0 || this.writing !== undefined) {
      if (this.timer !== undefined) clearTimeout(this.timer)
      this.timer = undefined
      await (this.writing ?? this.start())
    }
  }

  private schedule(): void {
    if (this.writing !== undefined || this.pendingEvents === 0) return // a running write reschedules
    if (this.pendingEvents >= this.options.maxItems) {
      if (this.timer !== undefined) clearTimeout(this.timer)
      this.timer = undefined
      void this.start()
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined
        if (this.writing === undefined) void this.start()
      }, this.options.delayMs)
    }
  }

  /** Writes everything pending as one group. Never rejects. */
  private start(): Promise<void> {
    const group = [...this.pending.values()]
    const n = this.pendingEvents
    this.pending = new Map()
    this.pendingEvents = 0
    const run = this.ctx.lock
      .run(() => commitTallies(this.ctx, group))
      .then(
        () => void (this.recorded += n),
        (err: unknown) => {
          this.failed += n
          this.ctx.log?.error({ err, events: n }, 'upstream results / rejects could not be written; they are counted as failed')
        },
      )
      .finally(() => {
        this.writing = undefined
        this.schedule()
      })
    this.writing = run
    return run
  }
}
