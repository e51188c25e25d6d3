import t from 'tap'
import { DIFFICULTY_SIGNIFICANT_FIGURES, niceDifficulty } from '../../src/vardiff/index.js'

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
