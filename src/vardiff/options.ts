/**
 * Vardiff options: what an operator may tune, their defaults and the one
 * validation. Times are in seconds (as an operator writes them in the
 * config); the clock the controller is driven by is in milliseconds.
 *
 * The defaults are for a farm LAN of ASICs (docs/vardiff.md, "Defaults"):
 * one share per device every 10 s, a retarget check every minute, no change
 * while the mean interval is within ±30 % of the target (the band NOMP and
 * Miningcore ship as `variancePercent: 30`).
 */
import { ConfigError } from '../errors.js'

/** Per-session variable difficulty settings. */
export interface VardiffOptions {
  /**
   * Difficulty of a new session until shares say otherwise. Default `1024`:
   * low enough that even a 1 GH/s device is found within three windows by
   * the start-up probe, high enough that a 200 TH/s machine sends ~45
   * shares/s for the half-second it takes to retarget it. A farm of one
   * model should set the model's ideal (`hashrate * targetInterval / 2^32`).
   */
  readonly startDifficulty: number
  /** Lowest difficulty ever assigned (and the lowest a miner may suggest). Default `1`. May be fractional (CPU miners: `0.0001`). */
  readonly minDifficulty: number
  /**
   * Highest difficulty ever assigned. Default `1e12`: a 1 EH/s aggregate
   * (a downstream proxy on one session) needs ~2.3e9 at 10 s.
   */
  readonly maxDifficulty: number
  /** Wanted mean time between shares of one session, in seconds. Default `10`. */
  readonly targetInterval: number
  /**
   * Seconds between regular retarget checks (the "window"); at most one
   * regular change per window. Default `60` (6 shares expected per window).
   */
  readonly retargetInterval: number
  /**
   * Half-width of the dead band, as a fraction of the target interval: no
   * change while the estimated mean interval is within
   * `targetInterval * (1 ± variance)`. Default `0.3`. Must be in (0, 1).
   */
  readonly variance: number
  /**
   * A window also ends early once this many shares (counted at the current
   * difficulty) arrived in it, so a miner far too fast is retargeted within
   * seconds instead of after a whole window. Default `20`, over three times
   * the 6 shares a window holds at the target: a steady miner reaches it in
   * a window with probability ~4e-6.
   */
  readonly retargetShares: number
  /**
   * A fixed difficulty (vardiff off for this session or worker): never
   * changed, suggestions ignored, not clamped to min/max. Default
   * `undefined` (vardiff on).
   */
  readonly fixedDifficulty?: number | undefined
}

/** The defaults, frozen. See each field of `VardiffOptions` for the reasoning. */
export const defaultVardiffOptions: Readonly<VardiffOptions> = Object.freeze({
  startDifficulty: 1024,
  minDifficulty: 1,
  maxDifficulty: 1e12,
  targetInterval: 10,
  retargetInterval: 60,
  variance: 0.3,
  retargetShares: 20,
  fixedDifficulty: undefined,
})

/** Options keys in the order problems are reported. */
const KEYS = [
  'startDifficulty',
  'minDifficulty',
  'maxDifficulty',
  'targetInterval',
  'retargetInterval',
  'variance',
  'retargetShares',
  'fixedDifficulty',
] as const satisfies readonly (keyof VardiffOptions)[]

/**
 * Every problem with `options`, one line each (`minDifficulty: expected a
 * number > 0, got -1`); empty when valid. For a config loader that collects
 * all problems before it reports them.
 */
export function vardiffProblems(options: Readonly<VardiffOptions>): string[] {
  const problems: string[] = []
  const positive = (key: (typeof KEYS)[number], value: unknown): boolean => {
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return true
    problems.push(`${key}: expected a finite number > 0, got ${show(value)}`)
    return false
  }
  const known = new Set<string>(KEYS)
  for (const key of Object.keys(options)) if (!known.has(key)) problems.push(`${key}: unknown key`)

  const min = positive('minDifficulty', options.minDifficulty)
  const max = positive('maxDifficulty', options.maxDifficulty)
  const start = positive('startDifficulty', options.startDifficulty)
  if (min && max && options.minDifficulty > options.maxDifficulty) {
    problems.push(`minDifficulty: expected at most maxDifficulty (${options.maxDifficulty}), got ${options.minDifficulty}`)
  }
  if (min && start && options.startDifficulty < options.minDifficulty) {
    problems.push(`startDifficulty: expected at least minDifficulty (${options.minDifficulty}), got ${options.startDifficulty}`)
  }
  if (max && start && options.startDifficulty > options.maxDifficulty) {
    problems.push(`startDifficulty: expected at most maxDifficulty (${options.maxDifficulty}), got ${options.startDifficulty}`)
  }
  const target = positive('targetInterval', options.targetInterval)
  const window = positive('retargetInterval', options.retargetInterval)
  // A window shorter than a target interval would judge a rate from less
  // than one expected share: every window would look "too slow".
  if (target && window && options.retargetInterval < options.targetInterval) {
    problems.push(`retargetInterval: expected at least targetInterval (${options.targetInterval}), got ${options.retargetInterval}`)
  }
  const v = options.variance
  if (!(typeof v === 'number' && v > 0 && v < 1)) problems.push(`variance: expected a fraction between 0 and 1 (exclusive), got ${show(v)}`)
  const n = options.retargetShares
  if (!(typeof n === 'number' && Number.isInteger(n) && n >= 2)) problems.push(`retargetShares: expected an integer >= 2, got ${show(n)}`)
  if (options.fixedDifficulty !== undefined) positive('fixedDifficulty', options.fixedDifficulty)
  return problems
}

/**
 * Fills in the defaults, validates once and freezes. Throws `ConfigError`
 * (`HF_CONFIG_INVALID`) listing every problem.
 */
export function resolveVardiffOptions(options: Partial<VardiffOptions> = {}): Readonly<VardiffOptions> {
  const merged: VardiffOptions = { ...defaultVardiffOptions, ...withoutUndefined(options) }
  // An explicit `fixedDifficulty: undefined` means "vardiff on", like leaving it out.
  const problems = vardiffProblems(merged)
  if (problems.length > 0) throw new ConfigError('HF_CONFIG_INVALID', problems, { source: 'vardiff options' })
  return Object.freeze(merged)
}

function withoutUndefined(options: Partial<VardiffOptions>): Partial<VardiffOptions> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}
