/**
 * A fast path for the one shape nearly every line from a miner has:
 * `{"id":<n>,"method":"<name>","params":["<s>",...]}`, keys in any order,
 * JSON whitespace anywhere between tokens.
 *
 * `mining.submit` is most of the traffic, and under load `JSON.parse`
 * plus the guard scan (json-guard.ts) were the largest JavaScript cost of
 * the share path (docs/benchmarks.md, "load"). This reads such a line in
 * one pass without building anything but the result. It is deliberately
 * narrow: it accepts only what it can read exactly as `JSON.parse` would,
 * and returns `undefined` for everything else (escapes in strings, numbers
 * in params, nested values, other or repeated keys, an id that is not a
 * small non-negative integer, a string or null), which then takes the full
 * path. So a line gives the same decoded request either way; a test checks
 * that on generated and real lines.
 */

/**
 * A copy of `s` that keeps nothing else alive. Strings this module reads
 * are slices of the line, and V8 keeps the whole line for a slice of 13
 * characters or more: a user agent or worker name kept for the life of a
 * session would keep its handshake line too (measured: about 150 bytes a
 * session). Used on what a session keeps, never on a submit's fields.
 */
export function detachString(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string)
}

/** What the fast path read: the three members, as `JSON.parse` would give them. */
export interface FlatRequest {
  readonly id: number | string | null
  readonly method: string
  readonly params: readonly string[] | null
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
/** Longest integer id read here (15 digits are always a safe integer). */
const MAX_ID_DIGITS = 15

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
}

/**
 * Reads `line` if it is a flat request (see the module comment), else
 * `undefined`. Never throws.
 */
export function parseFlatRequest(line: string): FlatRequest | undefined {
  const n = line.length
  let i = 0
  /** Skips whitespace; the code at the new position (NaN at the end). */
  const skip = (): number => {
    while (i < n && isSpace(line.charCodeAt(i))) i++
    return line.charCodeAt(i)
  }
  /** A string starting at the quote at `i`, without escapes or control characters; moves past it. */
  const string = (): string | undefined => {
    const start = i + 1
    for (let k = start; k < n; k++) {
      const c = line.charCodeAt(k)
      if (c === QUOTE) {
        i = k + 1
        return line.slice(start, k)
      }
      if (c === BACKSLASH || c < 0x20) return undefined
    }
    return undefined
  }
  if (skip() !== 0x7b) return undefined
  i++
  let id: number | string | null | undefined
  let method: string | undefined
  let params: string[] | null | undefined
  let c = skip()
  if (c === 0x7d) return undefined // {}: no method
  for (;;) {
    if (c !== QUOTE) return undefined
    const key = string()
    if (key === undefined || skip() !== COLON) return undefined
    i++
    c = skip()
    if (key === 'id') {
      if (id !== undefined) return undefined
      if (c === QUOTE) {
        id = string()
        if (id === undefined) return undefined
      } else if (c === 0x6e) {
        if (!line.startsWith('null', i)) return undefined
        id = null
        i += 4
      } else if (c >= 0x30 && c <= 0x39) {
        const start = i
        while (i < n && line.charCodeAt(i) >= 0x30 && line.charCodeAt(i) <= 0x39) i++
        const digits = i - start
        // JSON has no leading zeros; a fraction or exponent takes the full path.
        if (digits > MAX_ID_DIGITS || (digits > 1 && c === 0x30)) return undefined
        const next = line.charCodeAt(i)
        if (next === 0x2e || next === 0x65 || next === 0x45) return undefined
        id = Number(line.slice(start, i))
      } else {
        return undefined
      }
    } else if (key === 'method') {
      if (method !== undefined || c !== QUOTE) return undefined
      method = string()
      if (method === undefined) return undefined
    } else if (key === 'params') {
      if (params !== undefined) return undefined
      if (c === 0x6e) {
        if (!line.startsWith('null', i)) return undefined
        params = null
        i += 4
      } else if (c === 0x5b) {
        i++
        const list: string[] = []
        c = skip()
        if (c === 0x5d) i++
        else {
          for (;;) {
            if (c !== QUOTE) return undefined
            const value = string()
            if (value === undefined) return undefined
            list.push(value)
            c = skip()
            i++
            if (c === 0x5d) break
            if (c !== COMMA) return undefined
            c = skip()
          }
        }
        params = list
      } else {
        return undefined
      }
    } else {
      return undefined
    }
    c = skip()
    i++
    if (c === 0x7d) break
    if (c !== COMMA) return undefined
    c = skip()
  }
  // Only whitespace may follow the object.
  if (i < n && !Number.isNaN(skip())) return undefined
  if (method === undefined) return undefined
  return { id: id ?? null, method, params: params ?? null }
}
