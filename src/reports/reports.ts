/**
 * The reports (`headframe report <name>` and `GET /api/reports/<name>.csv`):
 * payouts, workers, blocks and shares over a time range, built from the
 * ledger only, so the same range gives byte-identical output after a
 * restart (as long as nothing is added inside the range: a closed past
 * range never changes, except `shares` rows once pruned by retention).
 *
 * One module builds the rows and columns for both the CLI and the HTTP API;
 * `renderReport` writes them as CSV (src/payouts/csv.ts: RFC 4180, header
 * row, amounts as integer sats AND BTC with 8 decimals from the integer) or
 * JSON (the same columns and cell texts).
 *
 * Upstream columns (proxy mode) appear when the range holds upstream
 * results or upstream revenue records.
 */
import { splitUpstreamRevenue } from '../accounting/upstream-split.js'
import { ReportError } from '../errors.js'
import type { Ledger, LedgerBlock, StoredShare } from '../ledger/index.js'
import { formatBtc } from '../payouts/amount.js'
import { type CsvColumn, formatCsv, formatRatio } from '../payouts/csv.js'
import { splitProportionally } from '../payouts/split.js'
import { UNITS_PER_DIFFICULTY } from '../payouts/units.js'

export const REPORT_NAMES = ['payouts', 'workers', 'blocks', 'shares'] as const
export type ReportName = (typeof REPORT_NAMES)[number]
export type ReportFormat = 'csv' | 'json'

export interface ReportQuery {
  readonly name: ReportName
  /** ms since the epoch, inclusive. */
  readonly from: number
  /** ms since the epoch, exclusive. */
  readonly to: number
  /** Only this account's rows (the finder's blocks for `blocks`). */
  readonly account?: string | undefined
}

/** Rows and how to write them. */
export interface Report<Row = unknown> {
  readonly query: ReportQuery
  readonly columns: readonly CsvColumn<Row>[]
  readonly rows: readonly Row[]
}

/** Most share rows a `shares` report holds (a bigger range is refused: split it). */
export const MAX_SHARE_ROWS = 1_000_000

/** A report query that cannot be answered (bad dates, unknown report, too many rows): `HF_REPORT_INVALID`. */
export class ReportQueryError extends ReportError {
  constructor(message: string) {
    super('HF_REPORT_INVALID', message)
  }
}

/**
 * Parses a report time: `YYYY-MM-DD` (midnight UTC) or a full ISO 8601 time
 * with `Z` or an offset. @throws ReportQueryError
 */
export function parseReportTime(text: string, what: string): number {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(date) ? Date.parse(date) : Number.NaN
  if (!Number.isSafeInteger(ms) || ms < 0) throw new ReportQueryError(`${what} must be a date (YYYY-MM-DD, UTC) or an ISO 8601 time with Z or an offset, got ${JSON.stringify(text)}`)
  return ms
}

/** Checks and builds a query. @throws ReportQueryError */
export function reportQuery(input: { name: string; from: string; to: string; account?: string | undefined }): ReportQuery {
  if (!(REPORT_NAMES as readonly string[]).includes(input.name)) throw new ReportQueryError(`unknown report ${JSON.stringify(input.name)}: one of ${REPORT_NAMES.join(', ')}`)
  const from = parseReportTime(input.from, 'from')
  const to = parseReportTime(input.to, 'to')
  if (to <= from) throw new ReportQueryError('to must be after from')
  if (input.account !== undefined && !/^[\x21-\x2e\x30-\x7e]{1,128}$/.test(input.account)) throw new ReportQueryError(`account ${JSON.stringify(input.account)} is not an account name`)
  return { name: input.name as ReportName, from, to, ...(input.account === undefined ? {} : { account: input.account }) }
}

// ---- per account / worker statistics --------------------------------------

interface Stats {
  account: string
  worker: string | undefined
  accepted: number
  scaled: bigint
  rejected: number
  stale: number
  firstShareAt: number | undefined
  lastShareAt: number | undefined
  upAccepted: number
  upScaled: bigint
  upRejected: number
  upStale: number
  upRevenue: bigint
  localRevenue: bigint
  earnings: bigint
  paidOut: bigint
  balance: bigint
}

