/**
 * SOLO: the account whose share found the block takes the reward, minus
 * the pool fee. No other share counts.
 */
import { checkSats } from './amount.js'
import { poolFee } from './fee.js'
import { checkAccount, type RewardSplit } from './split.js'

/** Inputs to `splitSolo`. */
export interface SoloInput {
  /** The block reward in satoshis (subsidy + transaction fees). */
  readonly reward: bigint
  /** The account whose share found the block. */
  readonly finder: string
  /** Pool fee in basis points, 0-10000 (200 = 2 %). */
  readonly feeBasisPoints: number
}

/**
 * SOLO: `fee = floor(reward × bp / 10000)`, the finder gets `reward - fee`
 * (no entry when that is 0: a 100 % fee or a 0 reward).
 */
export function splitSolo(input: SoloInput): RewardSplit {
  checkSats('reward', input.reward)
  checkAccount('finder', input.finder)
  const fee = poolFee(input.reward, input.feeBasisPoints)
  const credits = new Map<string, bigint>()
  if (input.reward > fee) credits.set(input.finder, input.reward - fee)
  return { fee, credits }
}
