/**
 * The failover source: a `JobSource` wrapping an ordered list of sources
 * (priority = order), the way undici's RetryAgent wraps a Dispatcher
 * (CONVENTIONS.md §5). Miners get work from one source at a time, the
 * highest-priority healthy one; when it fails they move to the next within
 * a check interval, and back once it has been healthy for the hold-down.
 *
 * - Every inner source runs all the time, so a standby has work ready the
 *   moment it is needed (a switch re-sends its current work with
 *   `cleanJobs = true`: miners drop the dead source's jobs at once).
 * - A source is unhealthy when its own `health()` says so (bitcoind
 *   unreachable or not synced, an upstream that cannot connect or rejects
 *   shares), when its `start()` failed (retried with backoff), or when it
 *   gave no new work for `noWorkTimeoutMs`. It is healthy again only after
 *   staying healthy for `holdDownMs`, so a flapping source cannot drag the
 *   miners back and forth. A source that has never failed (start-up) is
 *   usable as soon as it has work.
 * - Blocks and forwarded shares go to the inner source that made their
 *   work (`work.source`), even after a switch: a block found on the old
 *   source's job can only be assembled and submitted by that source.
 * - With no healthy source the miners keep the last work (and any new work
 *   of the active source), and the pool says so loudly once a minute.
 * - An operator may force a source (`switchTo`), until cleared or until
 *   that source goes unhealthy.
 *
 * The clock is injected and `check()` is public, so tests move time
 * instead of sleeping (docs/failover.md).
 */
import type { Logger } from '../log.js'
import type { ForwardedShare, JobSource, SourceHealth, UpstreamShareResult, WorkListener } from './job-source.js'
import type { BlockCandidate, BlockSubmitResult, Work } from './work.js'

/** Why the active source changed; a bounded set (metric label). */
export type SwitchReason = 'initial' | 'unhealthy' | 'failback' | 'manual'

/** A source's state as the failover judges it. */
export type SourceState = 'starting' | 'healthy' | 'unhealthy' | 'recovering'

export interface FailoverOptions {
  /** The wrapped sources, highest priority first; names must be unique. */
  readonly sources: readonly JobSource[]
  /** How often health is re-evaluated (ms); new work re-evaluates at once too. */
  readonly checkIntervalMs: number
  /** A source with no new work for this long is unhealthy (ms). */
  readonly noWorkTimeoutMs: number
  /** A source that failed must stay healthy this long before it is used again (ms). */
  readonly holdDownMs: number
  /**
   * A healthy source must stay failing this long before it is judged
   * unhealthy (ms, default 0): one dropped upstream connection that comes
   * straight back does not move every miner away and back.
   */
  readonly failGraceMs?: number
  readonly log: Logger
  /** Name of the failover itself (default `failover`). */
  readonly name?: string
  /** ms clock; tests move it. */
  readonly clock?: () => number
  /** How often "no healthy source" is repeated while it lasts (ms, default 60 000). */
  readonly allDownLogMs?: number
}

/** The last switch, for stats. */
export interface SwitchRecord {
  /** The source left (null for the first choice). */
  readonly from: string | null
  readonly to: string
  readonly reason: SwitchReason
  /** What happened, in words (the unhealthy source's error, the admin, ...). */
  readonly detail: string
  /** ms since the epoch (the injected clock). */
  readonly at: number
}

/** One inner source in `status()`. */
export interface SourceStatus {
  readonly name: string
  /** 0 = highest. */
  readonly priority: number
  readonly state: SourceState
  /** Usable by the failover: `state === 'healthy'` (past any hold-down). */
  readonly healthy: boolean
  readonly active: boolean
  /** The latest reason it was unhealthy (kept after it recovers). */
  readonly lastError: string | null
  /** When it last gave new work (ms). */
  readonly lastWorkAt: number | null
  /** Since when it has been healthy without a break (ms), or null. */
  readonly healthySince: number | null
  /** Since when it has been unhealthy (ms), or null. */
  readonly unhealthySince: number | null
  /** What the source itself reports, when it can. */
  readonly health: SourceHealth | null
}

