/**
 * Per-session variable difficulty: keeps one miner near one share every
 * `targetInterval` seconds, whatever its hashrate (1 MH/s CPU to 1 PH/s).
 *
 * Pure and clock-free: every call takes `now` (ms) from the session; no
 * timers, no I/O, so tests drive it with simulated time.
 *
 * How it decides (docs/vardiff.md has the reasoning and measured numbers):
 *
 * - Estimate: the miner's work rate from its shares, as a count over an
 *   exposure that knows the difficulty of every second (`ShareRate`),
 *   fading with tau = 10 windows like ckpool's decaying vardiff.
 * - Change only when the estimated interval is outside the band
 *   (`variance`) AND the share count is off target by z >= 2 (Poisson).
 *   The band keeps a steady miner still; the z-test keeps the few shares
 *   of a young estimate from moving it on noise.
 * - Pace: at most one change per window (`retargetInterval`), unless the
 *   whole 2-sigma interval of the rate is beyond 2x or 1/2 of the target:
 *   then at once. So a miner far too fast is retargeted after
 *   `retargetShares` shares, within a fraction of the window.
 * - Asymmetric landing: an upward move lands on the rate's 1-sigma lower
 *   bound. A difficulty too low is seen within seconds (shares pour in); one
 *   too high takes minutes to see, so erring low converges faster.
 * - Keep evidence across changes (the hashrate did not change, only the
 *   difficulty), at most 16 shares' worth: enough to stop the first shares
 *   after a change from moving it again on noise, little enough to follow
 *   a real change.
 * - Step test: at the end of each window, and on each share once the
 *   window holds `retargetShares`, a window whose count is implausible under
 *   the estimate (z >= 4.5) means the hashrate stepped (stopped, came back,
 *   lost a board): the estimate restarts from that window alone.
 * - Blind start: a session that has sent fewer than 3 shares has told us
 *   nothing; after 2 target intervals without a share its difficulty is
 *   divided by 8. Overshooting downwards is cheap (the flood that follows is
 *   measured in seconds).
 * - A miner gone silent is lowered no faster than its whole-session
 *   estimate fades (e-fold per tau), so it is not chased down to the
 *   minimum and does not flood when it returns.
 *
 * Values are clamped to `[floor, maxDifficulty]` (the floor is
 * `minDifficulty` raised by a miner's suggestion) and rounded to three
 * significant figures (`niceDifficulty`).
 */
import { resolveVardiffOptions, type VardiffOptions } from './options.js'
import { highZ, lowZ } from './poisson.js'
import { clamp, niceDifficulty } from './rounding.js'
import { ShareRate } from './share-rate.js'

/** Memory of the estimates, in windows (tau). 10 windows of 90 s hold ~360 shares at the target: a +-5 % estimate. */
const DECAY_WINDOWS = 10
/** z-score of "off target" a change needs (one-sided ~2.3 %). */
const SIGNIFICANCE = 2
/** Sigmas below the estimate an upward move lands on. */
const CAUTION = 1
/** A rate whose whole 2-sigma interval is beyond this factor from the target is acted on at once, not once a window. */
const FAR = 2
/** The fewest shares a downward move to the estimate rests on; with fewer, a miner counts as silent. */
const SLOW_SHARES = 3
/** Shares' worth of evidence kept across a change. */
const KEPT_SHARES = 16
/** z-score at which a window's count says the hashrate stepped (one-sided ~3e-6 per test). */
const STEP_SIGNIFICANCE = 4.5
/** Blind start: probe downwards until the session has sent this many shares... */
const PROBE_SHARES = 3
/** ...after this many target intervals without a share... */
const PROBE_INTERVALS = 2
/** ...by this factor. */
const PROBE_FACTOR = 8

/** 2^32: hashes per difficulty-1 share. */
const HASHES_PER_SHARE = 4294967296

/**
 * One session's difficulty controller. Each call returns the new difficulty
 * when it changed (the session sends `mining.set_difficulty` and a fresh
 * job), else `undefined`.
 *
 * @example
 * const vardiff = new Vardiff({ minDifficulty: 512 }, Date.now())
 * // every accepted share, with the difficulty its job was sent at:
 * session.apply(vardiff.recordShare(Date.now(), shareDifficulty))
 * // from the server's periodic timer (every 1-5 s):
 * session.apply(vardiff.tick(Date.now()))
 */
