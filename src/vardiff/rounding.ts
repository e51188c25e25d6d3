/**
 * How a computed difficulty is presented to a miner.
 *
 * Estimates are noisy, so their low digits mean nothing; sending them would
 * make `mining.set_difficulty` traffic and logs unreadable (1843.2917...)
 * without making the share rate any better. Three significant figures keep
 * every value within 0.5 % of the estimate (powers of two would be up to
 * 41 % off, wider than the ±30 % band itself) and print short in JSON:
 * 2330000, 14700, 2.33, 0.000233.
 *
 * The rounded value is the double nearest its decimal text, so what the
 * session sends (`JSON.stringify`) and what it judges shares by (the same
 * number) are the same value, and a miner parsing the text gets it back
 * exactly.
 */

/** Significant figures of a presented difficulty. */
export const DIFFICULTY_SIGNIFICANT_FIGURES = 3

/**
 * `difficulty` rounded to `DIFFICULTY_SIGNIFICANT_FIGURES` significant
 * figures (half away from zero in decimal). Non-finite or non-positive input
 * is returned unchanged (the caller clamps it).
 */
export function niceDifficulty(difficulty: number): number {
  if (!Number.isFinite(difficulty) || difficulty <= 0) return difficulty
  // toPrecision rounds in decimal and Number() parses back to the nearest
  // double: 0.000233 stays the double JSON prints as "0.000233".
  return Number(difficulty.toPrecision(DIFFICULTY_SIGNIFICANT_FIGURES))
}

/** `value` limited to `[low, high]`. */
export function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value
}
