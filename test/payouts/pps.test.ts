/**
 * PPS: worked values, the carried remainders, and properties over random
 * batches: each batch is exact to the last fraction of a satoshi, many
 * batches at one network difficulty credit each account the floor of what
 * it earned in total (to the satoshi, whatever the rewards), a difficulty
 * change loses less than 1/d sat per account, and order does not matter.
 */
import t, { type Test } from 'tap'
import { creditPps, difficultyUnits, UNITS_PER_DIFFICULTY, type PpsCarry, type ShareWeight } from '../../src/payouts/index.js'
import { Arbitrary, entries, sortedKeys, sum } from '../helpers/payout-arbitrary.js'

const D = UNITS_PER_DIFFICULTY
const s = (account: string, units: bigint): ShareWeight => ({ account, units })

t.test('a difficulty-1 share at network difficulty 1000 earns reward / 1000, minus the fee', async (t) => {
  const r = creditPps({ reward: 312_500_000n, networkUnits: 1000n * D, shares: [s('a', D)], feeBasisPoints: 200 })
  t.same(entries(r.credits), [['a', 306_250n]])
  t.equal(r.fee, 6_250n)
  t.same(entries(r.carry.accounts), [])
  t.equal(r.carry.fee, 0n)
  t.equal(r.carry.denominator, 1000n * D * 10_000n)
})

t.test('fractions of a satoshi are carried, not lost: three thirds make one', async (t) => {
  let carry: PpsCarry | undefined
  const credited: bigint[] = []
  for (let i = 0; i < 3; i++) {
    const r = creditPps({ reward: 1n, networkUnits: 3n * D, shares: [s('a', D)], feeBasisPoints: 0, carry })
    credited.push(r.credits.get('a') ?? 0n)
    carry = r.carry
  }
  t.same(credited, [0n, 0n, 1n])
  t.same(entries(carry?.accounts ?? new Map()), [], 'nothing left over')
})

t.test('an account with a carry and no shares keeps its carry', async (t) => {
  const first = creditPps({ reward: 1n, networkUnits: 3n * D, shares: [s('a', D), s('b', D)], feeBasisPoints: 0 })
  const second = creditPps({ reward: 1n, networkUnits: 3n * D, shares: [s('b', 2n * D)], feeBasisPoints: 0, carry: first.carry })
  t.same(entries(second.credits), [['b', 1n]])
  t.same(entries(second.carry.accounts), [['a', first.carry.accounts.get('a')]])
  t.same(entries(first.carry.accounts), [['a', 10_000n * D], ['b', 10_000n * D]], 'the input carry is not modified')
})

t.test('a new network difficulty rebases the carry over the new denominator, rounding down', async (t) => {
  // 1/3 sat carried at difficulty 3; at difficulty 2 the carry becomes floor(1/3 * d') / d'.
  const first = creditPps({ reward: 1n, networkUnits: 3n * D, shares: [s('a', D)], feeBasisPoints: 0 })
  const second = creditPps({ reward: 0n, networkUnits: 2n * D, shares: [], feeBasisPoints: 0, carry: first.carry })
  const d = 2n * D * 10_000n
  t.equal(second.carry.denominator, d)
  t.equal(second.carry.accounts.get('a'), d / 3n)
})

/** A bigint fraction, reduced. */
class Fraction {
  constructor(
    readonly n: bigint,
    readonly d: bigint,
  ) {}
  plus(o: Fraction): Fraction {
    const n = this.n * o.d + o.n * this.d
    const d = this.d * o.d
    const g = gcd(n, d)
    return new Fraction(n / g, d / g)
  }
  compare(o: Fraction): number {
    const a = this.n * o.d
    const b = o.n * this.d
    return a < b ? -1 : a > b ? 1 : 0
  }
}
function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a
  while (b !== 0n) [a, b] = [b, a % b]
  return a === 0n ? 1n : a
}

/** A random network difficulty in units: 1e-2 to 1e14. */
function networkUnits(arb: Arbitrary): bigint {
  return difficultyUnits(10 ** (arb.next() * 16 - 2)) + 1n
}

/** Runs `check` on `cases` seeds and asserts no problems. */
function property(t: Test, name: string, base: number, cases: number, check: (arb: Arbitrary) => string[]): void {
  const failures: string[] = []
  for (let k = 0; k < cases; k++) for (const p of check(new Arbitrary(base + k))) failures.push(`seed ${base + k}: ${p}`)
  t.same(failures.slice(0, 5), [], `${name} (${cases} cases)`)
}