export interface FailoverStatus {
  readonly active: string | null
  /** The source forced by an operator, or null. */
  readonly forced: string | null
  /** No source is healthy: miners keep the last work. */
  readonly allUnhealthy: boolean
  readonly switches: number
  readonly lastSwitch: SwitchRecord | null
  /** Switch counts by (from, to, reason); `from` is `none` for the first choice. */
  readonly switchCounts: readonly { readonly from: string; readonly to: string; readonly reason: SwitchReason; readonly count: number }[]
  readonly sources: readonly SourceStatus[]
}

/** The answer to `switchTo`. */
export type SwitchToResult =
  | { readonly ok: true; readonly active: string | null; readonly forced: string | null }
  | { readonly ok: false; readonly error: 'unknown-source' | 'unhealthy'; readonly message: string }

/** First and longest wait before a failed `start()` is tried again (ms). */
const START_RETRY_MIN_MS = 1000
const START_RETRY_MAX_MS = 30_000

/** What the failover keeps about one inner source. */
interface Entry {
  readonly source: JobSource
  readonly priority: number
  state: SourceState
  startedAt: number
  starting: boolean
  startError: string | undefined
  nextStartAt: number
  startBackoffMs: number
  lastWorkAt: number | undefined
  lastError: string | undefined
  healthySince: number | undefined
  unhealthySince: number | undefined
  /** When a healthy source first failed a check (the grace runs from here). */
  failingSince: number | undefined
  unsubscribe: (() => void) | undefined
}

/** The verdict on one source at one moment. */
type RawHealth = { readonly ok: true } | { readonly ok: false; readonly starting: boolean; readonly reason: string }

export class FailoverSource implements JobSource {
  readonly name: string
  private readonly entries: readonly Entry[]
  private readonly byName = new Map<string, Entry>()
  private readonly listeners = new Set<WorkListener>()
  private readonly log: Logger
  private readonly clock: () => number
  private readonly allDownLogMs: number
  private active: Entry | undefined
  private latest: Work | undefined
  private forced: Entry | undefined
  private running = false
  private timer: NodeJS.Timeout | undefined
  private switches = 0
  private lastSwitch: SwitchRecord | null = null
  private readonly switchCounts = new Map<string, { from: string; to: string; reason: SwitchReason; count: number }>()
  private allDownSince: number | undefined
  private allDownLoggedAt = 0
  private evaluating = false

  constructor(private readonly options: FailoverOptions) {
    this.name = options.name ?? 'failover'
    this.log = options.log.child({ component: 'failover' })
    this.clock = options.clock ?? Date.now
    this.allDownLogMs = options.allDownLogMs ?? 60_000
    if (options.sources.length === 0) throw new RangeError('the failover source needs at least one source')
    this.entries = options.sources.map((source, priority) => ({
      source,
      priority,
      state: 'starting',
      startedAt: 0,
      starting: false,
      startError: undefined,
      nextStartAt: 0,
      startBackoffMs: START_RETRY_MIN_MS,
      lastWorkAt: undefined,
      lastError: undefined,
      healthySince: undefined,
      unhealthySince: undefined,
      failingSince: undefined,
      unsubscribe: undefined,
    }))
    for (const entry of this.entries) {
      const name = entry.source.name
      if (this.byName.has(name) || name === this.name) throw new RangeError(`source name ${JSON.stringify(name)} is used twice: blocks are routed by name`)
      this.byName.set(name, entry)
    }
  }

  /** The wrapped sources, in priority order. */
  get sources(): readonly JobSource[] {
    return this.entries.map((e) => e.source)
  }

  /** Starts every inner source (in the background) and the health checks; resolves at once. */
  async start(): Promise<void> {
    if (this.running) return
    this.running = true
    const now = this.clock()
    for (const entry of this.entries) {
      entry.startedAt = now
      entry.unsubscribe = entry.source.onWork((work) => this.onInnerWork(entry, work))
      this.startInner(entry)
    }
    this.timer = setInterval(() => this.check(), this.options.checkIntervalMs)
    this.timer.unref()
    this.check()
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    for (const entry of this.entries) {
      entry.unsubscribe?.()
      entry.unsubscribe = undefined
    }
    await Promise.all(
      this.entries.map((e) =>
        e.source.stop().catch((err: unknown) => {
          this.log.error({ err, source: e.source.name }, 'a source failed to stop')
        }),
      ),
    )
  }

