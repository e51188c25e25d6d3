/**
 * Vardiff one behaviour at a time: option validation (valid/invalid
 * tables), then, mostly with shares fed at exact times (deterministic, no
 * PRNG), early retarget, probing, silence, clamping, suggestions, fixed
 * difficulty, fractional difficulties, bad input.
 */
import t from 'tap'
import { ConfigError } from '../../src/errors.js'
import { defaultVardiffOptions, resolveVardiffOptions, Vardiff, vardiffProblems, type VardiffOptions } from '../../src/vardiff/index.js'
import { idealDifficulty, simulate, TWO_32 } from '../helpers/simulated-miner.js'

const T = defaultVardiffOptions.targetInterval
const W = defaultVardiffOptions.retargetInterval
const s = (seconds: number): number => seconds * 1000

/**
 * A regular (not random) miner doing `work` difficulty-1 shares per second
 * (hashrate / 2^32) from `from` to `to` seconds: its next share, at the
 * difficulty in force, comes `difficulty / work` seconds after the last.
 * Ticks every second. Returns the changes.
 */
function feed(v: Vardiff, from: number, to: number, work: number): { t: number; d: number }[] {
  const changes: { t: number; d: number }[] = []
  let next = from + v.difficulty / work
  for (let now = from + 1; now < to; now++) {
    while (next <= now && next < to) {
      const d = v.recordShare(s(next), v.difficulty)
      if (d !== undefined) changes.push({ t: next, d })
      next += v.difficulty / work
    }
    const d = v.tick(s(now))
    if (d !== undefined) changes.push({ t: now, d })
  }
  return changes
}

t.test('defaults are documented values, frozen, and valid', async (t) => {
  t.same(defaultVardiffOptions, {
    startDifficulty: 1024,
    minDifficulty: 1,
    maxDifficulty: 1e12,
    targetInterval: 5,
    retargetInterval: 90,
    variance: 0.3,
    retargetShares: 10,
    fixedDifficulty: undefined,
  })
  t.ok(Object.isFrozen(defaultVardiffOptions))
  t.same(vardiffProblems(defaultVardiffOptions), [])
  const resolved = resolveVardiffOptions()
  t.same(resolved, defaultVardiffOptions)
  t.ok(Object.isFrozen(resolved))
})

t.test('options resolved once are shared by every Vardiff made from them', async (t) => {
  const resolved = resolveVardiffOptions({ startDifficulty: 2048 })
  t.equal(resolveVardiffOptions(resolved), resolved, 'a resolved object is returned as it is')
  const a = new Vardiff(resolved, 0)
  const b = new Vardiff(resolved, 0)
  t.equal(a.options, resolved)
  t.equal(b.options, a.options, 'one options object for both sessions')
  t.equal(a.difficulty, 2048)
  const plain = { startDifficulty: 2048 }
  t.not(resolveVardiffOptions(plain), resolveVardiffOptions(plain), 'a plain object is resolved (validated) each time')
  t.throws(() => resolveVardiffOptions(Object.freeze({ ...resolved, minDifficulty: -1 })), 'a frozen object of other origin is still validated')
})

/** Valid overrides: each keeps the other defaults. */
const valid: { name: string; options: Partial<VardiffOptions> }[] = [
  { name: 'CPU miner in tests', options: { minDifficulty: 0.0001, startDifficulty: 0.001 } },
  { name: 'huge difficulties', options: { startDifficulty: 2.3e6, maxDifficulty: 1e15 } },
  { name: 'min = start = max', options: { minDifficulty: 64, startDifficulty: 64, maxDifficulty: 64 } },
  { name: 'slow target', options: { targetInterval: 15, retargetInterval: 15 } },
  { name: 'narrow band', options: { variance: 0.05 } },
  { name: 'fixed difficulty outside min/max', options: { fixedDifficulty: 0.5 } },
  { name: 'undefined keeps the default', options: { startDifficulty: undefined, fixedDifficulty: undefined } },
  { name: 'retargetShares bounds', options: { retargetShares: 2 } },
]
for (const { name, options } of valid) {
  t.test(`valid: ${name}`, async (t) => {
    const resolved = resolveVardiffOptions(options)
    for (const [key, value] of Object.entries(options)) {
      t.equal(resolved[key as keyof VardiffOptions], value ?? defaultVardiffOptions[key as keyof VardiffOptions], key)
    }
  })
}