t.test('every batch is exact: (credits + fee) x d + new carries = R x U x 10000 + old carries', async (t) => {
  property(t, 'PPS batch', 10_000_000, 2000, (arb) => {
    const problems: string[] = []
    const n = networkUnits(arb)
    const bp = arb.feeBasisPoints()
    let carry: PpsCarry | undefined
    for (let batch = 0; batch < 3; batch++) {
      const reward = arb.reward()
      const shares = arb.shares(50)
      const r = creditPps({ reward, networkUnits: n, shares, feeBasisPoints: bp, carry })
      const d = r.carry.denominator
      const before = carry === undefined ? 0n : sum(carry.accounts.values()) + carry.fee
      const after = sum(r.carry.accounts.values()) + r.carry.fee
      const units = sum(shares.map((x) => x.units))
      if ((sum(r.credits.values()) + r.fee) * d + after !== reward * units * 10_000n + before) problems.push(`batch ${batch} is not exact`)
      for (const [account, c] of r.credits) if (c <= 0n) problems.push(`${account} credited ${c}`)
      for (const [account, c] of r.carry.accounts) if (c <= 0n || c >= d) problems.push(`${account} carries ${c} of ${d}`)
      if (r.carry.fee < 0n || r.carry.fee >= d) problems.push(`fee carry ${r.carry.fee}`)
      if (!sortedKeys(r.credits) || !sortedKeys(r.carry.accounts)) problems.push('not in name order')
      carry = r.carry
    }
    return problems
  })
})

t.test('over many batches at one network difficulty, each account gets the floor of its exact total, whatever the rewards', async (t) => {
  property(t, 'PPS accumulation', 11_000_000, 150, (arb) => {
    const problems: string[] = []
    const n = networkUnits(arb)
    const d = n * 10_000n
    const bp = BigInt(arb.feeBasisPoints())
    const owed = new Map<string, bigint>() // numerators over d
    const credited = new Map<string, bigint>()
    let feeOwed = 0n
    let feeCredited = 0n
    let carry: PpsCarry | undefined
    const batches = 100 + arb.int(200)
    for (let batch = 0; batch < batches; batch++) {
      const reward = arb.chance(0.5) ? arb.below(1000n) : arb.reward()
      const shares = arb.shares(20)
      const r = creditPps({ reward, networkUnits: n, shares, feeBasisPoints: Number(bp), carry })
      for (const { account, units } of shares) {
        owed.set(account, (owed.get(account) ?? 0n) + reward * units * (10_000n - bp))
        feeOwed += reward * units * bp
      }
      for (const [account, c] of r.credits) credited.set(account, (credited.get(account) ?? 0n) + c)
      feeCredited += r.fee
      carry = r.carry
    }
    for (const [account, total] of owed) {
      const got = credited.get(account) ?? 0n
      if (got !== total / d) problems.push(`${account}: credited ${got}, earned floor(${total} / ${d}) = ${total / d}`)
      if (got * d + (carry?.accounts.get(account) ?? 0n) !== total) problems.push(`${account}: credits + carry !== earned`)
    }
    if (feeCredited !== feeOwed / d) problems.push(`fee: ${feeCredited} !== floor(${feeOwed} / ${d})`)
    return problems
  })
})

t.test('at one reward, many batches credit what one batch of all the shares does', async (t) => {
  property(t, 'PPS batching', 12_000_000, 300, (arb) => {
    const n = networkUnits(arb)
    const bp = arb.feeBasisPoints()
    const reward = arb.reward()
    const all: ShareWeight[] = []
    const credited = new Map<string, bigint>()
    let fee = 0n
    let carry: PpsCarry | undefined
    for (let batch = 0; batch < 20; batch++) {
      const shares = arb.shares(20)
      all.push(...shares)
      const r = creditPps({ reward, networkUnits: n, shares, feeBasisPoints: bp, carry })
      for (const [account, c] of r.credits) credited.set(account, (credited.get(account) ?? 0n) + c)
      fee += r.fee
      carry = r.carry
    }
    const once = creditPps({ reward, networkUnits: n, shares: arb.shuffle(all), feeBasisPoints: bp })
    const problems: string[] = []
    if (JSON.stringify(entries(once.credits), big) !== JSON.stringify([...credited].sort(([a], [b]) => (a < b ? -1 : 1)), big)) problems.push('credits differ')
    if (once.fee !== fee) problems.push('fees differ')
    if (JSON.stringify(once.carry, big) !== JSON.stringify(carry, big)) problems.push('carries differ')
    return problems
  })
})

