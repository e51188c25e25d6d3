/**
 * PPLNS, pay per last N shares: a found block's reward (minus the pool fee)
 * is split over the last N difficulty units of shares before it, in
 * proportion to each account's units in that window.
 *
 * N = factor × network difficulty, in units (default factor 2: on average
 * the window spans two blocks' worth of work, so a miner's expected earning
 * does not depend on when it joins or hops).
 *
 * The share that crosses the window's far boundary counts partially: only
 * the part of its units inside the window. So the window holds exactly N
 * units whenever the shares reach that far, and a window smaller than the
 * newest share counts just N units of it.
 */
import { checkBasisPoints } from './fee.js'
import { checkSats } from './amount.js'
import { splitReward, type ShareSplit, type ShareWeight, unitsByAccount } from './split.js'
import { checkUnits, difficultyUnits } from './units.js'

/** Default PPLNS window: 2 × network difficulty. */
export const DEFAULT_PPLNS_FACTOR = 2

/** Inputs to `splitPplns`. */
export interface PplnsInput {
  /** The block reward in satoshis (subsidy + transaction fees). */
  readonly reward: bigint
  /**
   * The shares before the block, most recent first (the block's own share
   * first), one entry per share or per run of one account's shares. Read
   * only until the window is full, so a longer list costs nothing more.
   * A list aggregated per account is fine only when it is already the
   * window (totals at most `windowUnits`): beyond that, order decides what
   * is cut.
   */
  readonly shares: Iterable<ShareWeight>
  /** N, the window size in difficulty units (`pplnsWindowUnits`), >= 1. */
  readonly windowUnits: bigint
  /** Pool fee in basis points, 0-10000 (200 = 2 %). */
  readonly feeBasisPoints: number
}

/**
 * The PPLNS window size in units: round(factor × networkDifficulty × 2^32).
 * `networkDifficulty` as bitcoind reports it (`getdifficulty`, a float).
 *
 * @throws RangeError unless both are finite and > 0 and the window is at
 *   least 1 unit.
 */
export function pplnsWindowUnits(networkDifficulty: number, factor: number = DEFAULT_PPLNS_FACTOR): bigint {
  if (typeof networkDifficulty !== 'number' || !Number.isFinite(networkDifficulty) || networkDifficulty <= 0) {
    throw new RangeError(`networkDifficulty: expected a finite number > 0, got ${String(networkDifficulty)}`)
  }
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor <= 0) throw new RangeError(`factor: expected a finite number > 0, got ${String(factor)}`)
  const units = difficultyUnits(networkDifficulty * factor)
  if (units < 1n) throw new RangeError(`the PPLNS window (${factor} × ${networkDifficulty}) is under 1 difficulty unit`)
  return units
}

/**
 * The window: the units per account among the last `windowUnits` units of
 * `shares` (most recent first), the boundary share counted in part.
 * Ordered by account name. Holds fewer than `windowUnits` units only when
 * the shares do.
 */
export function pplnsWindow(shares: Iterable<ShareWeight>, windowUnits: bigint): Map<string, bigint> {
  checkWindow(windowUnits)
  let room = windowUnits
  return unitsByAccount(
    (function* () {
      for (const share of shares) {
        checkUnits(`units of ${String(share.account)}`, share.units)
        const units = share.units < room ? share.units : room
        room -= units
        yield { account: share.account, units }
        if (room === 0n) return
      }
    })(),
  )
}

/**
 * PPLNS: the fee is `floor(reward × bp / 10000)`; the rest is split over
 * `pplnsWindow(shares, windowUnits)` by the largest remainder method (see
 * `splitProportionally`). `sum(credits) + fee === reward`.
 *
 * @throws RangeError on a bad amount, fee or window, or if there is
 *   something to split and the window holds no units.
 */
export function splitPplns(input: PplnsInput): ShareSplit {
  checkSats('reward', input.reward)
  checkBasisPoints(input.feeBasisPoints)
  return splitReward(input.reward, pplnsWindow(input.shares, input.windowUnits), input.feeBasisPoints)
}

function checkWindow(windowUnits: bigint): void {
  if (typeof windowUnits !== 'bigint') throw new TypeError(`windowUnits: expected a bigint of difficulty units, got ${typeof windowUnits}`)
  if (windowUnits < 1n) throw new RangeError(`windowUnits: expected at least 1 difficulty unit, got ${windowUnits}`)
}
