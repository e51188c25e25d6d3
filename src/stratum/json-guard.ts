/**
 * A cheap pass over a JSON line before `JSON.parse`, in one linear scan
 * (strings are skipped with `indexOf`):
 *
 * - nesting deeper than the limit is refused before anything is built from
 *   it (no Stratum message nests past 4 levels; a hostile one could nest
 *   8,000 in a 16 KiB line);
 * - a `__proto__` key anywhere, even spelled with escapes (`"\u005f_proto__"`),
 *   is refused: `JSON.parse` makes it a harmless own property, but a later
 *   spread or merge of miner data would not be harmless;
 * - the raw text of the top-level `"id"` value is kept when it is a number,
 *   so that ids beyond 2^53 can be echoed digit for digit.
 *
 * It does not validate JSON: malformed text passes through to `JSON.parse`,
 * which reports it.
 */

/** What the scan found. */
export type JsonScan =
  | { readonly ok: true; /** Raw text of the top-level `"id"` when it is a number. */ readonly rawId: string | undefined }
  | { readonly ok: false; readonly message: string }

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45
}

/** Index of the quote closing the string whose body starts at `from`, or -1. */
function stringEnd(text: string, from: number): number {
  let q = text.indexOf('"', from)
  while (q >= 0) {
    let slashes = 0
    for (let k = q - 1; k >= from && text.charCodeAt(k) === BACKSLASH; k--) slashes++
    if (slashes % 2 === 0) return q
    q = text.indexOf('"', q + 1)
  }
  return -1
}

/** The key between quotes at [start, end), escapes decoded; undefined if the escapes are malformed. */
function keyText(text: string, start: number, end: number): string | undefined {
  const raw = text.slice(start, end)
  if (!raw.includes('\\')) return raw
  try {
    return JSON.parse(`"${raw}"`) as string
  } catch {
    return undefined // JSON.parse of the whole line will report it
  }
}

/** Scan `text` (see the module comment). */
export function scanJson(text: string, maxDepth: number): JsonScan {
  let depth = 0
  let rawId: string | undefined
  const n = text.length
  let i = 0
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i + 1)
      if (end < 0) break // unterminated: JSON.parse reports it
      let j = end + 1
      while (j < n && isJsonSpace(text.charCodeAt(j))) j++
      if (j < n && text.charCodeAt(j) === COLON) {
        const key = keyText(text, i + 1, end)
        if (key === '__proto__') return { ok: false, message: 'forbidden key "__proto__"' }
        if (depth === 1 && key === 'id') {
          let k = j + 1
          while (k < n && isJsonSpace(text.charCodeAt(k))) k++
          let m = k
          while (m < n && isNumberChar(text.charCodeAt(m))) m++
          // Last one wins, as in JSON.parse; a non-number id clears it.
          rawId = m > k ? text.slice(k, m) : undefined
        }
        i = j + 1
      } else {
        i = end + 1
      }
      continue
    }
    if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return { ok: false, message: `JSON nested deeper than ${maxDepth} levels` }
    } else if (c === 0x7d || c === 0x5d) {
      depth--
    }
    i++
  }
  return { ok: true, rawId }
}