/** Invalid overrides: every problem, by its exact message. */
const invalid: { name: string; options: Record<string, unknown>; problems: string[] }[] = [
  { name: 'zero min', options: { minDifficulty: 0 }, problems: ['minDifficulty: expected a finite number > 0, got 0'] },
  { name: 'negative start', options: { startDifficulty: -1 }, problems: ['startDifficulty: expected a finite number > 0, got -1'] },
  { name: 'NaN max', options: { maxDifficulty: NaN }, problems: ['maxDifficulty: expected a finite number > 0, got NaN'] },
  { name: 'infinite max', options: { maxDifficulty: Infinity }, problems: ['maxDifficulty: expected a finite number > 0, got Infinity'] },
  { name: 'string target', options: { targetInterval: '10' }, problems: ['targetInterval: expected a finite number > 0, got "10"'] },
  { name: 'min above max', options: { minDifficulty: 10, maxDifficulty: 5, startDifficulty: 5 }, problems: ['minDifficulty: expected at most maxDifficulty (5), got 10', 'startDifficulty: expected at least minDifficulty (10), got 5'] },
  { name: 'start below min', options: { minDifficulty: 2048 }, problems: ['startDifficulty: expected at least minDifficulty (2048), got 1024'] },
  { name: 'start above max', options: { maxDifficulty: 512 }, problems: ['startDifficulty: expected at most maxDifficulty (512), got 1024'] },
  { name: 'window shorter than the target', options: { retargetInterval: 4 }, problems: ['retargetInterval: expected at least targetInterval (5), got 4'] },
  { name: 'variance 0', options: { variance: 0 }, problems: ['variance: expected a fraction between 0 and 1 (exclusive), got 0'] },
  { name: 'variance 1', options: { variance: 1 }, problems: ['variance: expected a fraction between 0 and 1 (exclusive), got 1'] },
  { name: 'variance as percent', options: { variance: 30 }, problems: ['variance: expected a fraction between 0 and 1 (exclusive), got 30'] },
  { name: 'fractional retargetShares', options: { retargetShares: 2.5 }, problems: ['retargetShares: expected an integer 2-100000, got 2.5'] },
  { name: 'retargetShares 1', options: { retargetShares: 1 }, problems: ['retargetShares: expected an integer 2-100000, got 1'] },
  { name: 'fixed 0', options: { fixedDifficulty: 0 }, problems: ['fixedDifficulty: expected a finite number > 0, got 0'] },
  { name: 'unknown key', options: { targetShareTime: 10 }, problems: ['targetShareTime: unknown key'] },
  {
    name: 'several problems at once, all listed',
    options: { minDifficulty: -1, variance: 2, retargetShares: 0, tagret: 1 },
    problems: [
      'tagret: unknown key',
      'minDifficulty: expected a finite number > 0, got -1',
      'variance: expected a fraction between 0 and 1 (exclusive), got 2',
      'retargetShares: expected an integer 2-100000, got 0',
    ],
  },
]
for (const { name, options, problems } of invalid) {
  t.test(`invalid: ${name}`, async (t) => {
    t.same(vardiffProblems({ ...defaultVardiffOptions, ...options }), problems)
    const err = t.throws(() => resolveVardiffOptions(options)) as ConfigError
    t.ok(err instanceof ConfigError)
    t.equal(err.code, 'HF_CONFIG_INVALID')
    t.same(err.problems, problems)
    t.throws(() => new Vardiff(options, 0), ConfigError, 'the constructor validates too')
  })
}

t.test('the constructor rejects a clock that is not a number', async (t) => {
  t.throws(() => new Vardiff({}, NaN), RangeError)
})

t.test('a new session runs at the start difficulty', async (t) => {
  const v = new Vardiff({}, 0)
  t.equal(v.difficulty, 1024)
  t.equal(v.floor, 1)
  t.equal(v.fixed, false)
  t.equal(v.estimatedHashrate(0), 0, 'no shares, no hashrate')
  t.equal(v.tick(s(T)), undefined, 'nothing happens before the first probe')
})

