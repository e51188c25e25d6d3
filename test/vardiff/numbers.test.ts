/** Vardiff's numeric building blocks: Poisson tail z-scores, the share-rate estimate, and how difficulties are rounded. */
import t from 'tap'
import { DIFFICULTY_SIGNIFICANT_FIGURES, niceDifficulty } from '../../src/vardiff/index.js'
import { highZ, lowZ } from '../../src/vardiff/poisson.js'
import { ShareRate } from '../../src/vardiff/share-rate.js'

/** Exact Poisson tails, summed in log space. */
function poissonCdf(k: number, mu: number): number {
  let term = -mu
  let sum = Math.exp(term)
  for (let i = 1; i <= k; i++) {
    term += Math.log(mu / i)
    sum += Math.exp(term)
  }
  return Math.min(1, sum)
}

/** z for a one-sided tail probability p (Acklam-free: bisection on erfc, accurate enough here). */
function zOf(p: number): number {
  const tail = (z: number): number => 0.5 * erfc(z / Math.SQRT2)
  let lo = -10
  let hi = 10
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2
    if (tail(mid) > p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** erfc, Numerical Recipes' Chebyshev fit (relative error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x)
  const u = 1 / (1 + z / 2)
  const r =
    u *
    Math.exp(
      -z * z -
        1.26551223 +
        u * (1.00002368 + u * (0.37409196 + u * (0.09678418 + u * (-0.18628806 + u * (0.27886807 + u * (-1.13520398 + u * (1.48851587 + u * (-0.82215223 + u * 0.17087277)))))))),
    )
  return x >= 0 ? r : 2 - r
}

t.test('lowZ / highZ match exact Poisson tails where decisions are made, and err on the safe side beyond', async (t) => {
  const check = (name: string, approx: number, p: number): void => {
    if (p >= 0.1 || p < 1e-12) return
    const exact = zOf(p)
    // Down to 1e-6 (4.75 sigma) within a quarter sigma; further out, never
    // more surprising than the exact tail (a step test fires late, not early).
    if (p >= 1e-6) t.ok(Math.abs(approx - exact) < 0.25, `${name} = ${approx.toFixed(2)} vs exact ${exact.toFixed(2)}`)
    else t.ok(approx <= exact + 0.05, `${name} = ${approx.toFixed(2)} <= exact ${exact.toFixed(2)}`)
  }
  for (const mu of [2, 6, 12, 18, 40, 120, 360]) {
    for (let k = 0; k <= 3 * mu; k += Math.max(1, Math.floor(mu / 10))) {
      check(`lowZ(${k}, ${mu})`, lowZ(k, mu), poissonCdf(k, mu))
      if (k > 0) check(`highZ(${k}, ${mu})`, highZ(k, mu), 1 - poissonCdf(k - 1, mu))
    }
  }
})

t.test('z-scores: documented examples, signs and edges', async (t) => {
  t.ok(Math.abs(lowZ(0, 12) - 4.2) < 0.05, 'lowZ(0, 12) ~ 4.2')
  t.ok(Math.abs(highZ(24, 12) - 3.0) < 0.05, 'highZ(24, 12) ~ 3.0')
  t.ok(lowZ(12, 12) < 0 && highZ(12, 12) < 0.2, 'on target is not surprising either way')
  t.equal(highZ(0, 5), -Infinity, 'no shares is never too many')
  t.ok(highZ(3, 0) > 0, 'shares where none were expected are surprising')
  t.ok(lowZ(-1, 5) === lowZ(0, 5), 'a negative count counts as none')
})

t.test('ShareRate: the work rate from shares at changing difficulties (maximum likelihood)', async (t) => {
  // 20 shares in 0.1 s at difficulty 1024, then 6 shares in 60 s at 2 million:
  // each part says "~200k work/s"; together they weigh as 26 shares.
  const r = new ShareRate(Infinity, 0)
  for (let i = 1; i <= 20; i++) {
    r.advance(i * 5, 1024)
    r.add(1)
  }
  r.advance(100, 1024)
  for (let i = 1; i <= 6; i++) {
    r.advance(100 + i * 10000, 2e6)
    r.add(1)
  }
  t.equal(r.count, 26)
  const exposure = 0.1 / 1024 + 60 / 2e6
  t.ok(Math.abs(r.workRate - 26 / exposure) < 1e-6 * r.workRate, `work rate ${r.workRate.toFixed(0)}/s`)
  const evidence = r.evidence(2e6, 10)
  t.equal(evidence.count, 26, 'no decay: plain Poisson evidence')
  t.ok(Math.abs(evidence.expected - (exposure * 2e6) / 10) < 1e-9, 'expected at target: exposure x difficulty / target')
  t.ok(Math.abs(r.expectedAtRate(r.workRate) - 26) < 1e-9)
})

t.test('ShareRate: decay, limit, copy, reset', async (t) => {
  const tau = 100
  const r = new ShareRate(tau, 0)
  // A long steady run at one share per second at difficulty 1.
  for (let s = 1; s <= 2000; s++) {
    r.advance(s * 1000, 1)
    r.add(1)
  }
  t.ok(Math.abs(r.count - 100) < 2, `decayed count ~ tau x rate (${r.count.toFixed(1)})`)
  t.ok(Math.abs(r.workRate - 1) < 0.02, 'rate ~ 1/s')
  const { count, expected } = r.evidence(1, 1)
  t.ok(Math.abs(count / r.count - 2) < 0.05, 'fading halves the variance: twice the Poisson-equivalent evidence')
  t.ok(Math.abs(count / expected - r.workRate) < 1e-9, 'evidence keeps the estimate')

  const before = r.count
  r.advance(2000 * 1000 + tau * 1000 * Math.LN2, 1)
  t.ok(Math.abs(r.count - before / 2) < 1e-9, 'half the weight after tau ln 2 of silence')
  r.advance(1000, 1)
  t.ok(Math.abs(r.count - before / 2) < 1e-9, 'a clock going backwards changes nothing')

  const rate = r.workRate
  r.limit(10)
  t.equal(r.count, 10, 'limited to 10 shares of evidence')
  t.ok(Math.abs(r.workRate - rate) < 1e-12 * rate, 'with the same estimate')
  r.limit(1000)
  t.equal(r.count, 10, 'limit only lowers')

  const copy = new ShareRate(tau, 0)
  copy.copyFrom(r)
  t.equal(copy.count, r.count)
  t.equal(copy.workRate, r.workRate)
  copy.reset(5000)
  t.equal(copy.count, 0)
  t.equal(copy.workRate, 0, 'no exposure, no rate')
  t.same(copy.evidence(1, 1), { count: 0, expected: 0 })
})

t.test('ShareRate.restart: the same as copying a window without decay', async (t) => {
  const window = new ShareRate(Infinity, 0)
  for (let s = 1; s <= 50; s++) {
    window.advance(s * 700, s < 25 ? 2 : 8)
    window.add(s % 3 === 0 ? 0.5 : 1)
  }
  const copied = new ShareRate(100, 0)
  copied.copyFrom(window)
  const restarted = new ShareRate(100, 0)
  restarted.restart(window.count, window.expectedAtRate(1), 50 * 700)
  t.equal(restarted.count, copied.count)
  t.equal(restarted.workRate, copied.workRate)
  t.same(restarted.evidence(8, 5), copied.evidence(8, 5))
  // From the same clock position on, both fade alike.
  copied.advance(60_000, 8)
  restarted.advance(60_000, 8)
  t.same(restarted.evidence(8, 5), copied.evidence(8, 5))
})

/** [computed estimate, presented difficulty, as JSON] */
const vectors: [number, number, string][] = [
  [2328306.4365386963, 2330000, '2330000'],
  [465661.2873077393, 466000, '466000'],
  [32596.45, 32600, '32600'],
  [1024, 1020, '1020'],
  [1843.2917, 1840, '1840'],
  [999.6, 1000, '1000'],
  [2.3283064365386963, 2.33, '2.33'],
  [1.1641532182693481, 1.16, '1.16'],
  [0.00023283064365386963, 0.000233, '0.000233'],
  [0.0011641532, 0.00116, '0.00116'],
  [1e-7, 1e-7, '1e-7'],
  [1.2345e12, 1.23e12, '1230000000000'],
]

for (const [input, want, json] of vectors) {
  t.test(`${input} is presented as ${json}`, async (t) => {
    const got = niceDifficulty(input)
    t.equal(got, want)
    t.equal(JSON.stringify(got), json, 'short in JSON (mining.set_difficulty)')
    t.equal(JSON.parse(JSON.stringify(got)), got, 'the miner parses back exactly the value shares are judged by')
    t.ok(Math.abs(got / input - 1) <= 0.005, 'within 0.5 % of the estimate')
  })
}

t.test('at most three significant figures for any magnitude', async (t) => {
  t.equal(DIFFICULTY_SIGNIFICANT_FIGURES, 3)
  for (let e = -12; e <= 15; e += 0.37) {
    const d = niceDifficulty(10 ** e * Math.PI)
    const digits = d.toExponential().split('e')[0]?.replace('.', '').replace(/0+$/, '') ?? ''
    t.ok(digits.length <= 3, `${d}`)
  }
})

t.test('non-finite and non-positive values pass through (the caller clamps)', async (t) => {
  t.equal(niceDifficulty(0), 0)
  t.equal(niceDifficulty(-5), -5)
  t.ok(Number.isNaN(niceDifficulty(NaN)))
  t.equal(niceDifficulty(Infinity), Infinity)
})
