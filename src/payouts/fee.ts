/**
 * The pool fee: a whole number of basis points (1 bp = 0.01 %) of a reward,
 * credited by the ledger to the treasury account.
 *
 * The fee is rounded down: `floor(reward × bp / 10000)`. The satoshi
 * fraction it leaves goes to the miners' part, never to the pool.
 */
import { checkSats } from './amount.js'

/** Basis points in 100 %. */
export const BASIS_POINTS = 10_000

/** The seed config's pool fee: 2 % = 200 bp. */
export const DEFAULT_FEE_BASIS_POINTS = 200

/**
 * The fee on `reward` satoshis at `feeBasisPoints`: `floor(reward × bp / 10000)`.
 *
 * @throws RangeError unless `reward` is in [0, MAX_MONEY_SATS] and
 *   `feeBasisPoints` an integer 0-10000.
 */
export function poolFee(reward: bigint, feeBasisPoints: number): bigint {
  checkSats('reward', reward)
  checkBasisPoints(feeBasisPoints)
  return (reward * BigInt(feeBasisPoints)) / BigInt(BASIS_POINTS)
}

/** Throws unless `bp` is an integer 0-10000. */
export function checkBasisPoints(bp: number): void {
  if (typeof bp !== 'number' || !Number.isInteger(bp) || bp < 0 || bp > BASIS_POINTS) {
    throw new RangeError(`feeBasisPoints: expected an integer 0-${BASIS_POINTS}, got ${String(bp)}`)
  }
}
