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

const SUBMIT = 'mining.submit'
const KEYS = ['id', 'method', 'params'] as const

/** The member name between `start` and `end` when it is one this parser reads, else undefined (no slice per key). */
function keyAt(line: string, start: number, end: number): 'id' | 'method' | 'params' | undefined {
  for (const key of KEYS) {
    if (end - start === key.length && line.startsWith(key, start)) return key
  }
  return undefined
}

/** The first position from `i` on that is not JSON whitespace. */
function skipSpace(line: string, i: number): number {
  while (i < line.length && isSpace(line.charCodeAt(i))) i++
  return i
}

/**
 * The closing quote's position of the string whose opening quote is at `i`,
 * or -1 when it has an escape or a control character, or does not end.
 */
function stringEnd(line: string, i: number): number {
  for (let k = i + 1; k < line.length; k++) {
    const c = line.charCodeAt(k)
    if (c === QUOTE) return k
    if (c === BACKSLASH || c < 0x20) return -1
  }
  return -1
}

/**
 * Reads `line` if it is a flat request (see the module comment), else
 * `undefined`. Never throws. (Plain loops and module-level helpers, no
 * closures: this runs for every submit, and closures were a context and two
 * function objects of garbage per line.)
 */
export function parseFlatRequest(line: string): FlatRequest | undefined {
  const n = line.length
  let i = skipSpace(line, 0)
  if (line.charCodeAt(i) !== 0x7b) return undefined
  i = skipSpace(line, i + 1)
  let c = line.charCodeAt(i)
  let id: number | string | null | undefined
  let method: string | undefined
  let params: string[] | null | undefined
  let end: number
  if (c === 0x7d) return undefined // {}: no method
  for (;;) {
    if (c !== QUOTE || (end = stringEnd(line, i)) < 0) return undefined
    const key = keyAt(line, i + 1, end)
    i = skipSpace(line, end + 1)
    if (line.charCodeAt(i) !== COLON) return undefined
    i = skipSpace(line, i + 1)
    c = line.charCodeAt(i)
    if (key === 'id') {
      if (id !== undefined) return undefined
      if (c === QUOTE) {
        if ((end = stringEnd(line, i)) < 0) return undefined
        id = line.slice(i + 1, end)
        i = end + 1
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
      if (method !== undefined || c !== QUOTE || (end = stringEnd(line, i)) < 0) return undefined
      method = end - i - 1 === SUBMIT.length && line.startsWith(SUBMIT, i + 1) ? SUBMIT : line.slice(i + 1, end)
      i = end + 1
    } else if (key === 'params') {
      if (params !== undefined) return undefined
      if (c === 0x6e) {
        if (!line.startsWith('null', i)) return undefined
        params = null
        i += 4
      } else if (c === 0x5b) {
        i = skipSpace(line, i + 1)
        c = line.charCodeAt(i)
        const list: string[] = []
        if (c === 0x5d) i++
        else {
          for (;;) {
            if (c !== QUOTE || (end = stringEnd(line, i)) < 0) return undefined
            list.push(line.slice(i + 1, end))
            i = skipSpace(line, end + 1)
            c = line.charCodeAt(i)
            i++
            if (c === 0x5d) break
            if (c !== COMMA) return undefined
            i = skipSpace(line, i)
            c = line.charCodeAt(i)
          }
        }
        params = list
      } else {
        return undefined
      }
    } else {
      return undefined
    }
    i = skipSpace(line, i)
    c = line.charCodeAt(i)
    i++
    if (c === 0x7d) break
    if (c !== COMMA) return undefined
    i = skipSpace(line, i)
    c = line.charCodeAt(i)
  }
  // Only whitespace may follow the object.
  if (skipSpace(line, i) < n) return undefined
  if (method === undefined) return undefined
  return { id: id ?? null, method, params: params ?? null }
}
