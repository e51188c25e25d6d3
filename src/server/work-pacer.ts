/**
 * Paces new work to the miners.
 *
 * Every piece of work a source hands the server becomes a job and a
 * `mining.notify` to every authorized session: about 9 µs a session on the
 * 2-core VM, 90 ms of the event loop for 10,000 sessions
 * (docs/benchmarks.md). A source that sends work in a loop (an upstream
 * pool that is broken or hostile, sending `mining.notify` as fast as it
 * can) would keep the pool fanning out, every share answer waiting behind
 * it, and the miners dropping and restarting work. Real sources send work
 * every few seconds at most: a block, then a refresh of the template or the
 * upstream's job.
 *
 * A token bucket: up to `burst` pieces go out at once, then one per
 * `intervalMs`. Work over that is held, and only the latest held piece is
 * sent when the next token comes, with `cleanJobs` if any piece it replaced
 * had it (a clean job tells miners to drop older work; losing that flag
 * would keep them on work the pool will reject as stale). Work replaced
 * while held is never sent: no miner had it, so no share can name it.
 */
import type { Work } from '../jobs/work.js'

export interface WorkPacing {
  /** Pieces of work sent at once before pacing starts. */
  readonly burst: number
  /** Then one piece per this many ms. */
  readonly intervalMs: number
}

/** Four at once (a block, its fuller template, a failover switch and one more), then one a second. */
export const DEFAULT_WORK_PACING: WorkPacing = { burst: 4, intervalMs: 1000 }

export class WorkPacer {
  private tokens: number
  private refilledAt: number
  private held: Work | undefined
  private timer: NodeJS.Timeout | undefined

  /**
   * @param counters `workDelayed`: work held before it was sent; `workSkipped`: work never sent, replaced while held
   * @param send broadcasts one piece of work now
   * @param limited told when work starts being held (each time the held slot fills), for a log line
   * @param now monotonic ms clock (real time: this paces I/O)
   */
  constructor(
    private readonly pacing: WorkPacing,
    private readonly counters: { workDelayed: number; workSkipped: number },
    private readonly send: (work: Work) => void,
    private readonly limited: (work: Work) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(pacing.burst) || pacing.burst < 1) throw new RangeError(`work pacing: burst must be an integer >= 1, got ${String(pacing.burst)}`)
    if (!(pacing.intervalMs > 0)) throw new RangeError(`work pacing: intervalMs must be > 0, got ${String(pacing.intervalMs)}`)
    this.tokens = pacing.burst
    this.refilledAt = this.now()
  }

  /** Work held for the next token, if any. */
  get pending(): Work | undefined {
    return this.held
  }

  /** Sends `work` now if the bucket allows, else holds it (replacing held work). */
  offer(work: Work): void {
    this.refill()
    if (this.held === undefined && this.tokens >= 1) {
      this.tokens--
      this.send(work)
      return
    }
    if (this.held === undefined) {
      this.counters.workDelayed++
      this.held = work
      this.limited(work)
    } else {
      this.counters.workSkipped++
      this.held = this.held.cleanJobs && !work.cleanJobs ? { ...work, cleanJobs: true } : work
    }
    this.schedule()
  }

  /** Drops held work and the timer (the server switched sources, or is closing). */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.held = undefined
  }

  private refill(): void {
    const t = this.now()
    if (this.tokens >= this.pacing.burst) {
      this.refilledAt = t
      return
    }
    const earned = Math.floor((t - this.refilledAt) / this.pacing.intervalMs)
    if (earned <= 0) return
    this.tokens = Math.min(this.pacing.burst, this.tokens + earned)
    this.refilledAt = this.tokens >= this.pacing.burst ? t : this.refilledAt + earned * this.pacing.intervalMs
  }

  private schedule(): void {
    if (this.timer !== undefined) return
    const wait = Math.max(0, this.refilledAt + this.pacing.intervalMs - this.now())
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.refill()
      const work = this.held
      if (work === undefined) return
      if (this.tokens < 1) return this.schedule()
      this.tokens--
      this.held = undefined
      this.send(work)
    }, wait)
  }
}
