/**
 * Property tests of PPLNS, PROP and SOLO over thousands of random share
 * sets (random accounts, fractional difficulties, rewards up to 21e14 sats,
 * fees 0-10000 bp, tiny to huge windows). Every case is replayable from its
 * seed. Each property collects the failing seeds and asserts once.
 */
import t, { type Test } from 'tap'
import {
  BASIS_POINTS,
  poolFee,
  pplnsWindow,
  splitPplns,
  splitProp,
  splitProportionally,
  splitSolo,
  unitsByAccount,
  type ShareSplit,
  type ShareWeight,
} from '../../src/payouts/index.js'
import { Arbitrary, entries, sortedKeys, sum } from '../helpers/payout-arbitrary.js'

const CASES = 3000

/** Runs `check` on CASES seeds from `base`; asserts no seed found a problem (listing the first few). */
function property(t: Test, name: string, base: number, check: (arb: Arbitrary) => string[]): void {
  const failures: string[] = []
  for (let k = 0; k < CASES; k++) {
    const seed = base + k
    for (const problem of check(new Arbitrary(seed))) failures.push(`seed ${seed}: ${problem}`)
  }
  t.same(failures.slice(0, 5), [], `${name} (${CASES} cases)`)
}

/**
 * Everything a split of `reward` over `units` at `bp` must satisfy: exact
 * sum, the fee rule, no negative or zero credit, name order, credits only
 * for accounts with units, each credit within 1 sat of its exact share
 * (rounded up only when fractional), and the largest remainders rounded up
 * first, ties by name.
 */
function splitProblems(reward: bigint, bp: number, units: ReadonlyMap<string, bigint>, split: ShareSplit | { fee: bigint; credits: ReadonlyMap<string, bigint> }): string[] {
  const problems: string[] = []
  const fee = (reward * BigInt(bp)) / BigInt(BASIS_POINTS)
  if (split.fee !== fee) problems.push(`fee ${split.fee} !== floor(${reward} * ${bp} / 10000) = ${fee}`)
  if (sum(split.credits.values()) + split.fee !== reward) problems.push(`sum(credits) + fee = ${sum(split.credits.values()) + split.fee} !== reward ${reward}`)
  for (const [account, credit] of split.credits) {
    if (credit <= 0n) problems.push(`${account} credited ${credit}`)
    if (!units.has(account)) problems.push(`${account} credited without units`)
  }
  if (!sortedKeys(split.credits)) problems.push('credits not in name order')
  const total = sum(units.values())
  const amount = reward - split.fee
  const rounded: { account: string; remainder: bigint; up: boolean }[] = []
  for (const [account, u] of units) {
    const credit = split.credits.get(account) ?? 0n
    const floor = (amount * u) / total
    const remainder = (amount * u) % total
    if (credit !== floor && credit !== floor + 1n) problems.push(`${account}: ${credit} is not within 1 sat of ${amount} * ${u} / ${total}`)
    if (credit === floor + 1n && remainder === 0n) problems.push(`${account}: rounded up an exact share`)
    rounded.push({ account, remainder, up: credit === floor + 1n })
  }
  for (const a of rounded.filter((r) => r.up)) {
    for (const b of rounded.filter((r) => !r.up && r.remainder > 0n)) {
      if (a.remainder < b.remainder || (a.remainder === b.remainder && a.account > b.account)) {
        problems.push(`${a.account} (remainder ${a.remainder}) rounded up before ${b.account} (remainder ${b.remainder})`)
      }
    }
  }
  return problems
}

