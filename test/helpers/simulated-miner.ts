/**
 * A simulated miner for vardiff tests and `scripts/sim-vardiff.ts`: shares
 * arrive as a Poisson process (exponential gaps with mean
 * `difficulty * 2^32 / hashrate`), time is simulated (no sleeping), and the
 * randomness comes from a small seeded PRNG, so every run is reproducible
 * and a test never flakes.
 *
 * The session's part is played here too: a periodic `tick`, and a new
 * difficulty reaching the miner `latencyMs` after vardiff chose it (until
 * then its shares still carry the old difficulty, as with cgminer, which
 * applies a difficulty from the next job).
 *
 * Exponential gaps are memoryless, so when the difficulty or the hashrate
 * changes the next share is simply drawn again from that moment.
 */
import { Vardiff, type VardiffOptions } from '../../src/vardiff/index.js'

/** Hashes per difficulty-1 share. */
export const TWO_32 = 4294967296

/**
 * A seeded PRNG returning floats in [0, 1): sfc32 (Chris Doty-Humphrey's
 * Small Fast Counting generator, PractRand-clean), its state filled by
 * splitmix32 from the seed and the first outputs discarded, so neighbouring
 * seeds (1, 2, 3...) give unrelated streams.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0
  const splitmix32 = (): number => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix32()
  let b = splitmix32()
  let c = splitmix32()
  let d = splitmix32()
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t / 4294967296
  }
  for (let i = 0; i < 15; i++) next()
  return next
}

/** The difficulty at which a miner of `hashrate` H/s finds one share per `targetInterval` s. */
export function idealDifficulty(hashrate: number, targetInterval: number): number {
  return (hashrate * targetInterval) / TWO_32
}

/** From `at` seconds on, the miner hashes at `hashrate` H/s (0: idle). */
export interface Phase {
  readonly at: number
  readonly hashrate: number
}

export interface SimulationOptions {
  /** Vardiff options (defaults for the rest). */
  readonly vardiff?: Partial<VardiffOptions>
  /** Constant hashrate (H/s), or phases sorted by `at` (the first at 0). */
  readonly hashrate: number | readonly Phase[]
  /** Simulated seconds. */
  readonly seconds: number
  readonly seed: number
  /** Seconds between the session's ticks. Default 1. */
  readonly tickSeconds?: number
  /** ms from a retarget until the miner's shares carry the new difficulty. Default 0. */
  readonly latencyMs?: number
  /** A `mining.suggest_difficulty` sent at start. */
  readonly suggest?: number
}

export interface Change {
  /** Seconds since start. */
  readonly t: number
  readonly difficulty: number
}

export interface SimulationResult {
  readonly vardiff: Vardiff
  /** Difficulty at start, then every change (times in seconds). */
  readonly changes: readonly Change[]
  /** Arrival times of shares, seconds. */
  readonly shareTimes: readonly number[]
  /** Difficulty in force at `t` seconds. */
  difficultyAt(t: number): number
  /** Changes with `from <= t < to`. */
  changesIn(from: number, to: number): Change[]
  /** Mean seconds between shares over `[from, to)` (Infinity without shares). */
  meanInterval(from: number, to: number): number
}

/** Runs one simulated session. */
export function simulate(options: SimulationOptions): SimulationResult {
  const random = seededRandom(options.seed)
  const phases: readonly Phase[] = typeof options.hashrate === 'number' ? [{ at: 0, hashrate: options.hashrate }] : options.hashrate
  const endMs = options.seconds * 1000
  const tickMs = (options.tickSeconds ?? 1) * 1000
  const latencyMs = options.latencyMs ?? 0
  const vardiff = new Vardiff(options.vardiff ?? {}, 0)
  const changes: Change[] = [{ t: 0, difficulty: vardiff.difficulty }]
  const shareTimes: number[] = []

  let minerDifficulty = vardiff.difficulty
  let phase = 0
  let hashrate = phases[0]?.hashrate ?? 0
  /** Difficulties chosen but not yet applied by the miner: [time applied, value]. */
  const pending: [number, number][] = []
  let nextShare = Infinity
  const draw = (now: number): number => {
    if (hashrate <= 0) return Infinity
    const mean = (minerDifficulty * TWO_32 * 1000) / hashrate
    return now - Math.log(1 - random()) * mean
  }
  const decided = (now: number, changed: number | undefined): void => {
    if (changed === undefined) return
    changes.push({ t: now / 1000, difficulty: changed })
    if (latencyMs === 0) {
      minerDifficulty = changed
      nextShare = draw(now) // memoryless: redraw from now at the new rate
    } else pending.push([now + latencyMs, changed])
  }
  if (options.suggest !== undefined) decided(0, vardiff.suggest(options.suggest, 0))
  nextShare = draw(0)
  let nextTick = tickMs
  for (;;) {
    const nextPhase = (phases[phase + 1]?.at ?? Infinity) * 1000
    const nextApply = pending[0]?.[0] ?? Infinity
    const now = Math.min(nextShare, nextTick, nextPhase, nextApply)
    if (now >= endMs) break
    if (now === nextApply) {
      minerDifficulty = (pending.shift() as [number, number])[1]
      nextShare = draw(now)
    } else if (now === nextPhase) {
      phase++
      hashrate = phases[phase]?.hashrate ?? 0
      nextShare = draw(now)
    } else if (now === nextShare) {
      shareTimes.push(now / 1000)
      nextShare = draw(now)
      decided(now, vardiff.recordShare(now, minerDifficulty))
    } else {
      nextTick += tickMs
      decided(now, vardiff.tick(now))
    }
  }

  return {
    vardiff,
    changes,
    shareTimes,
    difficultyAt(t) {
      let d = changes[0]?.difficulty ?? NaN
      for (const c of changes) if (c.t <= t) d = c.difficulty
      return d
    },
    changesIn(from, to) {
      return changes.filter((c) => c.t >= from && c.t < to && c !== changes[0])
    },
    meanInterval(from, to) {
      const n = shareTimes.filter((s) => s >= from && s < to).length
      return n === 0 ? Infinity : (to - from) / n
    },
  }
}

/** The hashrates issue #3 names, plus a CPU miner with a low minimum difficulty (tests and scripts/sim-vardiff.ts). */
export const VARDIFF_HASHRATES: readonly { name: string; hashrate: number; vardiff?: Partial<VardiffOptions> }[] = [
  { name: '1 MH/s CPU miner (min 0.0001)', hashrate: 1e6, vardiff: { minDifficulty: 0.0001 } },
  { name: '1 GH/s', hashrate: 1e9 },
  { name: '10 GH/s', hashrate: 1e10 },
  { name: '100 GH/s', hashrate: 1e11 },
  { name: '1 TH/s', hashrate: 1e12 },
  { name: '14 TH/s', hashrate: 14e12 },
  { name: '100 TH/s', hashrate: 1e14 },
  { name: '200 TH/s', hashrate: 2e14 },
  { name: '1 PH/s', hashrate: 1e15 },
]
