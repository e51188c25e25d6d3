/**
 * CSV for the reports: typed columns and rows in, RFC 4180 text out.
 *
 * Pure and deterministic (the same rows give byte-identical text, so a
 * report over the same range is reproducible): one header row, CRLF after
 * every record including the last, fields quoted only when they hold a
 * comma, a quote or a line break (quotes doubled), UTF-8 without BOM.
 * Writing is csv-stringify's sync API; this module only decides what each
 * cell says:
 *
 * - `time`: ISO 8601 UTC with milliseconds (`2024-04-20T00:09:27.000Z`).
 * - `amount`: two columns, `<header>_sats` (the integer) and `<header>_btc`
 *   (exactly 8 decimals, formatted from the bigint: never via a float).
 * - `difficulty`: difficulty units (× 2^32, as the ledger stores them) as a
 *   decimal difficulty, rounded half away from zero (default 8 decimals).
 * - `ratio`: an exact fraction of two bigints (a share of the total) as a
 *   decimal, rounded half away from zero.
 * - `decimal`: a float (an average hashrate) with fixed decimals (`toFixed`).
 * - `integer`: a bigint or safe integer (share counts).
 * - `text`: as is, except that a value starting with `=`, `+`, `-`, `@`, a
 *   tab or a CR (or their full-width forms) gets a leading `'`, so a worker
 *   named `=HYPERLINK(...)` is not run as a formula when an operator opens
 *   the report in a spreadsheet (OWASP "CSV Injection"). Turn off with
 *   `escapeFormulas: false`.
 *
 * A cell whose value is `null` or `undefined` is empty.
 */
import { stringify } from 'csv-stringify/sync'
import { formatBtc } from './amount.js'
import { UNITS_PER_DIFFICULTY } from './units.js'

/** A cell value; `null` / `undefined` give an empty field. */
export type CsvCell<T> = T | null | undefined

/** One column of a report: its header, its type (how its cells are written) and how to get its value from a row. */
export type CsvColumn<Row> =
  | { readonly header: string; readonly type: 'text'; readonly value: (row: Row) => CsvCell<string> }
  | { readonly header: string; readonly type: 'integer'; readonly value: (row: Row) => CsvCell<bigint | number> }
  | { readonly header: string; readonly type: 'decimal'; readonly digits: number; readonly value: (row: Row) => CsvCell<number> }
  | { readonly header: string; readonly type: 'ratio'; readonly digits: number; readonly value: (row: Row) => CsvCell<readonly [numerator: bigint, denominator: bigint]> }
  | { readonly header: string; readonly type: 'difficulty'; readonly digits?: number; readonly value: (row: Row) => CsvCell<bigint> }
  | { readonly header: string; readonly type: 'time'; readonly value: (row: Row) => CsvCell<Date | number> }
  | { readonly header: string; readonly type: 'amount'; readonly value: (row: Row) => CsvCell<bigint> }

/** Options of `formatCsv`. */
export interface CsvOptions {
  /** Prefix `'` to text cells a spreadsheet would run as a formula. Default `true`. */
  readonly escapeFormulas?: boolean
}

/** Decimals of a `difficulty` column without `digits`. */
export const DEFAULT_DIFFICULTY_DIGITS = 8

/** The header row `columns` give (an `amount` column gives two). */
export function csvHeaders(columns: readonly CsvColumn<never>[]): string[] {
  const headers = columns.flatMap((c) => (c.type === 'amount' ? [`${c.header}_sats`, `${c.header}_btc`] : [c.header]))
  const seen = new Set<string>()
  for (const h of headers) {
    if (typeof h !== 'string') throw new TypeError(`CSV column header: expected a string, got ${typeof h}`)
    if (h === '') throw new RangeError('CSV column header: empty')
    if (seen.has(h)) throw new RangeError(`CSV column header ${JSON.stringify(h)} appears twice`)
    seen.add(h)
  }
  for (const c of columns) {
    const digits = c.type === 'decimal' || c.type === 'ratio' ? c.digits : c.type === 'difficulty' ? c.digits ?? DEFAULT_DIFFICULTY_DIGITS : 0
    if (!Number.isInteger(digits) || digits < 0 || digits > 20) throw new RangeError(`CSV column ${c.header}: digits must be an integer 0-20, got ${String(digits)}`)
  }
  return headers
}

/**
 * The RFC 4180 text of `rows` under `columns`: a header row, then one
 * record per row, CRLF line endings (see the module comment for how each
 * column type is written).
 *
 * @throws RangeError (TypeError for a value of the wrong type) naming the
 *   row and column of a value its column cannot write (a NaN, an invalid
 *   date, an unsafe integer, a ratio over 0), or on duplicate or empty
 *   headers. An error thrown by a column's `value` passes through as is.
 */