const blank = (account: string, worker: string | undefined): Stats => ({
  account,
  worker,
  accepted: 0,
  scaled: 0n,
  rejected: 0,
  stale: 0,
  firstShareAt: undefined,
  lastShareAt: undefined,
  upAccepted: 0,
  upScaled: 0n,
  upRejected: 0,
  upStale: 0,
  upRevenue: 0n,
  localRevenue: 0n,
  earnings: 0n,
  paidOut: 0n,
  balance: 0n,
})

const byName = (a: Stats, b: Stats): number => cmp(a.account, b.account) || cmp(a.worker ?? '', b.worker ?? '')
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Is a journal entry an earning (block or PPS credit, or its reversal)? Everything else is payouts and refunds. */
const isEarning = (ref: string | undefined): boolean => ref !== undefined && (ref.startsWith('block:') || ref.startsWith('pps:'))

interface Gathered {
  rows: Stats[]
  /** Pool-wide accepted difficulty in the range (fraction denominator). */
  total: bigint
  upstream: boolean
}

async function gather(ledger: Ledger, q: ReportQuery, perWorker: boolean): Promise<Gathered> {
  const range = { from: q.from, to: q.to, ...(q.account === undefined ? {} : { account: q.account }) }
  const rows = new Map<string, Stats>()
  const row = (account: string, worker: string | undefined): Stats => {
    const key = perWorker ? `${account}/${worker ?? ''}` : account
    let r = rows.get(key)
    if (r === undefined) rows.set(key, (r = blank(account, perWorker ? worker : undefined)))
    return r
  }
  for (const w of (await ledger.workers(range)).workers) {
    const r = row(w.account, w.worker)
    r.accepted += w.shares
    r.scaled += w.scaled
    r.firstShareAt = r.firstShareAt === undefined ? w.firstShareAt : Math.min(r.firstShareAt, w.firstShareAt)
    r.lastShareAt = r.lastShareAt === undefined ? w.lastShareAt : Math.max(r.lastShareAt, w.lastShareAt)
  }
  for (const w of (await ledger.rejectTotals(range)).workers) {
    const r = row(w.account, w.worker)
    r.rejected += w.counts.rejected
    r.stale += w.counts.stale
  }
  const upstream = (await ledger.upstreamTotals(range)).workers
  for (const w of upstream) {
    const r = row(w.account, w.worker)
    r.upAccepted += w.counts.accepted
    r.upScaled += w.counts.scaled
    r.upRejected += w.counts.rejected
    r.upStale += w.counts.stale
  }
  const revenue = await splitUpstreamRevenue(ledger, q.from, q.to)
  for (const share of perWorker ? revenue.workers : revenue.accounts) {
    if (q.account !== undefined && share.account !== q.account) continue
    const r = row(share.account, share.worker)
    r.upRevenue += share.byUpstream
    r.localRevenue += share.byLocal
  }

  // Money from the journal: earnings and payouts in the range, balance at its end.
  const earnings = new Map<string, bigint>()
  const paidOut = new Map<string, bigint>()
  const balances = new Map<string, bigint>()
  for await (const e of ledger.journal(q.account === undefined ? {} : { account: q.account })) {
    if (e.time >= q.to) continue
    balances.set(e.account, e.balance)
    if (e.time < q.from) continue
    if (isEarning(e.ref)) earnings.set(e.account, (earnings.get(e.account) ?? 0n) + e.amount)
    else paidOut.set(e.account, (paidOut.get(e.account) ?? 0n) - e.amount)
  }
  const accountsWithMoney = new Set([...earnings.keys(), ...paidOut.keys()])
  if (!perWorker) {
    for (const account of accountsWithMoney) row(account, undefined)
    for (const r of rows.values()) {
      r.earnings = earnings.get(r.account) ?? 0n
      r.paidOut = paidOut.get(r.account) ?? 0n
      r.balance = balances.get(r.account) ?? 0n
    }
  } else {
    // An account's earnings attributed to its workers by accepted difficulty (largest remainder, exact sum).
    const workersOf = new Map<string, Stats[]>()
    for (const r of rows.values()) workersOf.set(r.account, [...(workersOf.get(r.account) ?? []), r])
    for (const [account, amount] of earnings) {
      const list = workersOf.get(account)?.filter((w) => w.scaled > 0n) ?? []
      if (list.length === 0) {
        row(account, '').earnings = amount
        continue
      }
      const abs = amount < 0n ? -amount : amount
      const parts = splitProportionally(abs, list.map((w) => ({ account: w.worker ?? '', units: w.scaled })))
      for (const w of list) w.earnings = (amount < 0n ? -1n : 1n) * (parts.get(w.worker ?? '') ?? 0n)
    }
  }
  const total = (await ledger.acceptedDifficulty({ from: q.from, to: q.to })).scaled
  return { rows: [...rows.values()].sort(byName), total, upstream: upstream.length > 0 || revenue.records.length > 0 }
}

