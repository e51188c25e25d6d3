/** Amounts, difficulty units, the fee and exact decimal formatting: valid/invalid tables, one test per vector. */
import t from 'tap'
import {
  DEFAULT_FEE_BASIS_POINTS,
  difficultyUnits,
  formatBtc,
  formatRatio,
  MAX_MONEY_SATS,
  poolFee,
  SATS_PER_BTC,
  UNITS_PER_DIFFICULTY,
} from '../../src/payouts/index.js'
import { Arbitrary } from '../helpers/payout-arbitrary.js'

t.test('constants', async (t) => {
  t.equal(SATS_PER_BTC, 100_000_000n)
  t.equal(MAX_MONEY_SATS, 2_100_000_000_000_000n)
  t.equal(UNITS_PER_DIFFICULTY, 4_294_967_296n)
  t.equal(DEFAULT_FEE_BASIS_POINTS, 200)
})

const btc: [bigint, string][] = [
  [0n, '0.00000000'],
  [1n, '0.00000001'],
  [99_999_999n, '0.99999999'],
  [100_000_000n, '1.00000000'],
  [123_456_789n, '1.23456789'],
  [100_000n, '0.00100000'],
  [312_500_000n, '3.12500000'],
  [MAX_MONEY_SATS, '21000000.00000000'],
  [-5n, '-0.00000005'],
  [-123_456_789n, '-1.23456789'],
  [2n ** 64n, '184467440737.09551616'],
]
for (const [sats, text] of btc) t.test(`formatBtc(${sats}n) = ${text}`, async (t) => t.equal(formatBtc(sats), text))

t.test('formatBtc round-trips every amount through its digits', async (t) => {
  const arb = new Arbitrary(42)
  const bad: string[] = []
  for (let i = 0; i < 5000; i++) {
    const sats = arb.reward() * (arb.chance(0.2) ? -1n : 1n)
    const text = formatBtc(sats)
    if (!/^-?\d+\.\d{8}$/.test(text) || BigInt(text.replace('.', '')) !== sats) bad.push(`${sats} -> ${text}`)
  }
  t.same(bad, [])
})

const units: [number, bigint][] = [
  [0, 0n],
  [1, 4_294_967_296n],
  [0.5, 2_147_483_648n],
  [2 ** -32, 1n],
  [2 ** -33, 1n], // 0.5 unit: halves round up
  [2 ** -34, 0n],
  [0.0001, 429_497n], // 429496.7296
  [0.001, 4_294_967n], // 4294967.296
  [1024, 4_398_046_511_104n],
  [1e12, 4_294_967_296_000_000_000_000n],
  [126_411_437_451_912.23, 542_932_989_696_312_619_302_912n], // exact: the double times 2^32
]
for (const [d, u] of units) t.test(`difficultyUnits(${d}) = ${u}n`, async (t) => t.equal(difficultyUnits(d), u))

for (const d of [-1, -1e-9, NaN, Infinity, -Infinity, 1e300, '1' as unknown as number]) {
  t.test(`difficultyUnits(${String(d)}) throws`, async (t) => t.throws(() => difficultyUnits(d), RangeError))
}

const fees: [bigint, number, bigint][] = [
  [312_500_000n, 200, 6_250_000n],
  [49n, 200, 0n], // 0.98: rounded down, the fraction stays with the miners
  [50n, 200, 1n],
  [99n, 100, 0n],
  [MAX_MONEY_SATS, 10_000, MAX_MONEY_SATS],
  [MAX_MONEY_SATS, 1, 210_000_000_000n],
  [0n, 5000, 0n],
  [1n, 9999, 0n],
]
for (const [reward, bp, fee] of fees) t.test(`poolFee(${reward}n, ${bp}) = ${fee}n`, async (t) => t.equal(poolFee(reward, bp), fee))

const ratios: [bigint, bigint, number, string][] = [
  [1n, 3n, 4, '0.3333'],
  [2n, 3n, 4, '0.6667'],
  [2n, 3n, 0, '1'],
  [1n, 2n, 0, '1'], // half away from zero
  [-1n, 2n, 0, '-1'],
  [1n, 8n, 2, '0.13'],
  [-1n, 8n, 2, '-0.13'],
  [-1n, 1000n, 2, '0.00'], // no negative zero
  [0n, 7n, 3, '0.000'],
  [7n, 7n, 3, '1.000'],
  [123_456_789n, 1n, 2, '123456789.00'],
  [2n ** 32n + 1n, 2n ** 32n, 20, '1.00000000023283064365'],
]
for (const [n, d, digits, text] of ratios) t.test(`formatRatio(${n}n, ${d}n, ${digits}) = ${text}`, async (t) => t.equal(formatRatio(n, d, digits), text))

const badRatios: [string, () => unknown][] = [
  ['a zero denominator', () => formatRatio(1n, 0n, 2)],
  ['a negative denominator', () => formatRatio(1n, -3n, 2)],
  ['21 digits', () => formatRatio(1n, 3n, 21)],
  ['fractional digits', () => formatRatio(1n, 3n, 1.5)],
]
for (const [name, run] of badRatios) t.test(`formatRatio rejects ${name}`, async (t) => t.throws(run, RangeError))
t.test('formatRatio and formatBtc reject numbers', async (t) => {
  t.throws(() => formatRatio(1 as unknown as bigint, 3n, 2), TypeError)
  t.throws(() => formatBtc(1 as unknown as bigint), TypeError)
})
