/**
 * A miner's work rate estimated from its shares, with old evidence fading.
 *
 * A miner hashing H hash/s finds shares of difficulty d at rate
 * `H / (d * 2^32)` per second. With the difficulty changing over time, the
 * maximum-likelihood estimate of the work rate `r = H / 2^32` is
 *
 *     r = (number of shares) / (integral of dt / d(t))
 *
 * i.e. a share count divided by an "exposure" that knows at which
 * difficulty every second was mined. Unlike the plain sum-of-difficulty
 * over time, this keeps the statistical weight of the many cheap shares a
 * miner sent before its difficulty went up: 20 shares found in 0.1 s at
 * difficulty 1024 say as much about the hashrate as 20 shares found in
 * 200 s at difficulty 2 million.
 *
 * Both sums decay exponentially with time constant `tau`, like ckpool's
 * decaying "diff shares per second" (`decay_time` in ckpool's stratifier):
 * evidence older than a few tau no longer matters, so a miner that slows
 * down or stops is seen to. `tau = Infinity` keeps everything (a plain
 * window).
 *
 * Counts are "shares at the difficulty in force": a share found at an older
 * difficulty (its job predates a change) counts `its difficulty / current`.
 */
export class ShareRate {
  /** Decayed count of shares, each weighted `share difficulty / difficulty in force`. */
  #count = 0
  /** Decayed integral of dt / d(t), seconds per difficulty unit. */
  #exposure = 0
  /** The exposure decayed twice as fast: under a Poisson law the count's variance is `exposure2 * rate`. */
  #exposure2 = 0
  /** Time (ms) the sums are decayed to. */
  #at: number
  readonly #tau: number

  /**
   * @param tau decay time constant in seconds (`Infinity`: no decay)
   * @param now start of observation, ms
   */
  constructor(tau: number, now: number) {
    this.#tau = tau
    this.#at = now
  }

  /**
   * Moves to `now`, accruing exposure at `difficulty` (the difficulty in
   * force since the last call). A clock that went backwards accrues nothing.
   */
  advance(now: number, difficulty: number): void {
    const dt = (now - this.#at) / 1000
    if (!(dt > 0)) return
    this.#at = now
    if (this.#tau === Infinity) {
      this.#exposure += dt / difficulty
      this.#exposure2 += dt / difficulty
      return
    }
    const keep = Math.exp(-dt / this.#tau)
    // Integral over the last dt seconds of e^(-age/tau) ds = tau (1 - keep).
    const fresh = this.#tau * (1 - keep)
    this.#count *= keep
    this.#exposure = this.#exposure * keep + fresh / difficulty
    this.#exposure2 = this.#exposure2 * keep * keep + (this.#tau / 2) * (1 - keep * keep) / difficulty
  }

  /** One share, weighted `shareDifficulty / difficulty in force` (call `advance` first). */
  add(weight: number): void {
    this.#count += weight
  }

  /** Replaces this estimate by `other`'s evidence (same clock position), e.g. after a step change. */
  copyFrom(other: ShareRate): void {
    this.#count = other.#count
    this.#exposure = other.#exposure
    this.#exposure2 = other.#exposure2
    this.#at = other.#at
  }

  /**
   * Replaces this estimate by the evidence of a window without decay:
   * `count` shares over `exposure` (both exposures are that one sum), at
   * `now`. The same as `copyFrom` a `ShareRate(Infinity)` holding them.
   */
  restart(count: number, exposure: number, now: number): void {
    this.#count = count
    this.#exposure = exposure
    this.#exposure2 = exposure
    this.#at = now
  }

  /**
   * Keeps at most `shares` shares' worth of evidence: count and exposures
   * scale down together, so the rate estimate is unchanged and only its
   * weight (confidence) shrinks.
   */
  limit(shares: number): void {
    if (!(this.#count > shares)) return
    const f = shares / this.#count
    this.#count = shares
    this.#exposure *= f
    this.#exposure2 *= f
  }

  /** Forgets everything; observation restarts at `now`. */
  reset(now: number): void {
    this.#count = 0
    this.#exposure = 0
    this.#exposure2 = 0
    this.#at = now
  }

  /** Weighted share count (decayed). */
  get count(): number {
    return this.#count
  }

  /**
   * Poisson-equivalent evidence for a test against "on target at
   * `difficulty`": the decayed count has a smaller variance than a plain
   * count of the same mean (old shares weigh less), so both the count and
   * its expectation are scaled by mean / variance before a Poisson test
   * (a scale of 1 without decay). `expected` is the count a miner exactly on
   * a `targetInterval`-second target at `difficulty` would have produced.
   */
  evidence(difficulty: number, targetInterval: number): { count: number; expected: number } {
    if (!(this.#exposure2 > 0)) return { count: this.#count, expected: 0 }
    const scale = this.#exposure / this.#exposure2
    return { count: this.#count * scale, expected: (this.#exposure * scale * difficulty) / targetInterval }
  }

  /** Shares this estimate's observation time would hold at `workRate` (difficulty-1 shares per second). */
  expectedAtRate(workRate: number): number {
    return this.#exposure * workRate
  }

  /** Work rate in difficulty-1 shares per second (`hashrate / 2^32`); 0 before any exposure. */
  get workRate(): number {
    return this.#exposure > 0 ? this.#count / this.#exposure : 0
  }
}