function statsColumns(g: Gathered, q: ReportQuery, perWorker: boolean): CsvColumn<Stats>[] {
  const ms = BigInt(q.to - q.from)
  const columns: CsvColumn<Stats>[] = [{ header: 'account', type: 'text', value: (r) => r.account }]
  if (perWorker) columns.push({ header: 'worker', type: 'text', value: (r) => r.worker })
  columns.push(
    { header: 'accepted', type: 'integer', value: (r) => r.accepted },
    { header: 'rejected', type: 'integer', value: (r) => r.rejected },
    { header: 'stale', type: 'integer', value: (r) => r.stale },
    { header: 'accepted_difficulty', type: 'difficulty', value: (r) => r.scaled },
    // difficulty × 2^32 hashes over the range's seconds: scaled units are difficulty × 2^32 already.
    { header: 'hashrate_hs', type: 'ratio', digits: 0, value: (r) => [r.scaled * 1000n, ms] },
    { header: 'fraction', type: 'ratio', digits: 8, value: (r) => (g.total === 0n ? null : [r.scaled, g.total]) },
  )
  if (perWorker) {
    columns.push({ header: 'first_share', type: 'time', value: (r) => r.firstShareAt }, { header: 'last_share', type: 'time', value: (r) => r.lastShareAt })
  }
  columns.push({ header: 'earnings', type: 'amount', value: (r) => r.earnings })
  if (!perWorker) columns.push({ header: 'paid_out', type: 'amount', value: (r) => r.paidOut }, { header: 'balance', type: 'amount', value: (r) => r.balance })
  if (g.upstream) {
    columns.push(
      { header: 'upstream_accepted', type: 'integer', value: (r) => r.upAccepted },
      { header: 'upstream_rejected', type: 'integer', value: (r) => r.upRejected },
      { header: 'upstream_stale', type: 'integer', value: (r) => r.upStale },
      { header: 'upstream_difficulty', type: 'difficulty', value: (r) => r.upScaled },
      { header: 'upstream_revenue', type: 'amount', value: (r) => r.upRevenue },
      { header: 'local_revenue', type: 'amount', value: (r) => r.localRevenue },
    )
  }
  return columns
}

// ---- blocks ------------------------------------------------------------------

interface BlockRow {
  block: LedgerBlock
  credited: bigint | undefined
  creditedAt: number | undefined
  reversed: bigint | undefined
}

const sum = (entries: readonly { amount: bigint }[]): bigint => entries.reduce((s, e) => s + e.amount, 0n)

async function blockRows(ledger: Ledger, q: ReportQuery): Promise<BlockRow[]> {
  const rows: BlockRow[] = []
  const blocks = (await ledger.blocks()).filter((b) => b.time >= q.from && b.time < q.to && (q.account === undefined || b.account === q.account))
  blocks.sort((a, b) => a.time - b.time || a.height - b.height || cmp(a.hash, b.hash))
  for (const block of blocks) {
    const credit = await ledger.posting(`block:${block.hash}:credit`)
    const reversal = await ledger.posting(`block:${block.hash}:reversal`)
    rows.push({
      block,
      credited: credit === undefined ? undefined : sum(credit),
      creditedAt: credit?.[0]?.time,
      reversed: reversal === undefined ? undefined : -sum(reversal),
    })
  }
  return rows
}

const BLOCK_COLUMNS: CsvColumn<BlockRow>[] = [
  { header: 'found_at', type: 'time', value: (r) => r.block.time },
  { header: 'height', type: 'integer', value: (r) => r.block.height },
  { header: 'hash', type: 'text', value: (r) => r.block.hash },
  { header: 'account', type: 'text', value: (r) => r.block.account },
  { header: 'worker', type: 'text', value: (r) => r.block.worker },
  { header: 'status', type: 'text', value: (r) => r.block.status },
  { header: 'confirmations', type: 'integer', value: (r) => r.block.confirmations },
  { header: 'reward', type: 'amount', value: (r) => r.block.reward },
  { header: 'credited', type: 'amount', value: (r) => r.credited },
  { header: 'credited_at', type: 'time', value: (r) => r.creditedAt },
  { header: 'reversed', type: 'amount', value: (r) => r.reversed },
  { header: 'unrecovered', type: 'amount', value: (r) => (r.reversed === undefined || r.credited === undefined ? undefined : r.credited - r.reversed) },
]

