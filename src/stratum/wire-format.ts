/**
 * How Stratum V1 writes values on the wire, both ways: JSON-RPC ids,
 * big-endian hex for 32-bit header words (ntime, nonce, version, nbits,
 * masks), even-length hex for byte strings, and JSON numbers written without
 * exponent notation.
 *
 * Parsers return `undefined` on bad input (the decoder turns that into a
 * decode error naming the field); formatters throw `RangeError`, because a
 * bad value there is a bug in Headframe, not something a miner sent.
 */

/**
 * A JSON-RPC id as a miner sent it, echoed back unchanged. Integers beyond
 * ±2^53 are kept as `bigint` so that they are echoed digit for digit (a JS
 * number would round them); every other number is a `number`.
 */
export type JsonRpcId = number | string | bigint | null

/** The largest uint32. */
export const UINT32_MAX = 0xffffffff

/** `s` without a leading `0x` / `0X`. */
export function stripHexPrefix(s: string): string {
  return s.length >= 2 && s.charCodeAt(0) === 0x30 && (s.charCodeAt(1) | 0x20) === 0x78 ? s.slice(2) : s
}

/** Value of one hex digit (char code), or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const lower = c | 0x20 // 'A'-'F' -> 'a'-'f'; nothing else lands in 'a'-'f'
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1
}

/**
 * A uint32 written as `minDigits`-8 hex digits (either case, optional `0x`),
 * or `undefined`. Hand-rolled because `parseInt` accepts signs, spaces and
 * trailing garbage.
 */
export function parseHexUint32(s: string, minDigits: number): number | undefined {
  const digits = stripHexPrefix(s)
  if (digits.length < minDigits || digits.length > 8) return undefined
  let value = 0
  for (let i = 0; i < digits.length; i++) {
    const d = hexDigit(digits.charCodeAt(i))
    if (d < 0) return undefined
    value = value * 16 + d
  }
  return value
}

/** True when `digits` is an even number of hex digits (either case, no prefix; may be empty). */
export function isEvenHex(digits: string): boolean {
  if (digits.length % 2 !== 0) return false
  for (let i = 0; i < digits.length; i++) if (hexDigit(digits.charCodeAt(i)) < 0) return false
  return true
}

/** Bytes from an even-length hex string (either case, optional `0x`; may be empty), or `undefined`. */
export function parseHexBytes(s: string): Buffer | undefined {
  const digits = stripHexPrefix(s)
  // Checked first: Buffer.from(hex) silently stops at the first bad digit.
  return isEvenHex(digits) ? Buffer.from(digits, 'hex') : undefined
}

/** True for an integer 0..2^32-1. */
export function isUint32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= UINT32_MAX
}

/** A uint32 as exactly 8 lowercase big-endian hex digits (`0x1fffe000` -> `"1fffe000"`). */
export function hex8(n: number): string {
  if (!isUint32(n)) throw new RangeError(`hex8: expected an integer 0-4294967295, got ${String(n)}`)
  return n.toString(16).padStart(8, '0')
}

/** Lowercase hex of bytes, or of a hex string after checking it (even length, hex digits only). */
export function toHex(value: string | Uint8Array, what: string): string {
  if (typeof value !== 'string') return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')
  if (!isEvenHex(value)) {
    throw new RangeError(`${what}: expected an even-length hex string, got ${JSON.stringify(value.slice(0, 80))}`)
  }
  return value.toLowerCase()
}

/** Exactly 8 lowercase hex digits from a uint32 or from an 8-hex-digit string. */
export function toHex8(value: number | string, what: string): string {
  if (typeof value === 'number') return hex8(value)
  // Exactly 8 characters and 8 digits: no `0x` here, these are our own values.
  if (value.length !== 8 || parseHexUint32(value, 8) === undefined) {
    throw new RangeError(`${what}: expected 8 hex digits, got ${JSON.stringify(value.slice(0, 80))}`)
  }
  return value.toLowerCase()
}

const TWO_POW_63 = 2 ** 63

/**
 * A finite number as JSON text without exponent notation.
 *
 * `JSON.stringify` writes `1e-7` and `1e+21`. Both are valid JSON, but miner
 * firmware is not a JSON test suite: jansson (cgminer, bmminer, bfgminer)
 * parses any number with an exponent or a fraction as a real, and older
 * cgminer forks read the difficulty with `json_integer_value`, which gives 0
 * for a real (the difficulty is then ignored). So integers are written as
 * plain digits (`1024`, never `1024.0` or `1.024e3`), and fractions as plain
 * decimals with the shortest digits that round-trip (`0.0000001`).
 * Integers of 2^63 and more overflow jansson's integer type ("too big
 * integer" fails the whole message), so they get a `.0` to parse as reals.
 */
export function formatJsonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`formatJsonNumber: expected a finite number, got ${String(n)}`)
  if (Number.isInteger(n)) {
    const digits = BigInt(n).toString() // exact, never an exponent, and -0 -> "0"
    return Math.abs(n) >= TWO_POW_63 ? `${digits}.0` : digits
  }
  const text = String(n) // shortest round-trip digits; exponent only below 1e-6
  const e = text.indexOf('e')
  if (e < 0) return text
  // Fractions with |n| < 1e-6 only (|n| >= 1e21 are integers, handled above).
  const negative = text.startsWith('-')
  const mantissa = text.slice(negative ? 1 : 0, e).replace('.', '')
  const exponent = Number(text.slice(e + 1)) // negative here
  return `${negative ? '-' : ''}0.${'0'.repeat(-exponent - 1)}${mantissa}`
}

/** A JSON-RPC id as JSON text. */
export function encodeId(id: JsonRpcId): string {
  if (id === null) return 'null'
  if (typeof id === 'bigint') return id.toString()
  if (typeof id === 'number') {
    if (!Number.isFinite(id)) throw new RangeError(`encodeId: expected a finite number, got ${String(id)}`)
    return String(id) // the same digits as JSON.stringify for every finite number
  }
  return JSON.stringify(id)
}
