/**
 * The payout threshold: balances at or above it are paid out in full, the
 * rest carry over to the next payout run (a payout below the threshold
 * would cost more in transaction fees than it is worth).
 */
import { checkSats, MAX_MONEY_SATS } from './amount.js'
import { checkAccount, sortedByAccount } from './split.js'

/** Default payout threshold: 0.001 BTC. */
export const DEFAULT_PAYOUT_THRESHOLD_SATS = 100_000n

/** Balances split into what is paid now and what carries over. */
export interface PayoutSelection {
  /** Accounts at or above the threshold and their whole balance, ordered by name. */
  readonly payouts: ReadonlyMap<string, bigint>
  /** Accounts below the threshold (and above 0) and their balance, ordered by name. */
  readonly carried: ReadonlyMap<string, bigint>
}

/**
 * Splits `balances` (satoshis per account) at `thresholdSats`: an account
 * with a balance `>= thresholdSats` is paid its whole balance; one with less
 * (but more than 0) keeps it; accounts at 0 appear in neither.
 * `sum(payouts) + sum(carried) === sum(balances)`.
 *
 * @throws RangeError on a negative balance (balances never go negative) or
 *   one above MAX_MONEY_SATS, or a threshold outside [1, MAX_MONEY_SATS].
 */
export function selectPayouts(balances: ReadonlyMap<string, bigint>, thresholdSats: bigint = DEFAULT_PAYOUT_THRESHOLD_SATS): PayoutSelection {
  if (typeof thresholdSats !== 'bigint' || thresholdSats < 1n || thresholdSats > MAX_MONEY_SATS) {
    throw new RangeError(`thresholdSats: expected a bigint 1 to ${MAX_MONEY_SATS}, got ${String(thresholdSats)}`)
  }
  const payouts = new Map<string, bigint>()
  const carried = new Map<string, bigint>()
  for (const [account, balance] of balances) {
    checkAccount('balance account', account)
    checkSats(`balance of ${account}`, balance)
    if (balance >= thresholdSats) payouts.set(account, balance)
    else if (balance > 0n) carried.set(account, balance)
  }
  return { payouts: sortedByAccount(payouts), carried: sortedByAccount(carried) }
}
