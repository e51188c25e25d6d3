/**
 * Per-session submit limits: the rate of submits, and the share of them
 * that are rejected.
 *
 * - Rate: submits are counted over 10-second windows. A session above
 *   `max_submits_per_second` first gets its difficulty raised (a miner on
 *   a difficulty far too low for it); a session still above the limit with
 *   its difficulty at the maximum is flooding: ban.
 * - Invalid ratio: over the last `invalid_window` submits, a share of
 *   rejects above `max_invalid_ratio` is a broken or hostile client: ban.
 *   Stale shares after a block change are a few, never 90%.
 */

export interface SubmitLimitConfig {
  readonly max_submits_per_second: number
  readonly max_invalid_ratio: number
  readonly invalid_window: number
}

export type SubmitVerdict = 'ok' | 'too-fast' | 'too-many-invalid'

/** The window the submit rate is averaged over (ms). */
export const RATE_WINDOW_MS = 10_000

export class SubmitLimiter {
  private windowStart: number
  private windowCount = 0
  private readonly recent: Uint8Array
  private recentAt = 0
  private recentFilled = 0
  private recentInvalid = 0

  constructor(
    private readonly limits: SubmitLimitConfig,
    now: number,
  ) {
    this.windowStart = now
    // From Node's shared buffer pool (windows up to 4 KiB): a Uint8Array of
    // its own costs an ArrayBuffer and a native backing store, about 270
    // bytes more per session (docs/benchmarks.md, sessions).
    this.recent = Buffer.allocUnsafe(limits.invalid_window).fill(0)
  }

  /** Counts one submit; says whether a limit was crossed. */
  observe(accepted: boolean, now: number): SubmitVerdict {
    const invalid = accepted ? 0 : 1
    const size = this.recent.length
    if (this.recentFilled === size) this.recentInvalid -= this.recent[this.recentAt] as number
    else this.recentFilled++
    this.recent[this.recentAt] = invalid
    this.recentInvalid += invalid
    this.recentAt = (this.recentAt + 1) % size
    if (this.recentFilled === size && this.recentInvalid / size > this.limits.max_invalid_ratio) return 'too-many-invalid'

    if (now - this.windowStart >= RATE_WINDOW_MS) {
      this.windowStart = now
      this.windowCount = 0
    }
    this.windowCount++
    // Decide as soon as the window's budget is spent, not at its end: a
    // flood is stopped within the window.
    if (this.windowCount > this.limits.max_submits_per_second * (RATE_WINDOW_MS / 1000)) {
      this.windowStart = now
      this.windowCount = 0
      return 'too-fast'
    }
    return 'ok'
  }
}