// ---- shares -------------------------------------------------------------------

const SHARE_COLUMNS: CsvColumn<StoredShare>[] = [
  { header: 'time', type: 'time', value: (s) => s.time },
  { header: 'seq', type: 'integer', value: (s) => s.seq },
  { header: 'account', type: 'text', value: (s) => s.account },
  { header: 'worker', type: 'text', value: (s) => s.worker },
  { header: 'difficulty', type: 'difficulty', value: (s) => s.scaled },
  { header: 'job_id', type: 'text', value: (s) => s.jobId },
  { header: 'height', type: 'integer', value: (s) => s.height },
  { header: 'block', type: 'integer', value: (s) => (s.block ? 1 : 0) },
  { header: 'round', type: 'integer', value: (s) => s.round },
  { header: 'source', type: 'text', value: (s) => s.source },
]

async function shareRows(ledger: Ledger, q: ReportQuery): Promise<StoredShare[]> {
  const rows: StoredShare[] = []
  for await (const s of ledger.sharesBetween(q.from, q.to)) {
    if (q.account !== undefined && s.account !== q.account) continue
    if (rows.length >= MAX_SHARE_ROWS) throw new ReportQueryError(`more than ${MAX_SHARE_ROWS} shares in the range: ask for a shorter one`)
    rows.push(s)
  }
  return rows
}

/** Builds a report from the ledger. */
export async function buildReport(ledger: Ledger, q: ReportQuery): Promise<Report> {
  switch (q.name) {
    case 'payouts':
    case 'workers': {
      const perWorker = q.name === 'workers'
      const g = await gather(ledger, q, perWorker)
      return { query: q, columns: statsColumns(g, q, perWorker), rows: g.rows } as Report
    }
    case 'blocks':
      return { query: q, columns: BLOCK_COLUMNS, rows: await blockRows(ledger, q) } as Report
    case 'shares':
      return { query: q, columns: SHARE_COLUMNS, rows: await shareRows(ledger, q) } as Report
  }
}

// ---- rendering -------------------------------------------------------------------

/** JSON cells: counts as numbers, everything else as the CSV text (exact decimals, never floats). */
function jsonCells(column: CsvColumn<never>, v: unknown): [string, unknown][] {
  if (column.type === 'amount') {
    const sats = v as bigint | null | undefined
    return [
      [`${column.header}_sats`, sats === null || sats === undefined ? null : sats.toString()],
      [`${column.header}_btc`, sats === null || sats === undefined ? null : formatBtc(sats)],
    ]
  }
  if (v === null || v === undefined) return [[column.header, null]]
  switch (column.type) {
    case 'integer':
      return [[column.header, typeof v === 'bigint' ? v.toString() : v]]
    case 'ratio': {
      const [n, d] = v as [bigint, bigint]
      return [[column.header, formatRatio(n, d, column.digits)]]
    }
    case 'difficulty':
      return [[column.header, formatRatio(v as bigint, UNITS_PER_DIFFICULTY, column.digits ?? 8)]]
    case 'time':
      return [[column.header, new Date(v as number).toISOString()]]
    case 'decimal':
      return [[column.header, (v as number).toFixed(column.digits)]]
    case 'text':
      return [[column.header, v]]
  }
}

/** The report as CSV (RFC 4180, CRLF) or JSON (an object with the query and the rows), same bytes for the same report. */
export function renderReport(report: Report, format: ReportFormat): string {
  if (format === 'csv') return formatCsv(report.columns, report.rows)
  const q = report.query
  const rows = report.rows.map((row) => Object.fromEntries(report.columns.flatMap((c) => jsonCells(c as CsvColumn<never>, (c.value as (r: unknown) => unknown)(row)))))
  const head = { report: q.name, from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString(), account: q.account ?? null }
  return `${JSON.stringify({ ...head, rows }, null, 2)}\n`
}

/** The content type of a format. */
export const REPORT_CONTENT_TYPES: Readonly<Record<ReportFormat, string>> = { csv: 'text/csv; charset=utf-8', json: 'application/json; charset=utf-8' }
