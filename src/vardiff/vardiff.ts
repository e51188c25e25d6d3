/**
 * Per-session variable difficulty: keeps one miner near one share every
 * `targetInterval` seconds, whatever its hashrate (1 MH/s CPU to 1 PH/s).
 *
 * Pure and clock-free: every call takes `now` (ms) from the session, there
 * are no timers and no I/O, so tests drive it with simulated time.
 *
 * The algorithm (docs/vardiff.md has the derivation and the measured numbers):
 *
 * 1. Estimate. `ShareRate` keeps a time-decayed maximum-likelihood estimate
 *    of the miner's work rate (tau = 10 windows), as ckpool's decaying
 *    vardiff does; it is not reset when the difficulty changes (the
 *    hashrate did not change), so the estimate keeps getting more precise.
 * 2. Regular check, once per window (`retargetInterval`): change only when
 *    the estimated interval is outside the dead band (`variance`) AND the
 *    share count is significantly off target (Poisson, z >= 2). The band
 *    keeps a steady miner still; the significance test stops the first
 *    windows of a session (few shares, large noise) from moving it on noise.
 *    The new difficulty is the estimate itself, so one change lands.
 * 3. Too fast: a window ends early once `retargetShares` shares arrived in
 *    it. Such a burst is a new regime (start-up, a step up in hashrate), so
 *    older, slower evidence is dropped and the window's rate alone is used.
 * 4. Too slow before the first share: a session that has never sent a share
 *    gives no rate to estimate, only silence. The difficulty is divided by 8
 *    after every two target intervals of silence (overshooting downwards is
 *    cheap: the flood that follows ends a window early within seconds).
 *    After that, silence simply lowers the decayed estimate and the regular
 *    check lowers the difficulty.
 *
 * Values are clamped to `[floor, maxDifficulty]`, where the floor is
 * `minDifficulty` raised by a miner's suggestion, and rounded to three
 * significant figures (`niceDifficulty`).
 */
import { resolveVardiffOptions, type VardiffOptions } from './options.js'
import { clamp, niceDifficulty } from './rounding.js'
import { ShareRate } from './share-rate.js'

/**
 * Decay time constant of the rate estimate, in windows. Ten windows (10 min
 * by default) hold ~2 * 600 / 10 = 120 shares' worth of evidence at the
 * target: a +-9 % estimate, so noise alone almost never leaves a +-30 % band,
 * while a stopped miner is seen within a few windows.
 */
export const TUNING = {
  DECAY_WINDOWS: 10,
  Z: 1,
  LAND_Z: 1,
  PROBE_INTERVALS: 2,
  PROBE_FACTOR: 8,
  PROBE_SHARES: 3,
  MIN_FAST: 8,
  EXTREME: 4,
  PACE: 1,
  GATE_ONE: 1,
  EXT_MLE: 0,
}
/** 2^32: hashes per difficulty-1 share. */
const HASHES_PER_SHARE = 4294967296

/**
 * One session's difficulty controller. Each method returns the new
 * difficulty when it changed (send `mining.set_difficulty` and a fresh job),
 * else `undefined`.
 *
 * @example
 * const vardiff = new Vardiff({ targetInterval: 10 }, Date.now())
 * // every accepted share, with the difficulty its job was sent at:
 * const changed = vardiff.recordShare(Date.now(), shareDifficulty)
 * // from the server's periodic timer (every 1-5 s):
 * const changed2 = vardiff.tick(Date.now())
 */
export class Vardiff {
  /** The validated, frozen options this session runs with. */
  readonly options: Readonly<VardiffOptions>
  #difficulty: number
  #floor: number
  /** Shares since the last change, fading with tau: the basis of every decision. */
  readonly #recent: ShareRate
  /** Whole-session estimate, fading with tau: stats, and the bound on lowering a silent miner. */
  readonly #stats: ShareRate
  #lastChange: number
  #lastShare: number
  /** Latest `now` seen: a clock that steps back is held, not followed. */
  #now: number
  /** Shares recorded since the session started. */
  #shares = 0
  readonly #windowMs: number
  readonly #probeMs: number

  /**
   * @param options overrides of `defaultVardiffOptions`; validated here
   *   (throws `ConfigError` `HF_CONFIG_INVALID` listing every problem)
   * @param now ms: when the session starts (its first job is sent)
   */
  constructor(options: Partial<VardiffOptions>, now: number) {
    this.options = resolveVardiffOptions(options)
    if (!Number.isFinite(now)) throw new RangeError(`Vardiff: now must be a finite number of ms, got ${now}`)
    const o = this.options
    this.#difficulty = o.fixedDifficulty ?? o.startDifficulty
    this.#floor = o.minDifficulty
    const tau = TUNING.DECAY_WINDOWS * o.retargetInterval
    this.#recent = new ShareRate(tau, now)
    this.#stats = new ShareRate(tau, now)
    this.#lastChange = now
    this.#lastShare = now
    this.#now = now
    this.#windowMs = o.retargetInterval * 1000
    this.#probeMs = TUNING.PROBE_INTERVALS * o.targetInterval * 1000
  }

  /** The difficulty in force: send it with the session's first job. */
  get difficulty(): number {
    return this.#difficulty
  }

  /** The lowest difficulty vardiff may assign now: `minDifficulty` raised by the miner's suggestion. */
  get floor(): number {
    return this.#floor
  }