/** The PPLNS window computed another way: share i starts `before` units back and counts clamp(N - before, 0, units). */
function referenceWindow(shares: readonly ShareWeight[], n: bigint): Map<string, bigint> {
  const window = new Map<string, bigint>()
  let before = 0n
  for (const { account, units } of shares) {
    const counted = n - before <= 0n ? 0n : n - before < units ? n - before : units
    before += units
    if (counted > 0n) window.set(account, (window.get(account) ?? 0n) + counted)
  }
  return new Map([...window].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** A window size: 1 unit, inside the first share, at a share boundary, one unit past one, inside the list, past the end, huge. */
function windowFor(arb: Arbitrary, shares: readonly ShareWeight[]): { kind: string; n: bigint } {
  const total = sum(shares.map((s) => s.units))
  const first = shares[0]?.units ?? 0n
  const boundary = sum(shares.slice(0, 1 + arb.int(shares.length)).map((s) => s.units))
  const options = [
    { kind: 'one unit', n: 1n },
    { kind: 'inside the first share', n: first > 1n ? 1n + arb.below(first - 1n) : 1n },
    { kind: 'at a share boundary', n: boundary > 0n ? boundary : 1n },
    { kind: 'one unit past a share boundary', n: boundary + 1n },
    { kind: 'inside the list', n: total > 1n ? 1n + arb.below(total) : 1n },
    { kind: 'exactly all shares', n: total > 0n ? total : 1n },
    { kind: 'more units than shares', n: total + 1n + arb.below(total + 1n) },
    { kind: 'huge', n: 2n ** 200n },
  ]
  return arb.pick(options)
}

/** Cuts one random share in two adjacent entries of the same account (the same shares, differently grouped). */
function splitOneEntry(arb: Arbitrary, shares: readonly ShareWeight[]): ShareWeight[] {
  const i = arb.int(shares.length)
  const share = shares[i] as ShareWeight
  const part = share.units > 0n ? arb.below(share.units + 1n) : 0n
  return [...shares.slice(0, i), { account: share.account, units: part }, { account: share.account, units: share.units - part }, ...shares.slice(i + 1)]
}

t.test('PROP: exact sum, fee rule, no negatives, proportional within 1 sat, largest remainders first', async (t) => {
  property(t, 'PROP', 1_000_000, (arb) => {
    const reward = arb.reward()
    const bp = arb.feeBasisPoints()
    const shares = arb.shares()
    const units = unitsByAccount(shares)
    if (sum(units.values()) === 0n) return []
    const split = splitProp({ reward, shares, feeBasisPoints: bp })
    const problems = splitProblems(reward, bp, units, split)
    if (split.totalUnits !== sum(units.values())) problems.push('totalUnits is not the sum of units')
    return problems
  })
})

t.test('PROP: deterministic, independent of share order and of how shares are grouped', async (t) => {
  property(t, 'PROP order', 2_000_000, (arb) => {
    const reward = arb.reward()
    const bp = arb.feeBasisPoints()
    const shares = arb.shares()
    if (sum(shares.map((s) => s.units)) === 0n) return []
    const a = splitProp({ reward, shares, feeBasisPoints: bp })
    const again = splitProp({ reward, shares, feeBasisPoints: bp })
    const shuffled = splitProp({ reward, shares: arb.shuffle(splitOneEntry(arb, shares)), feeBasisPoints: bp })
    const aggregated = splitProp({ reward, shares: [...unitsByAccount(shares)].reverse().map(([account, units]) => ({ account, units })), feeBasisPoints: bp })
    const problems: string[] = []
    const same = (name: string, b: ShareSplit): void => {
      if (JSON.stringify(entries(a.credits), big) !== JSON.stringify(entries(b.credits), big) || a.fee !== b.fee) problems.push(`${name} differs`)
    }
    same('a second run', again)
    same('shuffled and regrouped', shuffled)
    same('aggregated per account', aggregated)
    return problems
  })
})

t.test('PPLNS: exact sum, fee rule, proportional to the window, window cut at exactly N units', async (t) => {
  const kinds = new Map<string, number>()
  property(t, 'PPLNS', 3_000_000, (arb) => {
    const reward = arb.reward()
    const bp = arb.feeBasisPoints()
    const shares = arb.shares()
    const { kind, n } = windowFor(arb, shares)
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
    const expected = referenceWindow(shares, n)
    const window = pplnsWindow(shares, n)
    const problems: string[] = []
    if (JSON.stringify(entries(window), big) !== JSON.stringify(entries(expected), big)) problems.push(`window (${kind}, N = ${n}) differs from the reference`)
    const all = sum(shares.map((s) => s.units))
    const held = sum(window.values())
    if (held !== (n < all ? n : all)) problems.push(`window (${kind}) holds ${held}, not min(N ${n}, all ${all})`)
    if (held === 0n) return problems
    const split = splitPplns({ reward, shares, windowUnits: n, feeBasisPoints: bp })
    problems.push(...splitProblems(reward, bp, expected, split))
    if (split.totalUnits !== held) problems.push('totalUnits is not the window total')
    return problems
  })
  t.equal(kinds.size, 8, `every window kind was drawn: ${JSON.stringify([...kinds])}`)
})

t.test('PPLNS: deterministic, independent of how shares are grouped; the same as PROP once the window holds every share', async (t) => {
  property(t, 'PPLNS grouping', 4_000_000, (arb) => {
    const reward = arb.reward()
    const bp = arb.feeBasisPoints()
    const shares = arb.shares()
    const { n } = windowFor(arb, shares)
    if (sum(pplnsWindow(shares, n).values()) === 0n) return []
    const a = splitPplns({ reward, shares, windowUnits: n, feeBasisPoints: bp })
    const problems: string[] = []
    const same = (name: string, b: { fee: bigint; credits: ReadonlyMap<string, bigint> }): void => {
      if (JSON.stringify(entries(a.credits), big) !== JSON.stringify(entries(b.credits), big) || a.fee !== b.fee) problems.push(`${name} differs`)
    }
    same('a second run', splitPplns({ reward, shares, windowUnits: n, feeBasisPoints: bp }))
    same('regrouped', splitPplns({ reward, shares: splitOneEntry(arb, shares), windowUnits: n, feeBasisPoints: bp }))
    const all = sum(shares.map((s) => s.units))
    if (n >= all) {
      same('PROP over the same shares', splitProp({ reward, shares, feeBasisPoints: bp }))
      same('PPLNS over the shares shuffled', splitPplns({ reward, shares: arb.shuffle([...shares]), windowUnits: n, feeBasisPoints: bp }))
    }
    return problems
  })
})

t.test('SOLO: the finder takes reward - floor(fee), nobody else', async (t) => {
  property(t, 'SOLO', 5_000_000, (arb) => {
    const reward = arb.reward()
    const bp = arb.feeBasisPoints()
    const finder = arb.pick(arb.accounts())
    const split = splitSolo({ reward, finder, feeBasisPoints: bp })
    const problems = splitProblems(reward, bp, new Map([[finder, 1n]]), split)
    if (split.credits.size > 1) problems.push('more than one account credited')
    if (reward - split.fee > 0n && split.credits.get(finder) !== reward - split.fee) problems.push('the finder does not get reward - fee')
    return problems
  })
})

t.test('splitProportionally: exact and within 1 sat for huge weights and any amount', async (t) => {
  property(t, 'splitProportionally', 6_000_000, (arb) => {
    const amount = arb.reward()
    const shares = arb.shares(30).map((s) => ({ account: s.account, units: arb.chance(0.3) ? arb.below(2n ** 200n) : s.units }))
    const units = unitsByAccount(shares)
    if (sum(units.values()) === 0n) return []
    const credits = splitProportionally(amount, shares)
    return splitProblems(amount, 0, units, { fee: 0n, credits })
  })
})

t.test('the fee is floor(reward * bp / 10000) and never more than the reward', async (t) => {
  property(t, 'poolFee', 7_000_000, (arb) => {
    const reward = arb.reward()
    const bp = arb.feeBasisPoints()
    const fee = poolFee(reward, bp)
    const problems: string[] = []
    // fee <= reward * bp / 10000 < fee + 1, checked without division
    if (!(fee * 10_000n <= reward * BigInt(bp) && reward * BigInt(bp) < (fee + 1n) * 10_000n)) problems.push(`fee ${fee} for ${reward} at ${bp} bp`)
    if (fee < 0n || fee > reward) problems.push(`fee ${fee} outside [0, ${reward}]`)
    return problems
  })
})

/** JSON.stringify replacer for bigints. */
function big(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value
}
