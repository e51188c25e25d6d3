/**
 * PPLNS, PROP and SOLO by example: the window boundary cases one by one
 * (window smaller than one share, exactly at a share boundary, one unit
 * past it, more units than shares), worked splits, the tie-break, the
 * window factor, and invalid inputs (one generated test per vector).
 */
import t from 'tap'
import {
  DEFAULT_PPLNS_FACTOR,
  pplnsWindow,
  pplnsWindowUnits,
  splitPplns,
  splitProp,
  splitProportionally,
  splitSolo,
  UNITS_PER_DIFFICULTY,
  type ShareWeight,
} from '../../src/payouts/index.js'

const s = (account: string, units: bigint): ShareWeight => ({ account, units })
/** Most recent first: a (10 units), then b (5), then c (7), then a again (3). */
const SHARES = [s('a', 10n), s('b', 5n), s('c', 7n), s('a', 3n)]

const windows: { name: string; n: bigint; window: [string, bigint][] }[] = [
  { name: 'one unit: a part of the newest share', n: 1n, window: [['a', 1n]] },
  { name: 'smaller than the newest share: only N of its units', n: 3n, window: [['a', 3n]] },
  { name: 'exactly the newest share', n: 10n, window: [['a', 10n]] },
  { name: 'exactly at the second boundary: b whole, c out', n: 15n, window: [['a', 10n], ['b', 5n]] },
  { name: 'one unit past a boundary: 1 unit of c', n: 16n, window: [['a', 10n], ['b', 5n], ['c', 1n]] },
  { name: 'the boundary share counted in part, then nothing older', n: 24n, window: [['a', 12n], ['b', 5n], ['c', 7n]] },
  { name: 'exactly all shares', n: 25n, window: [['a', 13n], ['b', 5n], ['c', 7n]] },
  { name: 'more units than shares: every share, no more', n: 1000n, window: [['a', 13n], ['b', 5n], ['c', 7n]] },
]

for (const { name, n, window } of windows) {
  t.test(`PPLNS window, N = ${n}: ${name}`, async (t) => {
    t.same([...pplnsWindow(SHARES, n)], window)
  })
}

t.test('zero-unit shares weigh nothing, also at the boundary', async (t) => {
  t.same([...pplnsWindow([s('z', 0n), s('a', 4n), s('y', 0n), s('b', 4n)], 4n)], [['a', 4n]])
  t.same([...pplnsWindow([s('a', 4n), s('z', 0n), s('b', 4n)], 5n)], [['a', 4n], ['b', 1n]])
})

t.test('PPLNS reads shares only until the window is full', async (t) => {
  let read = 0
  function* endless(): Generator<ShareWeight> {
    for (;;) {
      read++
      yield s(read % 2 === 0 ? 'even' : 'odd', 3n)
    }
  }
  const split = splitPplns({ reward: 100n, shares: endless(), windowUnits: 10n, feeBasisPoints: 0 })
  t.equal(read, 4, 'four shares of 3 fill a window of 10')
  t.same([...split.units], [['even', 4n], ['odd', 6n]])
  t.same([...split.credits], [['even', 40n], ['odd', 60n]])
  t.equal(split.totalUnits, 10n)
})

t.test('worked split: 2 % of 100 sat, then 98 over 10:5 units', async (t) => {
  // a: 98 * 10 / 15 = 65 rem 5; b: 98 * 5 / 15 = 32 rem 10; the 1 sat left goes to b.
  const split = splitPplns({ reward: 100n, shares: SHARES, windowUnits: 15n, feeBasisPoints: 200 })
  t.equal(split.fee, 2n)
  t.same([...split.credits], [['a', 65n], ['b', 33n]])
})

t.test('a reward smaller than the number of accounts: largest remainders, then name order', async (t) => {
  t.same([...splitProportionally(1n, [s('b', 1n), s('a', 1n)])], [['a', 1n]], 'a tie goes to the first name')
  t.same([...splitProportionally(1n, [s('a', 1n), s('B', 1n)])], [['B', 1n]], 'by code units: uppercase before lowercase, whatever the locale')
  // a and b are owed 0.5 each, c exactly 1: c gets its 1, the last sat goes to a (a tie with b, by name).
  t.same([...splitProportionally(2n, [s('c', 2n), s('b', 1n), s('a', 1n)])], [['a', 1n], ['c', 1n]], 'exact shares first, then ties by name')
  // 10 over 1:1:1: 3.33 each, the extra sat to a by name.
  t.same([...splitProportionally(10n, [s('c', 1n), s('b', 1n), s('a', 1n)])], [['a', 4n], ['b', 3n], ['c', 3n]])
  // 8 over 1:2:4: 1.14, 2.29, 4.57 -> floors 1, 2, 4 and the sat to the largest remainder (c, .57).
  t.same([...splitProportionally(8n, [s('a', 1n), s('b', 2n), s('c', 4n)])], [['a', 1n], ['b', 2n], ['c', 5n]])
  t.same([...splitProportionally(0n, [s('a', 1n)])], [], 'nothing to split: no credits')
  t.same([...splitProportionally(0n, [])], [], 'nothing to split over nobody: no credits')
})

t.test('a 100 % fee takes everything; a 0 % fee nothing', async (t) => {
  const all = splitProp({ reward: 625_000_000n, shares: SHARES, feeBasisPoints: 10_000 })
  t.equal(all.fee, 625_000_000n)
  t.same([...all.credits], [])
  const none = splitProp({ reward: 625_000_000n, shares: SHARES, feeBasisPoints: 0 })
  t.equal(none.fee, 0n)
  t.same([...none.credits], [['a', 325_000_000n], ['b', 125_000_000n], ['c', 175_000_000n]])
})

