/**
 * The few pieces of Bitcoin's wire format the coinbase and block builders
 * need: CompactSize integers (varints), 64-bit little-endian amounts,
 * minimal script pushes and script numbers (CScriptNum).
 *
 * Every function returns a fresh Buffer; callers concatenate. Rules are
 * Bitcoin Core's: `WriteCompactSize` (serialize.h), `CScript::operator<<`
 * for byte vectors and integers, and `CScriptNum::serialize` (script.h).
 */

/** OP_0 (an empty push). */
export const OP_0 = 0x00
/** OP_PUSHDATA1: the next byte is the push length. */
export const OP_PUSHDATA1 = 0x4c
/** OP_1NEGATE. */
export const OP_1NEGATE = 0x4f
/** OP_1; OP_N is OP_1 + N - 1 for N in 1..16. */
export const OP_1 = 0x51
/** OP_RETURN. */
export const OP_RETURN = 0x6a

/** The largest amount a transaction output may carry: 21 million BTC in satoshis (consensus/amount.h). */
export const MAX_MONEY = 21_000_000n * 100_000_000n

const UINT64_MAX = (1n << 64n) - 1n

/** CompactSize encoding of `n` (0 <= n < 2^53): 1, 3, 5 or 9 bytes. */
export function varInt(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varInt: ${n} is not a non-negative safe integer`)
  if (n < 0xfd) return Buffer.from([n])
  if (n <= 0xffff) {
    const b = Buffer.allocUnsafe(3)
    b[0] = 0xfd
    b.writeUInt16LE(n, 1)
    return b
  }
  if (n <= 0xffffffff) {
    const b = Buffer.allocUnsafe(5)
    b[0] = 0xfe
    b.writeUInt32LE(n, 1)
    return b
  }
  const b = Buffer.allocUnsafe(9)
  b[0] = 0xff
  b.writeBigUInt64LE(BigInt(n), 1)
  return b
}

/** `bytes` prefixed with its CompactSize length (a script, a witness item). */
export function withVarIntLength(bytes: Uint8Array): Buffer {
  return Buffer.concat([varInt(bytes.length), bytes])
}

/** A uint32 as 4 little-endian bytes. */
export function uint32LE(n: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32LE(n, 0)
  return b
}

/** A uint64 (bigint) as 8 little-endian bytes. */
export function uint64LE(n: bigint): Buffer {
  if (n < 0n || n > UINT64_MAX) throw new RangeError(`uint64LE: ${n} is out of range`)
  const b = Buffer.allocUnsafe(8)
  b.writeBigUInt64LE(n, 0)
  return b
}

/**
 * The minimal push of `data` (BIP 62 "minimal push" as `CScript << vector`
 * writes it): a length byte up to 75 bytes, then OP_PUSHDATA1 up to 255.
 * An empty vector is OP_0. Core's `<<` does not turn a one-byte vector into
 * OP_N, and neither does this. Longer pushes (OP_PUSHDATA2/4) have no use in
 * a coinbase, whose whole scriptSig is at most 100 bytes, so they throw.
 */
export function pushData(data: Uint8Array): Buffer {
  const n = data.length
  if (n === 0) return Buffer.from([OP_0])
  if (n < OP_PUSHDATA1) return Buffer.concat([Buffer.from([n]), data])
  if (n <= 0xff) return Buffer.concat([Buffer.from([OP_PUSHDATA1, n]), data])
  throw new RangeError(`pushData: ${n} bytes is more than the 255 this helper pushes`)
}

/** The number of bytes `pushData` writes for `length` bytes of data (0 => OP_0 alone). */
export function pushSize(length: number): number {
  if (length === 0) return 1
  return length + (length < OP_PUSHDATA1 ? 1 : 2)
}

/**
 * `CScriptNum::serialize`: minimal little-endian sign-magnitude bytes.
 * 0 is the empty vector; a set top bit gets an extra 0x00 (or 0x80 when
 * negative) byte so the sign bit stays free.
 */
export function scriptNum(value: number | bigint): Buffer {
  let v = BigInt(value)
  if (v === 0n) return Buffer.alloc(0)
  const negative = v < 0n
  if (negative) v = -v
  const out: number[] = []
  while (v > 0n) {
    out.push(Number(v & 0xffn))
    v >>= 8n
  }
  const last = out[out.length - 1] as number
  if (last & 0x80) out.push(negative ? 0x80 : 0x00)
  else if (negative) out[out.length - 1] = last | 0x80
  return Buffer.from(out)
}

/**
 * `CScript() << n` for an integer: OP_0 for 0, OP_1NEGATE for -1, OP_1..OP_16
 * for 1..16, otherwise the minimal push of `scriptNum(n)` (script.h
 * `push_int64`).
 */
export function pushInt(value: number | bigint): Buffer {
  const v = BigInt(value)
  if (v === 0n) return Buffer.from([OP_0])
  if (v === -1n) return Buffer.from([OP_1NEGATE])
  if (v >= 1n && v <= 16n) return Buffer.from([OP_1 + Number(v) - 1])
  return pushData(scriptNum(v))
}
