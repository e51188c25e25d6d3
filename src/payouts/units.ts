/**
 * Difficulty units: how share weights are counted.
 *
 * Share difficulties are fractional (vardiff may assign 0.0001 to a CPU
 * miner, bitcoind reports the network difficulty as a float), but weights
 * must add up exactly and deterministically. So every weight in
 * `src/payouts/` is a `bigint` of *difficulty units*: difficulty × 2^32,
 * rounded to an integer. The ledger stores accepted difficulty the same way.
 * One unit is the work of one hash (a difficulty-1 share is 2^32 hashes on
 * average), so nothing a miner can submit is finer than a unit.
 */

/** Difficulty units per difficulty 1: 2^32. */
export const UNITS_PER_DIFFICULTY = 2n ** 32n

/**
 * Difficulty `d` in units: round(d × 2^32), halves rounded up.
 *
 * Exact for every double: multiplying by a power of two only moves the
 * exponent, so the one rounding is the final one to an integer. A share
 * below 2^-33 difficulty rounds to 0 units and weighs nothing.
 *
 * @throws RangeError if `d` is negative, NaN or infinite, or too large for
 *   the product to be finite (above ~4e298).
 */
export function difficultyUnits(d: number): bigint {
  if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) throw new RangeError(`difficultyUnits: expected a finite difficulty >= 0, got ${String(d)}`)
  const scaled = d * 2 ** 32
  if (!Number.isFinite(scaled)) throw new RangeError(`difficultyUnits: difficulty ${d} is too large`)
  return BigInt(Math.round(scaled))
}

/** Throws unless `value` is a bigint of units >= 0; `name` says which argument. */
export function checkUnits(name: string, value: bigint): void {
  if (typeof value !== 'bigint') throw new TypeError(`${name}: expected a bigint of difficulty units, got ${typeof value}`)
  if (value < 0n) throw new RangeError(`${name}: expected difficulty units >= 0, got ${value}`)
}
