/**
 * Splitting an amount over accounts in proportion to their weights, exactly.
 *
 * Largest remainder method (Hamilton's method): each account first gets
 * `floor(amount × weight / total)`; the satoshis this leaves (fewer than the
 * number of accounts) go one each to the accounts with the largest
 * remainders `amount × weight mod total`, ties broken by account name
 * (ascending, by UTF-16 code units, locale-independent). So:
 *
 * - the credits add up to `amount` exactly;
 * - every credit is within 1 satoshi of the exact proportional share, and
 *   only an account whose exact share is fractional is rounded up;
 * - the result depends only on the per-account totals, never on the order
 *   of the input or on how an account's weight is divided into entries.
 *
 * Every split used by the schemes (PPLNS, PROP, and any revenue split by
 * the reports) goes through `splitProportionally`.
 */
import { checkSats } from './amount.js'
import { checkBasisPoints, poolFee } from './fee.js'
import { checkUnits } from './units.js'

/**
 * One share, or several shares of one account, as a weight: `units` is
 * difficulty × 2^32 (see `difficultyUnits`), a bigint >= 0.
 */
export interface ShareWeight {
  readonly account: string
  readonly units: bigint
}

/** A reward divided between accounts and the pool fee: `sum(credits) + fee === reward`. */
export interface RewardSplit {
  /** The pool fee, for the treasury account. */
  readonly fee: bigint
  /**
   * Satoshis per account, ordered by account name; only accounts credited
   * at least 1 satoshi appear.
   */
  readonly credits: ReadonlyMap<string, bigint>
}

/** A split by share weights, with the weights it used. */
export interface ShareSplit extends RewardSplit {
  /** The units each account counted for, ordered by account name (accounts with 0 units left out). */
  readonly units: ReadonlyMap<string, bigint>
  /** The sum of `units`. */
  readonly totalUnits: bigint
}

/**
 * Adds up `shares` per account, dropping 0-unit entries; the result is
 * ordered by account name.
 *
 * @throws TypeError / RangeError on an entry whose account is not a
 *   non-empty string or whose units are not a bigint >= 0.
 */
export function unitsByAccount(shares: Iterable<ShareWeight>): Map<string, bigint> {
  const totals = new Map<string, bigint>()
  for (const share of shares) {
    checkShare(share)
    if (share.units === 0n) continue
    totals.set(share.account, (totals.get(share.account) ?? 0n) + share.units)
  }
  return sortedByAccount(totals)
}

/**
 * Splits `amount` satoshis over `weights` (summed per account) by the
 * largest remainder method (see the module comment). Returns the credits
 * ordered by account name, without 0-satoshi entries. With no weight at all
 * only an `amount` of 0 can be split (giving no credits).
 *
 * @throws RangeError if `amount` is outside [0, MAX_MONEY_SATS], a weight
 *   is negative, or `amount > 0` and the weights add up to 0.
 */
export function splitProportionally(amount: bigint, weights: Iterable<ShareWeight>): Map<string, bigint> {
  checkSats('amount', amount)
  return largestRemainder(amount, unitsByAccount(weights))
}

/**
 * The common core of PROP and PPLNS: the fee (`poolFee`) off the top, the
 * rest split over the accounts' units by the largest remainder method.
 * `units` comes from `unitsByAccount` or `pplnsWindow` (validated, > 0,
 * ordered by account name).
 */
export function splitReward(reward: bigint, units: ReadonlyMap<string, bigint>, feeBasisPoints: number): ShareSplit {
  checkSats('reward', reward)
  checkBasisPoints(feeBasisPoints)
  const fee = poolFee(reward, feeBasisPoints)
  let totalUnits = 0n
  for (const u of units.values()) totalUnits += u
  return { fee, credits: largestRemainder(reward - fee, units), units, totalUnits }
}

/** `amount` over `units` (per account, all > 0, ordered by name). */
function largestRemainder(amount: bigint, units: ReadonlyMap<string, bigint>): Map<string, bigint> {
  let total = 0n
  for (const u of units.values()) total += u
  if (total === 0n) {
    if (amount === 0n) return new Map()
    throw new RangeError(`cannot split ${amount} satoshis: no shares (the weights add up to 0 units)`)
  }
  const parts: { account: string; credit: bigint; remainder: bigint }[] = []
  let left = amount
  for (const [account, u] of units) {
    const product = amount * u
    const credit = product / total
    parts.push({ account, credit, remainder: product % total })
    left -= credit
  }
  // `left` < parts.length, and at least `left + 1` parts have a remainder
  // > 0 when `left` > 0, so only fractional shares are rounded up.
  if (left > 0n) {
    const order = [...parts].sort((a, b) => (a.remainder > b.remainder ? -1 : a.remainder < b.remainder ? 1 : compareAccounts(a.account, b.account)))
    for (const part of order.slice(0, Number(left))) part.credit += 1n
  }
  const credits = new Map<string, bigint>()
  for (const { account, credit } of parts) if (credit > 0n) credits.set(account, credit)
  return credits
}

/** Account order everywhere in `src/payouts/`: by UTF-16 code units, independent of locale. */
export function compareAccounts(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** A copy of `map` ordered by account name. */
export function sortedByAccount<V>(map: ReadonlyMap<string, V>): Map<string, V> {
  return new Map([...map].sort(([a], [b]) => compareAccounts(a, b)))
}

/** Throws unless `account` is a non-empty string. */
export function checkAccount(name: string, account: string): void {
  if (typeof account !== 'string' || account === '') throw new TypeError(`${name}: expected a non-empty account name, got ${JSON.stringify(account)}`)
}

function checkShare(share: ShareWeight): void {
  if (typeof share !== 'object' || share === null) throw new TypeError(`share: expected { account, units }, got ${String(share)}`)
  checkAccount('share.account', share.account)
  checkUnits(`units of ${share.account}`, share.units)
}