t.test('far too fast: retargeted on the retargetShares-th share, long before the window ends', async (t) => {
  const v = new Vardiff({}, 0)
  const changes: number[] = []
  // 100 times the target rate: a share every 0.05 s at 1024.
  for (let i = 1; i <= 10; i++) {
    const d = v.recordShare(i * 50, 1024)
    if (d !== undefined) changes.push(i)
  }
  t.same(changes, [10], 'exactly at the 10th share, 0.5 s into a 90 s window')
  const ideal = 1024 * 100
  t.ok(v.difficulty > ideal / 2 && v.difficulty < ideal, `lands below the estimate, within 2x (${v.difficulty})`)
  // Shares of the old job keep coming at 1024 (cgminer applies the new
  // difficulty from the next job): they count what they are worth.
  for (let i = 11; i <= 60; i++) t.equal(v.recordShare(i * 10, 1024), undefined, `old-job share ${i} moves nothing`)
})

t.test('silence before the first shares: divided by 8 every 2 target intervals, down to the minimum', async (t) => {
  const v = new Vardiff({}, 0)
  const changes = feed(v, 0, 60, 0)
  t.same(changes, [
    { t: 2 * T, d: 128 },
    { t: 4 * T, d: 16 },
    { t: 6 * T, d: 2 },
    { t: 8 * T, d: 1 },
  ])
  t.equal(v.difficulty, 1, 'the minimum holds')
})

t.test('a steady miner on target is left alone; once silent it is lowered no faster than its estimate fades', async (t) => {
  const v = new Vardiff({ startDifficulty: 1000 }, 0)
  const steady = feed(v, 0, 20 * W, 1000 / T)
  t.same(steady, [], 'no change in 20 windows of shares exactly on target')
  const hashrate = v.estimatedHashrate(s(20 * W))
  t.ok(Math.abs(hashrate / idealHashrate(1000) - 1) < 0.05, 'estimated hashrate within 5 %')

  const silent = feed(v, 20 * W, 30 * W, 0)
  t.ok(silent.length > 0 && v.difficulty < 1000 / 1.3, `lowered during 10 silent windows (${silent.map((c) => c.d).join(', ')})`)
  t.ok(v.difficulty >= 1000 / 8, 'but no faster than its fading estimate: not chased to the minimum')
  const gaps = silent.map((c, i) => c.t - (silent[i - 1]?.t ?? 20 * W))
  t.ok(gaps.every((g) => g >= W), 'at most one change per window')
})

t.test('a miner gone ten times slower is lowered within a few windows', async (t) => {
  const v = new Vardiff({ startDifficulty: 1000 }, 0)
  feed(v, 0, 20 * W, 1000 / T)
  const changes = feed(v, 20 * W, 32 * W, 100 / T)
  t.ok(changes.length >= 1, `lowered (${changes.map((c) => `${((c.t - 20 * W) / W).toFixed(1)} w: ${c.d}`).join(', ')})`)
  t.ok(v.difficulty <= 200 && v.difficulty >= 50, `within 2x of the new ideal 100 after 12 windows (${v.difficulty})`)
})

t.test('difficulties stay within [min, max]', async (t) => {
  const fast = new Vardiff({ maxDifficulty: 5000 }, 0)
  feed(fast, 0, 5 * W, 1e6)
  t.equal(fast.difficulty, 5000, 'a miner too fast for the maximum sits at it')
  const slow = new Vardiff({ minDifficulty: 100, startDifficulty: 100 }, 0)
  const changes = feed(slow, 0, 10 * W, 10 / T)
  t.same(changes, [], 'a miner too slow for the minimum stays at it')
})

