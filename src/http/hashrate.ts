/**
 * Hashrate estimated from accepted difficulty: a share of difficulty d
 * stands for d × 2^32 hashes on average (difficulty 1 is a target of
 * 0xffff × 2^208 ≈ 2^256 / 2^32), so over a window of s seconds the
 * estimate is Σd × 2^32 / s hashes per second. It is a Poisson estimate:
 * with n shares in the window its relative error is about 1/√n.
 */
import type { Ledger } from '../ledger/index.js'

/** The windows every hashrate is given for, in seconds. */
export const HASHRATE_WINDOWS = { '5m': 300, '1h': 3600, '24h': 86_400 } as const
export type HashrateWindow = keyof typeof HASHRATE_WINDOWS

export type HashrateWindows = Record<HashrateWindow, number>

const TWO_32 = 2 ** 32

/** Hashes per second for `difficulty` accepted over `seconds`. */
export function hashrate(difficulty: number, seconds: number): number {
  return seconds > 0 ? (difficulty * TWO_32) / seconds : 0
}

/** Hashrate over each window ending at `now`, for the pool, one account or one worker. */
export async function hashrateWindows(ledger: Ledger, now: number, who: { account?: string; worker?: string } = {}): Promise<{ hashrate: HashrateWindows; shares5m: number }> {
  const out = {} as HashrateWindows
  let shares5m = 0
  for (const [name, seconds] of Object.entries(HASHRATE_WINDOWS) as [HashrateWindow, number][]) {
    const total = await ledger.acceptedDifficulty({ from: now - seconds * 1000, to: now + 1, ...who })
    out[name] = hashrate(total.difficulty, seconds)
    if (name === '5m') shares5m = total.shares
  }
  return { hashrate: out, shares5m }
}
