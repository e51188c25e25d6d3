/**
 * PPS, pay per share: every share earns its expected value at once,
 * `reward × shareUnits / networkUnits`, minus the pool fee, whether or not
 * the pool finds a block. (The pool carries the variance; `reward` is what a
 * block would pay now: subsidy + expected transaction fees.)
 *
 * Exact integer math with carried remainders. For a batch of shares at one
 * network difficulty D (in units) and reward R, let d = D × 10000. An
 * account with u units in the batch is owed, exactly,
 *
 *     R × u × (10000 - bp) / d   satoshis,   and the fee is   R × U × bp / d
 *
 * (U = the batch's units). Nothing is rounded away: the account is credited
 * the whole satoshis of (owed + its carry) and keeps the fraction as its new
 * carry, a numerator over d, in [0, d); the fee likewise keeps its own carry.
 * So per batch, exactly,
 *
 *     (sum(credits) + fee) × d + sum(new carries) = R × U × 10000 + sum(old carries)
 *
 * and over any number of batches at one network difficulty an account's
 * credits add up to the floor of the exact total it earned, to the satoshi,
 * whatever the rewards were (the denominator does not depend on R).
 *
 * When the network difficulty changes (every 2016 blocks) the carries are
 * re-expressed over the new denominator, rounded down: each account (and
 * the fee) loses less than 1/d satoshi (~2e-28 sat at today's difficulty)
 * per change. That is the only rounding, and it is deterministic.
 *
 * The ledger stores the returned `carry` and passes it to the next batch.
 */
import { checkSats } from './amount.js'
import { BASIS_POINTS, checkBasisPoints } from './fee.js'
import { checkAccount, compareAccounts, type ShareWeight, unitsByAccount } from './split.js'

/** The fractions of a satoshi owed and not yet credited: numerators over `denominator`. */
export interface PpsCarry {
  /** network difficulty units × 10000 of the batch that left these carries. */
  readonly denominator: bigint
  /** Per account, a numerator in [0, denominator); accounts with none left out, ordered by name. */
  readonly accounts: ReadonlyMap<string, bigint>
  /** The fee's carried numerator, in [0, denominator). */
  readonly fee: bigint
}

/** Inputs to `creditPps`. */
export interface PpsInput {
  /** What a block would pay now, in satoshis: subsidy + expected transaction fees. */
  readonly reward: bigint
  /** The network difficulty in units (`difficultyUnits(getdifficulty)`), >= 1. */
  readonly networkUnits: bigint
  /** The batch's shares, any order, per share or aggregated per account. */
  readonly shares: Iterable<ShareWeight>
  /** Pool fee in basis points, 0-10000 (200 = 2 %). */
  readonly feeBasisPoints: number
  /** The carry the previous batch returned; none for the first batch. */
  readonly carry?: PpsCarry | undefined
}

/** What a PPS batch credits. */
export interface PpsCredit {
  /** Whole satoshis per account, ordered by name; accounts credited 0 left out. */
  readonly credits: ReadonlyMap<string, bigint>
  /** Whole satoshis of fee, for the treasury account. */
  readonly fee: bigint
  /** The fractions still owed, for the next batch. */
  readonly carry: PpsCarry
}

/**
 * Credits one batch of shares by PPS (see the module comment for the exact
 * formula and the remainder rule). Deterministic; does not depend on the
 * order of `shares`; does not modify `carry`.
 *
 * @throws RangeError on a bad amount, fee, network difficulty, share or carry.
 */
export function creditPps(input: PpsInput): PpsCredit {
  checkSats('reward', input.reward)
  checkBasisPoints(input.feeBasisPoints)
  const { networkUnits } = input
  if (typeof networkUnits !== 'bigint') throw new TypeError(`networkUnits: expected a bigint of difficulty units, got ${typeof networkUnits}`)
  if (networkUnits < 1n) throw new RangeError(`networkUnits: expected at least 1 difficulty unit, got ${networkUnits}`)
  const carry = input.carry
  if (carry !== undefined) checkCarry(carry)

  const d = networkUnits * BigInt(BASIS_POINTS)
  const rebase =
    carry === undefined || carry.denominator === d ? (n: bigint): bigint => n : (n: bigint): bigint => (n * d) / carry.denominator
  const bp = BigInt(input.feeBasisPoints)
  const minerPart = input.reward * (BigInt(BASIS_POINTS) - bp)

  const units = unitsByAccount(input.shares)
  const accounts = new Set([...units.keys(), ...(carry?.accounts.keys() ?? [])])
  const credits = new Map<string, bigint>()
  const carried = new Map<string, bigint>()
  let totalUnits = 0n
  for (const account of [...accounts].sort(compareAccounts)) {
    const u = units.get(account) ?? 0n
    totalUnits += u
    const owed = minerPart * u + rebase(carry?.accounts.get(account) ?? 0n)
    if (owed / d > 0n) credits.set(account, owed / d)
    if (owed % d > 0n) carried.set(account, owed % d)
  }
  const feeOwed = input.reward * totalUnits * bp + rebase(carry?.fee ?? 0n)
  return { credits, fee: feeOwed / d, carry: { denominator: d, accounts: carried, fee: feeOwed % d } }
}

function checkCarry(carry: PpsCarry): void {
  const { denominator } = carry
  if (typeof denominator !== 'bigint' || denominator < 1n) throw new RangeError(`carry.denominator: expected a bigint >= 1, got ${String(denominator)}`)
  const inRange = (name: string, n: bigint): void => {
    if (typeof n !== 'bigint' || n < 0n || n >= denominator) throw new RangeError(`${name}: expected a bigint in [0, ${denominator}), got ${String(n)}`)
  }
  inRange('carry.fee', carry.fee)
  for (const [account, n] of carry.accounts) {
    checkAccount('carry account', account)
    inRange(`carry of ${account}`, n)
  }
}