t.test('PROP over a round: the units of the round, in any order', async (t) => {
  const split = splitProp({ reward: 312_500_000n, shares: [...SHARES].reverse(), feeBasisPoints: 200 })
  t.equal(split.fee, 6_250_000n)
  t.same([...split.units], [['a', 13n], ['b', 5n], ['c', 7n]])
  // 306,250,000 * 13/25 = 159,250,000; * 5/25 = 61,250,000; * 7/25 = 85,750,000: exact.
  t.same([...split.credits], [['a', 159_250_000n], ['b', 61_250_000n], ['c', 85_750_000n]])
})

t.test('SOLO', async (t) => {
  t.same(splitSolo({ reward: 312_500_000n, finder: 'bob.rig1', feeBasisPoints: 200 }), { fee: 6_250_000n, credits: new Map([['bob.rig1', 306_250_000n]]) })
  t.same(splitSolo({ reward: 49n, finder: 'x', feeBasisPoints: 200 }), { fee: 0n, credits: new Map([['x', 49n]]) }, 'the fee is rounded down')
  t.same(splitSolo({ reward: 10n, finder: 'x', feeBasisPoints: 10_000 }), { fee: 10n, credits: new Map() })
})

t.test('pplnsWindowUnits: factor x network difficulty x 2^32', async (t) => {
  t.equal(DEFAULT_PPLNS_FACTOR, 2)
  t.equal(pplnsWindowUnits(1), 2n * UNITS_PER_DIFFICULTY)
  t.equal(pplnsWindowUnits(1, 0.5), UNITS_PER_DIFFICULTY / 2n)
  t.equal(pplnsWindowUnits(126_411_437_451_912.23, 2), 1_085_865_979_392_625_238_605_824n, 'a 2025 mainnet difficulty')
  t.equal(pplnsWindowUnits(2 ** -32, 1), 1n, 'the smallest window')
})

/** Invalid inputs: each must throw the error named. */
const invalid: { name: string; error: typeof RangeError | typeof TypeError; run: () => unknown }[] = [
  { name: 'negative units', error: RangeError, run: () => splitProp({ reward: 1n, shares: [s('a', -1n)], feeBasisPoints: 0 }) },
  { name: 'units as a number', error: TypeError, run: () => splitProp({ reward: 1n, shares: [{ account: 'a', units: 1 as unknown as bigint }], feeBasisPoints: 0 }) },
  { name: 'an empty account name', error: TypeError, run: () => splitProp({ reward: 1n, shares: [s('', 1n)], feeBasisPoints: 0 }) },
  { name: 'a share that is not an object', error: TypeError, run: () => splitProp({ reward: 1n, shares: [null as unknown as ShareWeight], feeBasisPoints: 0 }) },
  { name: 'negative units in the PPLNS window', error: RangeError, run: () => pplnsWindow([s('a', -5n), s('b', 10n)], 3n) },
  { name: 'a PPLNS window of 0 units', error: RangeError, run: () => splitPplns({ reward: 1n, shares: SHARES, windowUnits: 0n, feeBasisPoints: 0 }) },
  { name: 'a PPLNS window as a number', error: TypeError, run: () => splitPplns({ reward: 1n, shares: SHARES, windowUnits: 10 as unknown as bigint, feeBasisPoints: 0 }) },
  { name: 'a fee above 100 %', error: RangeError, run: () => splitProp({ reward: 1n, shares: SHARES, feeBasisPoints: 10_001 }) },
  { name: 'a negative fee', error: RangeError, run: () => splitPplns({ reward: 1n, shares: SHARES, windowUnits: 1n, feeBasisPoints: -1 }) },
  { name: 'a fractional fee', error: RangeError, run: () => splitSolo({ reward: 1n, finder: 'a', feeBasisPoints: 1.5 }) },
  { name: 'a negative reward', error: RangeError, run: () => splitProp({ reward: -1n, shares: SHARES, feeBasisPoints: 0 }) },
  { name: 'a reward above MAX_MONEY', error: RangeError, run: () => splitSolo({ reward: 2_100_000_000_000_001n, finder: 'a', feeBasisPoints: 0 }) },
  { name: 'a reward as a number', error: TypeError, run: () => splitPplns({ reward: 1 as unknown as bigint, shares: SHARES, windowUnits: 1n, feeBasisPoints: 0 }) },
  { name: 'a reward and no shares', error: RangeError, run: () => splitProp({ reward: 1n, shares: [], feeBasisPoints: 0 }) },
  { name: 'a reward and only 0-unit shares', error: RangeError, run: () => splitPplns({ reward: 1n, shares: [s('a', 0n)], windowUnits: 5n, feeBasisPoints: 200 }) },
  { name: 'SOLO without a finder', error: TypeError, run: () => splitSolo({ reward: 1n, finder: '', feeBasisPoints: 0 }) },
  { name: 'a network difficulty of 0', error: RangeError, run: () => pplnsWindowUnits(0) },
  { name: 'a NaN network difficulty', error: RangeError, run: () => pplnsWindowUnits(NaN) },
  { name: 'a negative factor', error: RangeError, run: () => pplnsWindowUnits(1, -2) },
  { name: 'an infinite factor', error: RangeError, run: () => pplnsWindowUnits(1, Infinity) },
  { name: 'a window under one unit', error: RangeError, run: () => pplnsWindowUnits(2 ** -40, 1) },
]

for (const { name, error, run } of invalid) {
  t.test(`rejects ${name}`, async (t) => {
    t.throws(run, error)
  })
}

t.test('a 100 % fee with no shares is fine: nothing is left to split', async (t) => {
  t.same(splitProp({ reward: 5n, shares: [], feeBasisPoints: 10_000 }), { fee: 5n, credits: new Map(), units: new Map(), totalUnits: 0n })
})