export class Vardiff {
  /** The validated, frozen options this session runs with. */
  readonly options: Readonly<VardiffOptions>
  #difficulty: number
  #floor: number
  /** The basis of every decision: evidence since the last change (at most `KEPT_SHARES` carried over), fading with tau. */
  readonly #rate: ShareRate
  /** The whole session, fading with tau: hashrate stats, and how far a silent miner may be lowered. */
  readonly #session: ShareRate
  /**
   * The current window only (since the last window end or change), for the
   * step test: its share count and exposure without decay. These are the
   * numbers a `ShareRate` with `tau = Infinity` would hold (its second
   * exposure is always equal to the first), kept as two fields: a ShareRate
   * object costs a session ~130 bytes with its heap numbers
   * (docs/benchmarks.md, sessions).
   */
  #windowCount = 0
  #windowExposure = 0
  #windowStart: number
  #lastChange: number
  #lastShare: number
  /** Latest `now` seen: a clock that steps back is held, not followed. */
  #now: number
  /** Shares recorded since the session started. */
  #shares = 0
  readonly #windowMs: number
  readonly #probeMs: number

  /**
   * @param options overrides of `defaultVardiffOptions`, validated here
   *   (`ConfigError` `HF_CONFIG_INVALID` listing every problem)
   * @param now ms: when the session starts (its first job is sent)
   */
  constructor(options: Partial<VardiffOptions>, now: number) {
    this.options = resolveVardiffOptions(options)
    if (!Number.isFinite(now)) throw new RangeError(`Vardiff: now must be a finite number of ms, got ${now}`)
    const o = this.options
    this.#difficulty = o.fixedDifficulty ?? o.startDifficulty
    this.#floor = o.minDifficulty
    const tau = DECAY_WINDOWS * o.retargetInterval
    this.#rate = new ShareRate(tau, now)
    this.#session = new ShareRate(tau, now)
    this.#windowStart = now
    this.#lastChange = now
    this.#lastShare = now
    this.#now = now
    this.#windowMs = o.retargetInterval * 1000
    this.#probeMs = PROBE_INTERVALS * o.targetInterval * 1000
  }

  /** The difficulty in force: send it with the session's first job. */
  get difficulty(): number {
    return this.#difficulty
  }

  /** The lowest difficulty vardiff may assign now: `minDifficulty`, raised by the miner's suggestion. */
  get floor(): number {
    return this.#floor
  }

  /** True when `fixedDifficulty` is set: vardiff off for this session. */
  get fixed(): boolean {
    return this.options.fixedDifficulty !== undefined
  }

  /**
   * An accepted share (a stale one too: it was real work) found at
   * `difficulty`, the difficulty in force when its job was sent to this
   * session. Shares below their difficulty must not be recorded. A
   * difficulty that is not a positive finite number carries no work and is
   * ignored, as is a `now` that is not finite.
   */
  recordShare(now: number, difficulty: number): number | undefined {
    const t = this.#advance(now)
    if (t === undefined || !(difficulty > 0 && Number.isFinite(difficulty))) return undefined
    // The first share after a whole window of silence: the miner stopped
    // and is back. The silence has already been acted on (see #decide); as
    // exposure it would make the returning shares look like a slow miner.
    if (this.#shares >= PROBE_SHARES && t - this.#lastShare > this.#windowMs) {
      this.#rate.reset(t)
      this.#resetWindow(t)
    }
    // In units of the difficulty in force: a share of an older job counts
    // what it was worth (cgminer applies a new difficulty from the next job).
    const weight = difficulty / this.#difficulty
    this.#rate.add(weight)
    this.#session.add(weight)
    this.#windowCount += weight
    this.#shares++
    this.#lastShare = t
    return this.#decide(t)
  }

  /**
   * The periodic check without a share; call it from a timer every 1-5 s.
   * It is how a silent or far too slow miner gets a lower difficulty.
   */
  tick(now: number): number | undefined {
    const t = this.#advance(now)
    return t === undefined ? undefined : this.#decide(t)
  }

  /**
   * A miner's `mining.suggest_difficulty` (or BIP 310 `minimum-difficulty`):
   * a floor, clamped to `[minDifficulty, maxDifficulty]`. The difficulty is
   * raised to the floor if below it; before the first share it is set to
   * the floor outright (the miner knows its hashrate better than our start
   * difficulty does). A fixed difficulty is only ever raised. Ignored when
   * the value is not a positive finite number.
   *
   * The floor stays until the next suggestion, so this is also how a share
   * flood limiter raises a miner's difficulty (`suggest(difficulty * 4)`).
   */
  suggest(difficulty: number, now: number): number | undefined {
    const t = this.#advance(now)
    if (t === undefined || !(difficulty > 0 && Number.isFinite(difficulty))) return undefined
    this.#floor = clamp(difficulty, this.options.minDifficulty, this.options.maxDifficulty)
    // A fixed difficulty may sit outside [min, max]: only a suggestion above it counts.
    if (this.fixed) return difficulty > this.#difficulty ? this.#set(t, Math.max(this.#difficulty, this.#floor)) : undefined
    return this.#set(t, this.#shares > 0 ? Math.max(this.#difficulty, this.#floor) : this.#floor)
  }

