/**
 * Share difficulty as an exact integer.
 *
 * Difficulties are fractional floats (vardiff settles on values like
 * 1234.56; CPU miners in tests go below 1). Summing floats gives results that
 * depend on the order of the additions and drift over billions of shares, and
 * payouts split money by these sums. So the ledger stores and sums
 * `round(difficulty × 2^32)` as a bigint:
 *
 * - multiplying a double by a power of two is exact (only the exponent
 *   changes), so the rounding is the one step that loses anything, at most
 *   2^-33 of a difficulty unit per share, and it is the same on every machine;
 * - every sum is then exact and independent of order, so a report or a PPLNS
 *   split recomputed after a restart gives the same numbers to the unit.
 *
 * 2^32 keeps a difficulty of 0.001 at ~4.3 million units of resolution, and
 * bigints have no ceiling, so years of network-difficulty shares still sum
 * exactly.
 */
import { LedgerError } from './ledger-error.js'

/** Scaled difficulty: difficulty × 2^32, an exact integer. */
export type ScaledDifficulty = bigint

/** The scale factor, 2^32. */
export const DIFFICULTY_SCALE = 1n << 32n

const SCALE = 2 ** 32

/**
 * The ledger's exact form of a share difficulty.
 * @throws LedgerError `HF_LEDGER_INVALID` unless `difficulty` is finite and
 * at least 2^-32 (smaller values would round to nothing).
 */
export function scaleDifficulty(difficulty: number): ScaledDifficulty {
  if (typeof difficulty !== 'number' || !Number.isFinite(difficulty) || difficulty <= 0) {
    throw new LedgerError('HF_LEDGER_INVALID', `difficulty must be a positive finite number, got ${String(difficulty)}`)
  }
  // Above 2^53 every double is an integer and Math.round returns it as is.
  const scaled = Math.round(difficulty * SCALE)
  if (scaled < 1) throw new LedgerError('HF_LEDGER_INVALID', `difficulty ${difficulty} is below the ledger's resolution (2^-32)`)
  return BigInt(scaled)
}

/** Back to a float difficulty, for stats and display (not for money). */
export function unscaleDifficulty(scaled: ScaledDifficulty): number {
  return Number(scaled) / SCALE
}
