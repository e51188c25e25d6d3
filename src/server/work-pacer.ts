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
 *
 * Work on a new previous block (its `prevHash` differs from the last work
 * sent) has a bucket of its own, with the same burst and interval: a new
 * block goes out at once even when template refreshes or an upstream's
 * frequent notifies used up the common bucket (every second of a stale tip
 * is wasted hashing), and a source that invents new blocks in a loop is
 * still held to the same pace. Either bucket's token sends it.
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

/** Tokens earned one per interval, up to the burst. */
class Bucket {
  private tokens: number
  private refilledAt: number

  constructor(
    private readonly pacing: WorkPacing,
    now: number,
  ) {
    this.tokens = pacing.burst
    this.refilledAt = now
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    this.refill(now)
    if (this.tokens < 1) return false
    this.tokens--
    return true
  }

  /** When the next token comes (ms clock). */
  nextAt(now: number): number {
    this.refill(now)
    return this.tokens >= 1 ? now : this.refilledAt + this.pacing.intervalMs
  }

  private refill(t: number): void {
    if (this.tokens >= this.pacing.burst) {
      this.refilledAt = t
      return
    }
    const earned = Math.floor((t - this.refilledAt) / this.pacing.intervalMs)
    if (earned <= 0) return
    this.tokens = Math.min(this.pacing.burst, this.tokens + earned)
    this.refilledAt = this.tokens >= this.pacing.burst ? t : this.refilledAt + earned * this.pacing.intervalMs
  }
}

export class WorkPacer {
  /** Every piece of work. */
  private readonly common: Bucket
  /** Work on a new previous block, when the common bucket is empty. */
  private readonly tips: Bucket
  /** The previous block of the last work sent. */
  private tip: Buffer | undefined
  private held: Work | undefined
  private timer: NodeJS.Timeout | undefined

  /**
   * @param counters `workDelayed`: work held before it was sent; `workSkipped`: work never sent, replaced while held
   * @param send broadcasts one piece of work now
   * @param limited told when work starts being held (each time the held slot fills), for a log line
   * @param now monotonic ms clock (real time: this paces I/O)
   */
  constructor(
    pacing: WorkPacing,
    private readonly counters: { workDelayed: number; workSkipped: number },
    private readonly send: (work: Work) => void,
    private readonly limited: (work: Work) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(pacing.burst) || pacing.burst < 1) throw new RangeError(`work pacing: burst must be an integer >= 1, got ${String(pacing.burst)}`)
    if (!(pacing.intervalMs > 0)) throw new RangeError(`work pacing: intervalMs must be > 0, got ${String(pacing.intervalMs)}`)
    this.common = new Bucket(pacing, this.now())
    this.tips = new Bucket(pacing, this.now())
  }

  /** Work held for the next token, if any. */
  get pending(): Work | undefined {
    return this.held
  }

  /** Sends `work` now if the bucket allows, else holds it (replacing held work). */
  offer(work: Work): void {
    const newTip = this.isNewTip(work)
    // Held work goes first, unless this piece is on a new block (and so replaces it).
    if ((this.held === undefined || newTip) && this.takeToken(newTip)) {
      const latest = this.replaceHeld(work)
      this.clear()
      this.dispatch(latest)
      return
    }
    if (this.held === undefined) {
      this.counters.workDelayed++
      this.limited(work)
    }
    this.held = this.replaceHeld(work)
    this.schedule()
  }

  /** Sends `work` at once, outside the pacing (a newly attached source's current work); later work is paced against it. */
  sendNow(work: Work): void {
    this.dispatch(work)
  }

  /** Drops held work and the timer (the server switched sources, or is closing). */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.held = undefined
  }

  /** Whether `work` is on another previous block than the last work sent. */
  private isNewTip(work: Work): boolean {
    return this.tip === undefined || !this.tip.equals(work.prevHash)
  }

  /** A token from the common bucket, or for a new block from the tips' bucket. */
  private takeToken(newTip: boolean): boolean {
    const now = this.now()
    return this.common.take(now) || (newTip && this.tips.take(now))
  }

  /** `work` in place of the held piece (counted as skipped), clean if the held one was. */
  private replaceHeld(work: Work): Work {
    const held = this.held
    if (held === undefined) return work
    this.counters.workSkipped++
    return held.cleanJobs && !work.cleanJobs ? { ...work, cleanJobs: true } : work
  }

  private dispatch(work: Work): void {
    this.tip = work.prevHash
    this.send(work)
  }

  private schedule(): void {
    const held = this.held
    if (this.timer !== undefined || held === undefined) return
    const now = this.now()
    const at = this.isNewTip(held) ? Math.min(this.common.nextAt(now), this.tips.nextAt(now)) : this.common.nextAt(now)
    this.timer = setTimeout(() => {
      this.timer = undefined
      const work = this.held
      if (work === undefined) return
      if (!this.takeToken(this.isNewTip(work))) return this.schedule()
      this.held = undefined
      this.dispatch(work)
    }, Math.max(0, at - now))
  }
}