t.test('network difficulty changes lose less than 1/d sat per account per change, never create money', async (t) => {
  property(t, 'PPS retargets', 13_000_000, 200, (arb) => {
    const problems: string[] = []
    const bp = BigInt(arb.feeBasisPoints())
    let n = networkUnits(arb)
    let changes = 0
    let smallestD = n * 10_000n
    const exact = new Map<string, Fraction>()
    const credited = new Map<string, bigint>()
    let carry: PpsCarry | undefined
    for (let batch = 0; batch < 40; batch++) {
      if (arb.chance(0.2)) {
        // a retarget: at most 4x either way, as in Bitcoin
        const next = (n * BigInt(1 + arb.int(16))) / BigInt(1 + arb.int(4)) / 4n
        n = next > 0n ? next : 1n
        changes++
        if (n * 10_000n < smallestD) smallestD = n * 10_000n
      }
      const reward = arb.reward()
      const shares = arb.shares(20)
      const r = creditPps({ reward, networkUnits: n, shares, feeBasisPoints: Number(bp), carry })
      for (const { account, units } of shares) {
        exact.set(account, (exact.get(account) ?? new Fraction(0n, 1n)).plus(new Fraction(reward * units * (10_000n - bp), n * 10_000n)))
      }
      for (const [account, c] of r.credits) credited.set(account, (credited.get(account) ?? 0n) + c)
      carry = r.carry
    }
    if (carry === undefined) return ['no batch']
    for (const [account, e] of exact) {
      const got = new Fraction(credited.get(account) ?? 0n, 1n).plus(new Fraction(carry.accounts.get(account) ?? 0n, carry.denominator))
      if (got.compare(e) > 0) problems.push(`${account}: credited more than earned`)
      const bound = got.plus(new Fraction(BigInt(changes), smallestD))
      if (changes === 0 ? got.compare(e) !== 0 : bound.compare(e) <= 0) problems.push(`${account}: lost ${changes === 0 ? 'something without a change' : `at least ${changes}/${smallestD}`}`)
    }
    return problems
  })
})

t.test('deterministic and independent of share order', async (t) => {
  property(t, 'PPS order', 14_000_000, 1000, (arb) => {
    const n = networkUnits(arb)
    const bp = arb.feeBasisPoints()
    const reward = arb.reward()
    const first = creditPps({ reward, networkUnits: n, shares: arb.shares(30), feeBasisPoints: bp })
    const shares = arb.shares(30)
    const a = creditPps({ reward, networkUnits: n, shares, feeBasisPoints: bp, carry: first.carry })
    const b = creditPps({ reward, networkUnits: n, shares: arb.shuffle([...shares]), feeBasisPoints: bp, carry: first.carry })
    const show = (r: typeof a): string => JSON.stringify([entries(r.credits), r.fee, r.carry.denominator, entries(r.carry.accounts), r.carry.fee], big)
    return show(a) === show(b) ? [] : ['shuffled shares credit differently']
  })
})

const carryOf = (over: Partial<{ denominator: bigint; accounts: Map<string, bigint>; fee: bigint }>): PpsCarry => ({ denominator: 10n, accounts: new Map(), fee: 0n, ...over })
const invalid: { name: string; error: typeof RangeError | typeof TypeError; run: () => unknown }[] = [
  { name: 'a network difficulty of 0 units', error: RangeError, run: () => creditPps({ reward: 1n, networkUnits: 0n, shares: [], feeBasisPoints: 0 }) },
  { name: 'a network difficulty as a number', error: TypeError, run: () => creditPps({ reward: 1n, networkUnits: 5 as unknown as bigint, shares: [], feeBasisPoints: 0 }) },
  { name: 'a carry denominator of 0', error: RangeError, run: () => creditPps({ reward: 1n, networkUnits: 1n, shares: [], feeBasisPoints: 0, carry: carryOf({ denominator: 0n }) }) },
  { name: 'a carry of a whole satoshi', error: RangeError, run: () => creditPps({ reward: 1n, networkUnits: 1n, shares: [], feeBasisPoints: 0, carry: carryOf({ accounts: new Map([['a', 10n]]) }) }) },
  { name: 'a negative carry', error: RangeError, run: () => creditPps({ reward: 1n, networkUnits: 1n, shares: [], feeBasisPoints: 0, carry: carryOf({ accounts: new Map([['a', -1n]]) }) }) },
  { name: 'a fee carry out of range', error: RangeError, run: () => creditPps({ reward: 1n, networkUnits: 1n, shares: [], feeBasisPoints: 0, carry: carryOf({ fee: 11n }) }) },
  { name: 'a carry for an unnamed account', error: TypeError, run: () => creditPps({ reward: 1n, networkUnits: 1n, shares: [], feeBasisPoints: 0, carry: carryOf({ accounts: new Map([['', 1n]]) }) }) },
  { name: 'a fee above 100 %', error: RangeError, run: () => creditPps({ reward: 1n, networkUnits: 1n, shares: [], feeBasisPoints: 20_000 }) },
  { name: 'a reward above MAX_MONEY', error: RangeError, run: () => creditPps({ reward: 10n ** 16n, networkUnits: 1n, shares: [], feeBasisPoints: 0 }) },
  { name: 'negative share units', error: RangeError, run: () => creditPps({ reward: 1n, networkUnits: 1n, shares: [s('a', -1n)], feeBasisPoints: 0 }) },
]
for (const { name, error, run } of invalid) {
  t.test(`rejects ${name}`, async (t) => {
    t.throws(run, error)
  })
}

/** JSON.stringify replacer for bigints. */
function big(_key: string, value: unknown): unknown {
  if (value instanceof Map) return [...(value as Map<unknown, unknown>)]
  return typeof value === 'bigint' ? `${value}n` : value
}
