/** The payout threshold: a table, invalid inputs, and a property over random balances. */
import t from 'tap'
import { DEFAULT_PAYOUT_THRESHOLD_SATS, MAX_MONEY_SATS, selectPayouts } from '../../src/payouts/index.js'
import { Arbitrary, entries, sortedKeys, sum } from '../helpers/payout-arbitrary.js'

t.test('the default threshold is 0.001 BTC', async (t) => {
  t.equal(DEFAULT_PAYOUT_THRESHOLD_SATS, 100_000n)
})

t.test('at or above the threshold is paid in full; below carries over; 0 is in neither', async (t) => {
  const balances = new Map([
    ['zoe', 100_000n],
    ['bob', 99_999n],
    ['amy', 2_500_000n],
    ['cal', 0n],
    ['dan', 1n],
  ])
  const { payouts, carried } = selectPayouts(balances)
  t.same(entries(payouts), [['amy', 2_500_000n], ['zoe', 100_000n]])
  t.same(entries(carried), [['bob', 99_999n], ['dan', 1n]])
  t.same(entries(selectPayouts(balances, 1n).payouts), [['amy', 2_500_000n], ['bob', 99_999n], ['dan', 1n], ['zoe', 100_000n]], 'a threshold of 1 sat pays everyone with a balance')
  t.same(entries(selectPayouts(new Map()).payouts), [])
})

const invalid: [string, () => unknown, typeof RangeError | typeof TypeError][] = [
  ['a negative balance', () => selectPayouts(new Map([['a', -1n]])), RangeError],
  ['a balance above MAX_MONEY', () => selectPayouts(new Map([['a', MAX_MONEY_SATS + 1n]])), RangeError],
  ['a balance as a number', () => selectPayouts(new Map([['a', 5 as unknown as bigint]])), TypeError],
  ['an unnamed account', () => selectPayouts(new Map([['', 5n]])), TypeError],
  ['a threshold of 0', () => selectPayouts(new Map(), 0n), RangeError],
  ['a threshold above MAX_MONEY', () => selectPayouts(new Map(), MAX_MONEY_SATS + 1n), RangeError],
  ['a threshold as a number', () => selectPayouts(new Map(), 1000 as unknown as bigint), RangeError],
]
for (const [name, run, error] of invalid) t.test(`rejects ${name}`, async (t) => t.throws(run, error))

t.test('property: payouts + carried = balances, each account once, on the right side', async (t) => {
  const failures: string[] = []
  for (let seed = 20_000_000; seed < 20_002_000; seed++) {
    const arb = new Arbitrary(seed)
    const balances = new Map<string, bigint>()
    for (const account of arb.accounts()) balances.set(account, arb.chance(0.5) ? arb.below(300_000n) : arb.reward())
    const threshold = arb.chance(0.3) ? DEFAULT_PAYOUT_THRESHOLD_SATS : 1n + arb.below(1_000_000n)
    const { payouts, carried } = selectPayouts(balances, threshold)
    if (sum(payouts.values()) + sum(carried.values()) !== sum(balances.values())) failures.push(`seed ${seed}: sums differ`)
    for (const [account, balance] of balances) {
      const where = payouts.has(account) ? 'payouts' : carried.has(account) ? 'carried' : 'none'
      const want = balance >= threshold ? 'payouts' : balance > 0n ? 'carried' : 'none'
      if (where !== want || (payouts.has(account) && carried.has(account))) failures.push(`seed ${seed}: ${account} (${balance}) in ${where}, want ${want}`)
      if ((payouts.get(account) ?? carried.get(account) ?? 0n) !== balance) failures.push(`seed ${seed}: ${account} amount changed`)
    }
    if (!sortedKeys(payouts) || !sortedKeys(carried)) failures.push(`seed ${seed}: not in name order`)
  }
  t.same(failures.slice(0, 5), [])
})
