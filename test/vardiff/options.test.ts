import t from 'tap'
import { ConfigError } from '../../src/errors.js'
import { defaultVardiffOptions, resolveVardiffOptions, Vardiff, vardiffProblems, type VardiffOptions } from '../../src/vardiff/index.js'

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
  { name: 'fractional retargetShares', options: { retargetShares: 2.5 }, problems: ['retargetShares: expected an integer 2-1000, got 2.5'] },
  { name: 'retargetShares 1', options: { retargetShares: 1 }, problems: ['retargetShares: expected an integer 2-1000, got 1'] },
  { name: 'fixed 0', options: { fixedDifficulty: 0 }, problems: ['fixedDifficulty: expected a finite number > 0, got 0'] },
  { name: 'unknown key', options: { targetShareTime: 10 }, problems: ['targetShareTime: unknown key'] },
  {
    name: 'several problems at once, all listed',
    options: { minDifficulty: -1, variance: 2, retargetShares: 0, tagret: 1 },
    problems: [
      'tagret: unknown key',
      'minDifficulty: expected a finite number > 0, got -1',
      'variance: expected a fraction between 0 and 1 (exclusive), got 2',
      'retargetShares: expected an integer 2-1000, got 0',
    ],
  },
]
for (const { name, options, problems } of invalid) {
  t.test(`invalid: ${name}`, async (t) => {
    t.same(vardiffProblems({ ...defaultVardiffOptions, ...options } as VardiffOptions), problems)
    const err = t.throws(() => resolveVardiffOptions(options as Partial<VardiffOptions>)) as ConfigError
    t.ok(err instanceof ConfigError)
    t.equal(err.code, 'HF_CONFIG_INVALID')
    t.same(err.problems, problems)
    t.throws(() => new Vardiff(options as Partial<VardiffOptions>, 0), ConfigError, 'the constructor validates too')
  })
}

t.test('the constructor rejects a clock that is not a number', async (t) => {
  t.throws(() => new Vardiff({}, NaN), RangeError)
})