  onWork(listener: WorkListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  current(): Work | undefined {
    return this.latest
  }

  /** Healthy while some source is healthy and serving. */
  health(): SourceHealth {
    const active = this.active
    const h = active?.source.health?.()
    return {
      healthy: active !== undefined && this.allDownSince === undefined,
      lastError: this.allDownSince !== undefined ? 'no healthy work source' : active === undefined ? undefined : active.lastError,
      lastTemplateAt: h?.lastTemplateAt ?? active?.lastWorkAt,
      height: this.latest?.height,
    }
  }

  /** To the source that made the block's work, whether or not it is still active. */
  async submitBlock(candidate: BlockCandidate): Promise<BlockSubmitResult> {
    const entry = this.byName.get(candidate.work.source)
    if (entry === undefined) return { accepted: false, reason: `no source named ${JSON.stringify(candidate.work.source)}` }
    try {
      return await entry.source.submitBlock(candidate)
    } catch (err) {
      return { accepted: false, reason: `submit failed: ${err instanceof Error ? err.message : String(err)}` }
    }
  }

  /** To the source that made the share's work; undefined when that source does not forward. */
  forwardShare(share: ForwardedShare): Promise<UpstreamShareResult> | undefined {
    const source = this.byName.get(share.work.source)?.source
    return source?.forwardShare?.(share)
  }

  /**
   * Forces `name` as the active source (an operator's choice) until cleared
   * with `null` or until it goes unhealthy. A source in its hold-down may be
   * forced; an unhealthy one may not.
   */
  switchTo(name: string | null): SwitchToResult {
    if (name === null) {
      if (this.forced !== undefined) this.log.warn({ source: this.forced.source.name }, 'forced source cleared by the operator: back to priority order')
      const wasForced = this.forced !== undefined
      this.forced = undefined
      this.evaluate(wasForced)
      return { ok: true, active: this.active?.source.name ?? null, forced: null }
    }
    const entry = this.byName.get(name)
    if (entry === undefined) return { ok: false, error: 'unknown-source', message: `no source named ${JSON.stringify(name)}; sources: ${[...this.byName.keys()].join(', ')}` }
    this.check()
    if (!this.usable(entry, true)) {
      return { ok: false, error: 'unhealthy', message: `source ${name} is not healthy (${entry.state}${entry.lastError === undefined ? '' : `: ${entry.lastError}`})` }
    }
    this.forced = entry
    this.log.warn({ source: name }, `source ${name} forced by the operator`)
    this.check()
    return { ok: true, active: this.active?.source.name ?? null, forced: name }
  }

  status(): FailoverStatus {
    return {
      active: this.active?.source.name ?? null,
      forced: this.forced?.source.name ?? null,
      allUnhealthy: this.allDownSince !== undefined,
      switches: this.switches,
      lastSwitch: this.lastSwitch,
      switchCounts: [...this.switchCounts.values()].map((c) => ({ ...c })),
      sources: this.entries.map((e) => ({
        name: e.source.name,
        priority: e.priority,
        state: e.state,
        healthy: e.state === 'healthy',
        active: e === this.active,
        lastError: e.lastError ?? null,
        lastWorkAt: e.lastWorkAt ?? null,
        healthySince: e.healthySince ?? null,
        unhealthySince: e.unhealthySince ?? null,
        health: e.source.health?.() ?? null,
      })),
    }
  }

  /** Re-judges every source and switches if needed (the check timer calls it; so can tests). */
  check(): void {
    this.evaluate(false)
  }

  private evaluate(cleared: boolean): void {
    if (!this.running || this.evaluating) return
    // A listener reacting to a switch may feed work back in: one evaluation at a time.
    this.evaluating = true
    try {
      const now = this.clock()
      for (const entry of this.entries) {
        if (entry.startError !== undefined && !entry.starting && now >= entry.nextStartAt) this.startInner(entry)
        this.judge(entry, now)
      }
      this.choose(now, cleared)
    } finally {
      this.evaluating = false
    }
  }

  private startInner(entry: Entry): void {
    entry.starting = true
    let started: Promise<void>
    try {
      started = entry.source.start()
    } catch (err) {
      started = Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
    started.then(
      () => {
        entry.starting = false
        if (entry.startError !== undefined) this.log.info({ source: entry.source.name }, `source ${entry.source.name} started after failing to`)
        entry.startError = undefined
        entry.startBackoffMs = START_RETRY_MIN_MS
        this.check()
      },
      (err: unknown) => {
        entry.starting = false
        const message = err instanceof Error ? err.message : String(err)
        if (message !== entry.startError) this.log.error({ err, source: entry.source.name }, `source ${entry.source.name} failed to start: ${message}`)
        entry.startError = message
        entry.nextStartAt = this.clock() + entry.startBackoffMs
        entry.startBackoffMs = Math.min(START_RETRY_MAX_MS, entry.startBackoffMs * 2)
        this.check()
      },
    )
  }

  private onInnerWork(entry: Entry, work: Work): void {
    if (!this.running) return
    entry.lastWorkAt = this.clock()
    if (entry === this.active) {
      this.latest = work
      this.emit(work)
    }
    // New work may make a source usable (its first work at start-up, say).
    this.check()
  }

  /** The source's health right now, before hold-down. */
  private rawHealth(entry: Entry, now: number): RawHealth {
    if (entry.startError !== undefined) return { ok: false, starting: false, reason: `start failed: ${entry.startError}` }
    const timeout = this.options.noWorkTimeoutMs
    const seconds = Math.round(timeout / 1000)
    const health = entry.source.health?.()
    const hasWork = entry.source.current() !== undefined
    if (health !== undefined && !health.healthy) {
      if (health.lastError !== undefined) return { ok: false, starting: false, reason: health.lastError }
      if (hasWork || entry.lastWorkAt !== undefined) return { ok: false, starting: false, reason: 'the source reports itself unhealthy' }
    }
    if (!hasWork) {
      if (now - entry.startedAt <= timeout && entry.lastWorkAt === undefined) return { ok: false, starting: true, reason: 'no work yet' }
      return { ok: false, starting: false, reason: `no work ${seconds} s after start` }
    }
    // Work the source already had when started counts as given at the start.
    const since = entry.lastWorkAt ?? entry.startedAt
    if (now - since > timeout) return { ok: false, starting: false, reason: `no new work for ${seconds} s` }
    return { ok: true }
  }

  /** Moves a source through starting → healthy ⇄ unhealthy → recovering → healthy. */
  private judge(entry: Entry, now: number): void {
    const raw = this.rawHealth(entry, now)
    const name = entry.source.name
    if (!raw.ok) {
      if (raw.starting && entry.state === 'starting') return
      const grace = this.options.failGraceMs ?? 0
      if (entry.state === 'healthy' && grace > 0 && !raw.starting) {
        entry.failingSince ??= now
        if (now - entry.failingSince < grace) return
      }
      entry.failingSince = undefined
      if (entry.state !== 'unhealthy') {
        entry.state = 'unhealthy'
        entry.unhealthySince = now
        entry.healthySince = undefined
        this.log.warn({ source: name, reason: raw.reason }, `source ${name} unhealthy: ${raw.reason}`)
      } else if (raw.reason !== entry.lastError) {
        this.log.warn({ source: name, reason: raw.reason }, `source ${name} still unhealthy: ${raw.reason}`)
      }
      entry.lastError = raw.reason
      return
    }
    entry.failingSince = undefined
    if (entry.state === 'starting') {
      // Never failed: usable at once (no hold-down at start-up).
      entry.state = 'healthy'
      entry.healthySince = now
      this.log.info({ source: name }, `source ${name} ready`)
    } else if (entry.state === 'unhealthy') {
      entry.state = 'recovering'
      entry.healthySince = now
      entry.unhealthySince = undefined
      this.log.info({ source: name, holdDownMs: this.options.holdDownMs }, `source ${name} healthy again; preferred again after the hold-down`)
    }
    if (entry.state === 'recovering' && now - (entry.healthySince ?? now) >= this.options.holdDownMs) {
      entry.state = 'healthy'
      this.log.info({ source: name }, `source ${name} stayed healthy through the hold-down`)
    }
  }

  /** Usable now: healthy (or, when `evenInHoldDown`, recovering) and holding work. */
  private usable(entry: Entry, evenInHoldDown = false): boolean {
    const ok = entry.state === 'healthy' || (evenInHoldDown && entry.state === 'recovering')
    return ok && entry.source.current() !== undefined
  }

  /** Picks the source miners should be on, and switches to it. `cleared`: the operator just cleared a forcing. */
  private choose(now: number, cleared = false): void {
    const active = this.active
    if (this.forced !== undefined && !this.usable(this.forced, true)) {
      this.log.warn({ source: this.forced.source.name, reason: this.forced.lastError }, `forced source ${this.forced.source.name} is unhealthy: forcing cleared`)
      this.forced = undefined
    }
    const best = this.entries.find((e) => this.usable(e))
    let target: Entry | undefined
    let reason: SwitchReason
    let detail: string
    if (this.forced !== undefined) {
      target = this.forced
      reason = 'manual'
      detail = 'forced by the operator'
    } else if (active !== undefined && this.usable(active, true)) {
      // A working source is left only for a better one past its hold-down.
      target = best !== undefined && best.priority < active.priority ? best : active
      reason = cleared ? 'manual' : 'failback'
      detail = cleared ? 'forcing cleared: back to priority order' : `${target.source.name} is healthy and preferred`
    } else {
      // The best source past its hold-down; else any that works, hold-down or not: better than none.
      target = best ?? this.entries.find((e) => this.usable(e, true))
      reason = active === undefined ? 'initial' : 'unhealthy'
      detail = active === undefined ? 'first source with work' : `${active.source.name} unhealthy: ${active.lastError ?? active.state}`
    }
    if (target === undefined) return this.allDown(now)
    if (this.allDownSince !== undefined) {
      this.log.warn({ source: target.source.name, downMs: now - this.allDownSince }, `work source ${target.source.name} usable again: miners get fresh work`)
      this.allDownSince = undefined
    }
    if (target !== active) this.switchActive(target, reason, detail, now)
  }

  private switchActive(target: Entry, reason: SwitchReason, detail: string, now: number): void {
    const from = this.active?.source.name ?? null
    const to = target.source.name
    this.active = target
    this.switches++
    this.lastSwitch = { from, to, reason, detail, at: now }
    const key = `${from ?? 'none'}\u0000${to}\u0000${reason}`
    const count = this.switchCounts.get(key)
    if (count === undefined) this.switchCounts.set(key, { from: from ?? 'none', to, reason, count: 1 })
    else count.count++
    const level = reason === 'initial' ? 'info' : 'warn'
    this.log[level]({ from, to, reason, detail, switches: this.switches }, `work source ${from ?? '(none)'} -> ${to}: ${detail}`)
    // Miners drop the old source's jobs at once (`usable` guarantees work).
    this.latest = { ...(target.source.current() as Work), cleanJobs: true }
    this.emit(this.latest)
  }

  /** No source is usable: keep what the miners have, and say so (once a minute). */
  private allDown(now: number): void {
    // Nothing to say while every source is still starting.
    if (this.entries.every((e) => e.state === 'starting')) return
    if (this.allDownSince === undefined) this.allDownSince = now
    else if (now - this.allDownLoggedAt < this.allDownLogMs) return
    this.allDownLoggedAt = now
    const reasons = Object.fromEntries(this.entries.map((e) => [e.source.name, e.lastError ?? e.state]))
    this.log.error(
      { downMs: now - this.allDownSince, active: this.active?.source.name ?? null, reasons },
      this.latest === undefined ? 'NO HEALTHY WORK SOURCE: miners have no work' : 'NO HEALTHY WORK SOURCE: miners keep hashing on the last work',
    )
  }

  private emit(work: Work): void {
    for (const listener of this.listeners) {
      try {
        listener(work)
      } catch (err) {
        this.log.error({ err }, 'a work listener threw')
      }
    }
  }
}