  /** Estimated hashrate in hash/s, fading over ~10 windows; 0 before the first share. */
  estimatedHashrate(now: number): number {
    this.#advance(now)
    return this.#session.workRate * HASHES_PER_SHARE
  }

  /** Moves every estimate to `now`; undefined when `now` is not finite. */
  #advance(now: number): number | undefined {
    if (!Number.isFinite(now)) return undefined
    const t = Math.max(now, this.#now)
    // The window's exposure accrues like a ShareRate's without decay (all
    // three estimates stand at `#now`).
    const dt = (t - this.#now) / 1000
    if (dt > 0) this.#windowExposure += dt / this.#difficulty
    this.#now = t
    this.#rate.advance(t, this.#difficulty)
    this.#session.advance(t, this.#difficulty)
    return t
  }

  #decide(t: number): number | undefined {
    if (this.fixed) return undefined
    if (t - this.#windowStart >= this.#windowMs) this.#endWindow(t)
    else if (this.#windowCount >= this.options.retargetShares) this.#stepTest(t)
    // Blind start: silence is all there is to go by.
    if (this.#shares < PROBE_SHARES) {
      if (t - Math.max(this.#lastChange, this.#lastShare) >= this.#probeMs) return this.#change(t, this.#difficulty / PROBE_FACTOR)
      if (this.#rate.count === 0) return undefined
    }
    const o = this.options
    const { count, expected } = this.#rate.evidence(this.#difficulty, o.targetInterval)
    if (!(expected > 0)) return undefined
    // q = ideal / current difficulty (how many times too fast), with its
    // Poisson confidence bounds at SIGNIFICANCE sigmas.
    const q = count / expected
    const low = lowerBound(count, SIGNIFICANCE) / expected
    const high = upperBound(count, SIGNIFICANCE) / expected
    const paced = t - this.#lastChange >= this.#windowMs
    if (q > 1 / (1 - o.variance) && low > 1 && count >= o.retargetShares && (paced || low > FAR)) {
      return this.#change(t, Math.max(1, lowerBound(count, CAUTION) / expected) * this.#difficulty)
    }
    if (q < 1 / (1 + o.variance) && high < 1 && (paced || high < 1 / FAR)) {
      if (count >= SLOW_SHARES) return this.#change(t, q * this.#difficulty)
      // (Nearly) silent: a rate from one or two shares over a long silence
      // says "stopped", not "how fast". Lower no faster than the session's
      // fading estimate, and at most one probe step at a time.
      const sessionQ = (this.#session.workRate * o.targetInterval) / this.#difficulty
      const next = Math.max(sessionQ, 1 / PROBE_FACTOR)
      return next < 1 / (1 + o.variance) ? this.#change(t, next * this.#difficulty) : undefined
    }
    return undefined
  }

  /** A window is over: test it for a step, then start the next one. */
  #endWindow(t: number): void {
    this.#stepTest(t)
    this.#resetWindow(t)
  }

  /** A new window starts at `t`. */
  #resetWindow(t: number): void {
    this.#windowCount = 0
    this.#windowExposure = 0
    this.#windowStart = t
  }

  /**
   * If the current window's share count is implausible under the estimate
   * (z >= STEP_SIGNIFICANCE), the hashrate stepped (stopped, came back,
   * lost a board): the estimate restarts from this window alone instead of
   * fading over tau, and a new window begins.
   */
  #stepTest(t: number): void {
    const rate = this.#rate.workRate
    if (!(rate > 0)) return
    const n = this.#windowCount
    const e = this.#windowExposure * rate
    if (lowZ(n, e) < STEP_SIGNIFICANCE && highZ(n, e) < STEP_SIGNIFICANCE) return
    this.#rate.restart(n, this.#windowExposure, t)
    this.#resetWindow(t)
  }

  /** Retargets to `wanted`, rounded and clamped. */
  #change(t: number, wanted: number): number | undefined {
    return this.#set(t, clamp(niceDifficulty(wanted), this.#floor, this.options.maxDifficulty))
  }

  #set(t: number, next: number): number | undefined {
    if (next === this.#difficulty) return undefined
    this.#difficulty = next
    this.#lastChange = t
    this.#rate.limit(KEPT_SHARES)
    this.#resetWindow(t)
    return next
  }
}

/** Poisson lower confidence bound of a count `k` at `z` sigmas (variance-stabilised: (sqrt(k) - z/2)^2). */
function lowerBound(k: number, z: number): number {
  return Math.max(0, Math.sqrt(k) - z / 2) ** 2
}

/** Poisson upper confidence bound of a count `k` at `z` sigmas ((sqrt(k + 1) + z/2)^2, finite at k = 0). */
function upperBound(k: number, z: number): number {
  return (Math.sqrt(k + 1) + z / 2) ** 2
}
