/**
 * Amounts. Money is integer satoshis as `bigint` everywhere in Headframe's
 * accounting: no float ever holds an amount, so every sum is exact and the
 * same inputs give the same satoshis on every machine.
 */

/** Satoshis in one bitcoin. */
export const SATS_PER_BTC = 100_000_000n

/**
 * Bitcoin's `MAX_MONEY` (21 million BTC, in satoshis): no block reward,
 * balance or payout can exceed it, so a larger amount is a unit mistake
 * (BTC multiplied by 1e8 twice) and is rejected.
 */
export const MAX_MONEY_SATS = 21_000_000n * SATS_PER_BTC

/**
 * `sats` as BTC with exactly 8 decimals, from the integer (never via a
 * float): `123456789n` gives `"1.23456789"`, `1n` gives `"0.00000001"`,
 * `-5n` gives `"-0.00000005"` (a reversal).
 */
export function formatBtc(sats: bigint): string {
  if (typeof sats !== 'bigint') throw new TypeError(`formatBtc: expected a bigint amount of satoshis, got ${typeof sats}`)
  const sign = sats < 0n ? '-' : ''
  const abs = sats < 0n ? -sats : sats
  return `${sign}${abs / SATS_PER_BTC}.${(abs % SATS_PER_BTC).toString().padStart(8, '0')}`
}

/** Throws unless `value` is a bigint amount in [0, MAX_MONEY_SATS]; `name` says which argument. */
export function checkSats(name: string, value: bigint): void {
  if (typeof value !== 'bigint') throw new TypeError(`${name}: expected a bigint amount of satoshis, got ${typeof value}`)
  if (value < 0n || value > MAX_MONEY_SATS) throw new RangeError(`${name}: expected 0 to ${MAX_MONEY_SATS} satoshis, got ${value}`)
}
