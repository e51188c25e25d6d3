/**
 * The two chain values crediting needs and the ledger does not store: the
 * network difficulty a block was found at (PPLNS window, PPS share value),
 * read from the block header's `nBits`, and the block subsidy at a height
 * (what a PPS share is worth: fees are not known in advance, so PPS pays on
 * the subsidy alone, in the pool's favour).
 */
import { difficultyForTarget, targetFromBits } from '../shares/target.js'

/** Coinbase outputs may be spent after this many confirmations: a block's reward is credited then. */
export const COINBASE_MATURITY = 100

/** The network difficulty of compact `nbits`. */
export function networkDifficultyFromBits(nbits: number): number {
  return difficultyForTarget(targetFromBits(nbits))
}

/**
 * The network difficulty of a serialized block or header (hex): `nBits` is
 * bytes 72-75 of the header, little-endian. Undefined when it cannot be read.
 */
export function networkDifficultyFromBlockHex(hex: string): number | undefined {
  if (typeof hex !== 'string' || hex.length < 160 || !/^[0-9a-fA-F]{160}/.test(hex)) return undefined
  const nbits = Buffer.from(hex.slice(144, 152), 'hex').readUInt32LE(0)
  const difficulty = networkDifficultyFromBits(nbits)
  return Number.isFinite(difficulty) && difficulty > 0 ? difficulty : undefined
}

/** The block subsidy at `height`: 50 BTC halved every 210,000 blocks (mainnet, testnets; regtest halves every 150). */
export function blockSubsidy(height: number, halvingInterval = 210_000): bigint {
  const halvings = Math.floor(height / halvingInterval)
  return halvings >= 64 ? 0n : (50n * 100_000_000n) >> BigInt(halvings)
}