t.test('mining.suggest_difficulty is a floor within [min, max]', async (t) => {
  const v = new Vardiff({ minDifficulty: 10, maxDifficulty: 1e6 }, 0)
  t.equal(v.suggest(500, 0), 500, 'before any share the suggestion is taken as the start')
  t.equal(v.floor, 500)
  t.equal(v.suggest(1, 0), 10, 'clamped to min')
  t.equal(v.suggest(1e9, 0), 1e6, 'clamped to max')
  t.equal(v.suggest(2000, 0), 2000)
  for (const bad of [0, -5, NaN, Infinity]) t.equal(v.suggest(bad, 0), undefined, `ignored: ${bad}`)
  t.equal(v.floor, 2000, 'bad suggestions leave the floor')

  // A slow miner: vardiff would go lower, the floor holds.
  const changes = feed(v, 0, 10 * W, 100 / T)
  t.same(changes, [], 'never below the suggested floor')
  t.equal(v.suggest(500, s(10 * W)), undefined, 'after shares, a lower suggestion does not lower the difficulty')
  t.equal(v.floor, 500, 'but lowers the floor')
  t.equal(v.suggest(4000, s(10 * W)), 4000, 'and a higher one raises it at once')
})

t.test('fixed difficulty: vardiff off', async (t) => {
  const v = new Vardiff({ fixedDifficulty: 0.5 }, 0)
  t.equal(v.difficulty, 0.5, 'fixed may lie outside min/max')
  t.equal(v.fixed, true)
  t.same(feed(v, 0, 3 * W, 1000), [], 'a flood changes nothing')
  t.same(feed(v, 3 * W, 10 * W, 0), [], 'nor does silence')
  t.equal(v.suggest(0.1, s(10 * W)), undefined, 'a lower suggestion does not lower it')
  t.equal(v.difficulty, 0.5)
  t.equal(v.suggest(100, s(10 * W)), 100, 'a higher one raises it (a floor, as with vardiff: how a flood limiter raises a miner)')
  t.same(feed(v, 10 * W, 20 * W, 0), [], 'and it stays fixed there')
  const fresh = new Vardiff({ fixedDifficulty: 0.5 }, 0)
  feed(fresh, 0, W, 0.5)
  t.ok(Math.abs(fresh.estimatedHashrate(s(W)) / (0.5 * TWO_32) - 1) < 0.05, 'hashrate stats still work')
})

t.test('fractional difficulties: a 1 MH/s CPU miner with min 0.0001', async (t) => {
  const ideal = idealDifficulty(1e6, T)
  for (let seed = 1; seed <= 3; seed++) {
    const sim = simulate({ hashrate: 1e6, seconds: 20 * W, seed, vardiff: { minDifficulty: 0.0001, startDifficulty: 0.01 } })
    const d = sim.vardiff.difficulty
    t.ok(d / ideal > 0.5 && d / ideal < 2, `seed ${seed}: ${d} for an ideal of ${ideal.toPrecision(3)}`)
    for (const c of sim.changes) t.equal(Number(c.difficulty.toPrecision(3)), c.difficulty, `${c.difficulty} has at most 3 significant figures`)
  }
})

t.test('bad input is ignored, never thrown or stored', async (t) => {
  const v = new Vardiff({}, s(100))
  for (const d of [0, -1, NaN, Infinity]) t.equal(v.recordShare(s(101), d), undefined, `share of difficulty ${d}`)
  t.equal(v.estimatedHashrate(s(101)), 0, 'none of them counted')
  t.equal(v.recordShare(NaN, 1024), undefined, 'NaN clock')
  t.equal(v.tick(Infinity), undefined, 'infinite clock')
  t.equal(v.estimatedHashrate(NaN), 0)
  // A clock stepping back is held at the latest time seen.
  feed(v, 100, 100 + W, 10000)
  const d = v.difficulty
  t.equal(v.tick(s(50)), undefined)
  t.equal(v.recordShare(s(60), d), undefined)
  t.ok(Number.isFinite(v.difficulty) && v.difficulty === d, 'difficulty unchanged and finite')
  t.ok(Number.isFinite(v.estimatedHashrate(s(50))), 'estimate finite')
})

t.test('estimated hashrate of a simulated 100 TH/s miner', async (t) => {
  for (let seed = 1; seed <= 3; seed++) {
    const sim = simulate({ hashrate: 1e14, seconds: 30 * W, seed })
    const est = sim.vardiff.estimatedHashrate(s(30 * W))
    t.ok(Math.abs(est / 1e14 - 1) < 0.15, `seed ${seed}: ${(est / 1e12).toFixed(1)} TH/s`)
  }
})

/** The hashrate for which `difficulty` is ideal at the default target. */
function idealHashrate(difficulty: number): number {
  return (difficulty * TWO_32) / T
}