  /** True when the difficulty is fixed (`fixedDifficulty` set): vardiff off. */
  get fixed(): boolean {
    return this.options.fixedDifficulty !== undefined
  }

  /**
   * An accepted share (also a stale one: it was real work) found at
   * `difficulty`, the difficulty in force when its job was sent to this
   * session. Shares that did not meet their difficulty must not be recorded.
   * A non-positive or non-finite difficulty carries no work and is ignored.
   */
  recordShare(now: number, difficulty: number): number | undefined {
    const t = this.#advance(now)
    if (t === undefined || !(difficulty > 0 && Number.isFinite(difficulty))) return undefined
    const weight = difficulty / this.#difficulty
    this.#recent.add(weight)
    this.#stats.add(weight)
    this.#shares++
    this.#lastShare = t
    return this.#check(t)
  }

  /**
   * The periodic check without a share: call it from a timer every few
   * seconds (1-5 s; anything well under `retargetInterval`). This is how a
   * silent or far too slow miner gets a lower difficulty.
   */
  tick(now: number): number | undefined {
    const t = this.#advance(now)
    return t === undefined ? undefined : this.#check(t)
  }

  /**
   * A miner's `mining.suggest_difficulty` (or BIP 310 `minimum-difficulty`):
   * a floor, clamped to `[minDifficulty, maxDifficulty]`. The difficulty is
   * raised to the floor when below it; before the first share it is set to
   * the floor outright (the miner knows its hashrate better than our start
   * difficulty does). Ignored when the difficulty is fixed or the value is
   * not a positive finite number.
   */
  suggest(difficulty: number, now: number): number | undefined {
    const t = this.#advance(now)
    if (t === undefined || this.fixed || !(difficulty > 0 && Number.isFinite(difficulty))) return undefined
    this.#floor = clamp(difficulty, this.options.minDifficulty, this.options.maxDifficulty)
    return this.#set(t, this.#shares > 0 ? Math.max(this.#difficulty, this.#floor) : this.#floor)
  }

  /** Estimated hashrate in hash/s (time-decayed over ~10 windows); 0 before the first share. */
  estimatedHashrate(now: number): number {
    this.#advance(now)
    return this.#stats.workRate * HASHES_PER_SHARE
  }

  /** Moves the estimates to `now`; undefined when `now` is not a number. */
  #advance(now: number): number | undefined {
    if (!Number.isFinite(now)) return undefined
    const t = Math.max(now, this.#now)
    this.#now = t
    this.#recent.advance(t, this.#difficulty)
    this.#stats.advance(t, this.#difficulty)
    return t
  }

  #check(t: number): number | undefined {
    if (this.fixed) return undefined
    const o = this.options
    const { count, expected } = this.#recent.evidence(this.#difficulty, o.targetInterval)
    // Blind start: nothing seen yet, only silence. Probe downwards.
    if (this.#shares < TUNING.PROBE_SHARES && count === 0) {
      return t - Math.max(this.#lastChange, this.#lastShare) >= this.#probeMs ? this.#change(t, this.#difficulty / TUNING.PROBE_FACTOR) : undefined
    }
    if (!(expected > 0)) return undefined
    const paced = !TUNING.PACE || t - this.#lastChange >= this.#windowMs
    // Confidence bounds of q = ideal / current difficulty (Poisson, Z sigmas).
    const z = TUNING.Z
    const low = Math.max(0, Math.sqrt(count) - z / 2) ** 2 / expected
    const high = (Math.sqrt(count + 1) + z / 2) ** 2 / expected
    const q = count / expected
    const fast = TUNING.GATE_ONE ? q > 1 / (1 - o.variance) && low > 1 : low > 1 / (1 - o.variance)
    const slow = TUNING.GATE_ONE ? q < 1 / (1 + o.variance) && high < 1 : high < 1 / (1 + o.variance)
    if (fast && count >= TUNING.MIN_FAST && (paced || (TUNING.EXT_MLE ? q : low) > TUNING.EXTREME)) {
      const land = Math.max(0, Math.sqrt(count) - TUNING.LAND_Z / 2) ** 2 / expected
      return this.#change(t, Math.max(land, 1) * this.#difficulty)
    }
    if (slow && (paced || (TUNING.EXT_MLE ? q : high) < 1 / TUNING.EXTREME)) {
      if (count >= 1) return this.#change(t, (count / expected) * this.#difficulty)
      // Silent since the last change: lower gently, never below what the
      // whole session's fading estimate says (a miner that stopped is not
      // chased down to the minimum).
      const sessionQ = (this.#stats.workRate * o.targetInterval) / this.#difficulty
      const q = Math.max(sessionQ, 1 / TUNING.PROBE_FACTOR)
      return q < 1 / (1 + o.variance) ? this.#change(t, q * this.#difficulty) : undefined
    }
    return undefined
  }

  /** Retargets to `wanted`, rounded and clamped. */
  #change(t: number, wanted: number): number | undefined {
    return this.#set(t, clamp(niceDifficulty(wanted), this.#floor, this.options.maxDifficulty))
  }

  #set(t: number, next: number): number | undefined {
    if (next === this.#difficulty) return undefined
    this.#difficulty = next
    this.#lastChange = t
    this.#recent.reset(t)
    return next
  }
}
