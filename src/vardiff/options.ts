/**
 * Vardiff options: what an operator may tune, the defaults, and the one
 * validation. Times are in seconds, as an operator writes them; the clock
 * that drives the controller is in milliseconds.
 *
 * The defaults are for a farm LAN of ASICs (docs/vardiff.md, "Defaults"):
 * one share per machine every 5 s, a regular retarget at most every 90 s
 * (so a window holds 18 shares at the target), no change while the mean
 * interval is within ±30 % of the target (the band NOMP and Miningcore ship
 * as `variancePercent: 30`).
 */
import { ConfigError } from '../errors.js'

/** Per-session variable difficulty settings. */
export interface VardiffOptions {
  /**
   * Difficulty of a new session until its shares say otherwise. Default
   * `1024`: a 200 TH/s machine sends ~45 shares/s at it for the 0.2 s its
   * first retarget takes, and even a 1 GH/s device (ideal 1.16) is found by
   * the start-up probe within 30 s. A farm of one model should set that
   * model's ideal: `hashrate * targetInterval / 2^32`.
   */
  readonly startDifficulty: number
  /** Lowest difficulty ever assigned, and the lowest a miner may suggest. Default `1`. May be fractional (CPU miners: `0.0001`). */
  readonly minDifficulty: number
  /** Highest difficulty ever assigned. Default `1e12` (a 1 EH/s aggregate behind one session needs ~1.2e9 at 5 s). */
  readonly maxDifficulty: number
  /**
   * Wanted mean time between shares of one session, in seconds. Default
   * `5`: 12 shares a minute per machine (ckpool aims at one per 3.3 s);
   * twice the shares of a 10 s target give the same confidence in half the
   * time, for vardiff and for hashrate figures. 10,000 machines send 2,000
   * shares/s: ~2 % of a core even at 10 µs per share (docs/vardiff.md).
   */
  readonly targetInterval: number
  /**
   * The window, in seconds: at most one regular change per window (a miner
   * far off target is retargeted at once). Default `90` (NOMP's and
   * Miningcore's `retargetTime`), 18 shares at the target.
   */
  readonly retargetInterval: number
  /**
   * Half-width of the dead band as a fraction of the target interval: no
   * change while the estimated mean interval is within
   * `targetInterval * (1 ± variance)`. Default `0.3`. Must be in (0, 1).
   */
  readonly variance: number
  /**
   * The fewest shares an upward retarget rests on. A miner far too fast is
   * retargeted as soon as this many shares put its rate beyond twice the
   * target, whatever the time since the window began. Default `10` (the
   * estimate is then good to about ±30 %).
   */
  readonly retargetShares: number
  /**
   * A fixed difficulty: vardiff off for this session (or worker). Shares
   * and silence never move it; it is not clamped to min/max; a miner's
   * suggestion (a floor within min/max) can only raise it. Default
   * `undefined` (vardiff on).
   */
  readonly fixedDifficulty?: number | undefined
}

/** The defaults, frozen. See each field of `VardiffOptions` for the reasoning. */
export const defaultVardiffOptions: Readonly<VardiffOptions> = Object.freeze({
  startDifficulty: 1024,
  minDifficulty: 1,
  maxDifficulty: 1e12,
  targetInterval: 5,
  retargetInterval: 90,
  variance: 0.3,
  retargetShares: 10,
  fixedDifficulty: undefined,
})

const KEYS: ReadonlySet<string> = new Set(Object.keys(defaultVardiffOptions))

/**
 * Every problem with `options`, one line each
 * (`minDifficulty: expected a finite number > 0, got -1`); empty when
 * valid. For a config loader that reports all problems at once.
 */
export function vardiffProblems(options: Readonly<VardiffOptions>): string[] {
  const problems: string[] = []
  for (const key of Object.keys(options)) if (!KEYS.has(key)) problems.push(`${key}: unknown key`)
  const positive = (key: keyof VardiffOptions): boolean => {
    const value: unknown = options[key]
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return true
    problems.push(`${key}: expected a finite number > 0, got ${show(value)}`)
    return false
  }
  const min = positive('minDifficulty')
  const max = positive('maxDifficulty')
  const start = positive('startDifficulty')
  if (min && max && options.minDifficulty > options.maxDifficulty) {
    problems.push(`minDifficulty: expected at most maxDifficulty (${options.maxDifficulty}), got ${options.minDifficulty}`)
  }
  if (min && start && options.startDifficulty < options.minDifficulty) {
    problems.push(`startDifficulty: expected at least minDifficulty (${options.minDifficulty}), got ${options.startDifficulty}`)
  }
  if (max && start && options.startDifficulty > options.maxDifficulty) {
    problems.push(`startDifficulty: expected at most maxDifficulty (${options.maxDifficulty}), got ${options.startDifficulty}`)
  }
  const target = positive('targetInterval')
  const window = positive('retargetInterval')
  // A window shorter than the target interval would judge a rate from less
  // than one expected share.
  if (target && window && options.retargetInterval < options.targetInterval) {
    problems.push(`retargetInterval: expected at least targetInterval (${options.targetInterval}), got ${options.retargetInterval}`)
  }
  const v: unknown = options.variance
  if (!(typeof v === 'number' && v > 0 && v < 1)) problems.push(`variance: expected a fraction between 0 and 1 (exclusive), got ${show(v)}`)
  const n: unknown = options.retargetShares
  if (!(typeof n === 'number' && Number.isInteger(n) && n >= 2 && n <= 100000)) problems.push(`retargetShares: expected an integer 2-100000, got ${show(n)}`)
  if (options.fixedDifficulty !== undefined) positive('fixedDifficulty')
  return problems
}

/** Objects `resolveVardiffOptions` returned: passed again, they are returned as they are. */
const resolved = new WeakSet<object>()

/**
 * The defaults overridden by `options` (keys set to `undefined` keep their
 * default), validated once and frozen. Throws `ConfigError`
 * (`HF_CONFIG_INVALID`) listing every problem. An object this function
 * returned is returned as it is: resolve once and hand the result to every
 * `Vardiff`, and the sessions share one options object (a copy of their own
 * cost ~170 bytes each, docs/benchmarks.md, sessions).
 */
export function resolveVardiffOptions(options: Partial<VardiffOptions> = {}): Readonly<VardiffOptions> {
  if (resolved.has(options)) return options as Readonly<VardiffOptions>
  const set = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
  const merged: VardiffOptions = { ...defaultVardiffOptions, ...set }
  const problems = vardiffProblems(merged)
  if (problems.length > 0) throw new ConfigError('HF_CONFIG_INVALID', problems, { source: 'vardiff options' })
  const frozen = Object.freeze(merged)
  resolved.add(frozen)
  return frozen
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}
