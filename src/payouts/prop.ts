/**
 * PROP, proportional: a found block's reward (minus the pool fee) is split
 * over the shares of its round (every share since the previous block), in
 * proportion to each account's units in the round.
 */
import { checkSats } from './amount.js'
import { checkBasisPoints } from './fee.js'
import { splitReward, type ShareSplit, type ShareWeight, unitsByAccount } from './split.js'

/** Inputs to `splitProp`. */
export interface PropInput {
  /** The block reward in satoshis (subsidy + transaction fees). */
  readonly reward: bigint
  /** The round's shares, in any order, per share or aggregated per account. */
  readonly shares: Iterable<ShareWeight>
  /** Pool fee in basis points, 0-10000 (200 = 2 %). */
  readonly feeBasisPoints: number
}

/**
 * PROP: the fee is `floor(reward × bp / 10000)`; the rest is split over the
 * round's units per account by the largest remainder method (see
 * `splitProportionally`). `sum(credits) + fee === reward`; the result does
 * not depend on the order of `shares`.
 *
 * @throws RangeError on a bad amount or fee, or if there is something to
 *   split and the round holds no units.
 */
export function splitProp(input: PropInput): ShareSplit {
  checkSats('reward', input.reward)
  checkBasisPoints(input.feeBasisPoints)
  return splitReward(input.reward, unitsByAccount(input.shares), input.feeBasisPoints)
}
