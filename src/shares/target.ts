/**
 * Difficulty ⇄ target. Targets are 32-byte little-endian numbers (the byte
 * order of a header hash), which is what the hasher compares against.
 *
 * Difficulty 1 is the "bdiff" target 0x00000000ffff0000...0000
 * (0xffff * 2^208), the Stratum convention shared by cgminer, ckpool and
 * every ASIC firmware. Difficulties may be fractional (CPU miners) or huge;
 * the conversion is exact for any difficulty a float can hold down to 2^-64.
 */

/** 0xffff * 2^208: the target of difficulty 1. */
export const DIFF1_TARGET = 0xffffn << 208n
const MAX_TARGET = (1n << 256n) - 1n
const SCALE_BITS = 64n

/** The target (as a bigint) of a share difficulty > 0. */
export function targetForDifficulty(difficulty: number): bigint {
  if (!(difficulty > 0) || !Number.isFinite(difficulty)) throw new RangeError(`difficulty ${difficulty} is not a positive finite number`)
  // difficulty * 2^64 as an integer: multiplying by a power of two is exact,
  // and a float this large is already an integer.
  const scaled = BigInt(Math.max(1, Math.round(difficulty * 2 ** Number(SCALE_BITS))))
  const target = (DIFF1_TARGET << SCALE_BITS) / scaled
  return target > MAX_TARGET ? MAX_TARGET : target
}

/** The target of compact `nbits` (as in a block header). */
export function targetFromBits(nbits: number): bigint {
  const exponent = nbits >>> 24
  const mantissa = BigInt(nbits & 0x007fffff)
  return exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3))
}

/** The difficulty of a target (float; for stats and display). */
export function difficultyForTarget(target: bigint): number {
  if (target <= 0n) return Number.POSITIVE_INFINITY
  return Number((DIFF1_TARGET << 64n) / target) / 2 ** 64
}

/** The difficulty a hash achieves (32 bytes, little-endian). */
export function hashDifficulty(hash: Uint8Array): number {
  return difficultyForTarget(leToBigInt(hash))
}

/** A bigint in [0, 2^256) as 32 little-endian bytes. */
export function bigIntToLe(value: bigint): Buffer {
  const out = Buffer.alloc(32)
  let v = value
  for (let i = 0; i < 32 && v > 0n; i++) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** 32 little-endian bytes as a bigint. */
export function leToBigInt(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`)
}