export function formatCsv<Row>(columns: readonly CsvColumn<Row>[], rows: Iterable<Row>, options: CsvOptions = {}): string {
  const escapeFormulas = options.escapeFormulas ?? true
  const records: string[][] = [csvHeaders(columns)]
  let index = 0
  for (const row of rows) {
    const record: string[] = []
    for (const column of columns) {
      const value = column.value(row) // an error of the caller's own passes through as is
      try {
        record.push(...cells(column, value, escapeFormulas))
      } catch (err) {
        const message = `CSV row ${index}, column ${column.header}: ${(err as Error).message}`
        throw err instanceof TypeError ? new TypeError(message, { cause: err }) : new RangeError(message, { cause: err })
      }
    }
    records.push(record)
    index++
  }
  // quote_record_delimiter: csv-stringify quotes a field holding a lone CR
  // or LF only when told to, once the record delimiter is CRLF.
  return stringify(records, { record_delimiter: 'windows', quote_record_delimiter: true, eof: true, bom: false })
}

/**
 * `numerator / denominator` as a decimal with `digits` decimals, rounded
 * half away from zero, exactly (bigint arithmetic): `formatRatio(1n, 3n, 4)`
 * gives `"0.3333"`, `formatRatio(2n, 3n, 0)` gives `"1"`.
 *
 * @throws RangeError if `denominator` is not > 0 or `digits` not an integer 0-20.
 */
export function formatRatio(numerator: bigint, denominator: bigint, digits: number): string {
  if (typeof numerator !== 'bigint' || typeof denominator !== 'bigint') throw new TypeError('formatRatio: expected bigint numerator and denominator')
  if (denominator <= 0n) throw new RangeError(`formatRatio: expected a denominator > 0, got ${denominator}`)
  if (!Number.isInteger(digits) || digits < 0 || digits > 20) throw new RangeError(`formatRatio: digits must be an integer 0-20, got ${String(digits)}`)
  const negative = numerator < 0n
  const scaled = (negative ? -numerator : numerator) * 10n ** BigInt(digits)
  let q = scaled / denominator
  if (2n * (scaled % denominator) >= denominator) q += 1n
  const text = q.toString().padStart(digits + 1, '0')
  const whole = text.slice(0, text.length - digits)
  const sign = negative && q > 0n ? '-' : ''
  return digits === 0 ? `${sign}${whole}` : `${sign}${whole}.${text.slice(text.length - digits)}`
}

const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20'])

/** The field(s) of one value of `column`; checks the value's type at run time. */
function cells(column: CsvColumn<never>, v: unknown, escapeFormulas: boolean): string[] {
  if (v === null || v === undefined) return column.type === 'amount' ? ['', ''] : ['']
  switch (column.type) {
    case 'text':
      if (typeof v !== 'string') throw new TypeError(`expected a string, got ${typeof v}`)
      return [escapeFormulas && FORMULA_START.has(v.charAt(0)) ? `'${v}` : v]
    case 'integer':
      if (typeof v === 'bigint') return [v.toString()]
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new RangeError(`expected a bigint or a safe integer, got ${show(v)}`)
      return [String(v)]
    case 'decimal': {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`expected a finite number, got ${show(v)}`)
      // toFixed writes -0.0001 at 2 digits as "-0.00": no negative zero.
      const text = v.toFixed(column.digits)
      return [/^-0\.?0*$/.test(text) ? text.slice(1) : text]
    }
    case 'ratio': {
      if (!Array.isArray(v) || v.length !== 2) throw new TypeError('expected a [numerator, denominator] pair of bigints')
      const [numerator, denominator] = v as [bigint, bigint]
      return [formatRatio(numerator, denominator, column.digits)]
    }
    case 'difficulty':
      if (typeof v !== 'bigint') throw new TypeError(`expected a bigint of difficulty units, got ${typeof v}`)
      return [formatRatio(v, UNITS_PER_DIFFICULTY, column.digits ?? DEFAULT_DIFFICULTY_DIGITS)]
    case 'time': {
      const date = v instanceof Date ? v : typeof v === 'number' ? new Date(v) : undefined
      if (date === undefined || Number.isNaN(date.getTime())) throw new RangeError(`expected a valid Date or epoch milliseconds, got ${show(v)}`)
      return [date.toISOString()]
    }
    case 'amount':
      if (typeof v !== 'bigint') throw new TypeError(`expected a bigint amount of satoshis, got ${typeof v}`)
      return [v.toString(), formatBtc(v)]
  }
}

/** A value for an error message. */
function show(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'bigint') return `${v}n`
  return v instanceof Date ? 'an invalid Date' : typeof v
}
