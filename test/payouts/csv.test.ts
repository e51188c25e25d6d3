/**
 * The report CSV: a golden file compared byte for byte; the same text read
 * back with a strict RFC 4180 reader (test/helpers/csv-reader.ts: csv-parse
 * is not a dependency) to check values, amounts in sats and BTC, and times; a
 * random round trip of awkward text; the errors.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { csvHeaders, difficultyUnits, formatCsv, MAX_MONEY_SATS, type CsvColumn } from '../../src/payouts/index.js'
import { parseRfc4180 } from '../helpers/csv-reader.js'
import { Arbitrary } from '../helpers/payout-arbitrary.js'

interface WorkerRow {
  account: string
  worker: string | null
  accepted: number
  rejected: bigint
  stale: number
  difficulty: bigint
  hashrate: number
  share: readonly [bigint, bigint] | null
  earnings: bigint | null
  lastShare: Date | number | null
}

const COLUMNS: readonly CsvColumn<WorkerRow>[] = [
  { header: 'account', type: 'text', value: (r) => r.account },
  { header: 'worker', type: 'text', value: (r) => r.worker },
  { header: 'accepted', type: 'integer', value: (r) => r.accepted },
  { header: 'rejected', type: 'integer', value: (r) => r.rejected },
  { header: 'stale', type: 'integer', value: (r) => r.stale },
  { header: 'accepted_difficulty', type: 'difficulty', value: (r) => r.difficulty },
  { header: 'hashrate_hs', type: 'decimal', digits: 0, value: (r) => r.hashrate },
  { header: 'fraction', type: 'ratio', digits: 8, value: (r) => r.share },
  { header: 'earnings', type: 'amount', value: (r) => r.earnings },
  { header: 'last_share', type: 'time', value: (r) => r.lastShare },
]

const TOTAL = 10_000n * 2n ** 32n
const ROWS: WorkerRow[] = [
  {
    account: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq',
    worker: 'rack1.s19',
    accepted: 17_280,
    rejected: 12n,
    stale: 3,
    difficulty: difficultyUnits(6543.21),
    hashrate: 325_167_612_345_678.9,
    share: [difficultyUnits(6543.21), TOTAL],
    earnings: 306_250_000n,
    lastShare: Date.UTC(2024, 3, 20, 0, 9, 27, 5),
  },
  {
    account: 'farm, "north" site',
    worker: 'line one\r\nline two',
    accepted: 1,
    rejected: 0n,
    stale: 0,
    difficulty: difficultyUnits(0.0001),
    hashrate: 0.4,
    share: [1n, 3n],
    earnings: 1n,
    lastShare: new Date('1999-12-31T23:59:59.999Z'),
  },
  {
    account: '=HYPERLINK("http://x.invalid")',
    worker: '-rig',
    accepted: 0,
    rejected: 2n ** 64n,
    stale: 0,
    difficulty: 0n,
    hashrate: 0,
    share: null,
    earnings: -5n,
    lastShare: null,
  },
  {
    account: 'ölfeld 矿工 😀',
    worker: null,
    accepted: 9_007_199_254_740_991,
    rejected: 0n,
    stale: 1,
    difficulty: 2n ** 32n * 10n ** 12n + 1n,
    hashrate: 1e20,
    share: [TOTAL, TOTAL],
    earnings: MAX_MONEY_SATS,
    lastShare: 0,
  },
  { account: 'lf\nonly', worker: '', accepted: 2, rejected: 1n, stale: 0, difficulty: 1n, hashrate: 2.5, share: [0n, 1n], earnings: null, lastShare: 1_700_000_000_000 },
]

const golden = (name: string): string => readFileSync(fileURLToPath(new URL(`golden/${name}`, import.meta.url)), 'utf8')

t.test('golden file: workers.csv byte for byte', async (t) => {
  t.equal(formatCsv(COLUMNS, ROWS), golden('workers.csv'))
})

t.test('the same rows give the same bytes (reports are reproducible)', async (t) => {
  t.equal(formatCsv(COLUMNS, ROWS), formatCsv(COLUMNS, [...ROWS]))
})

t.test('read back with a strict RFC 4180 reader: every value as written', async (t) => {
  const [header, ...records] = parseRfc4180(formatCsv(COLUMNS, ROWS))
  t.same(header, [
    'account',
    'worker',
    'accepted',
    'rejected',
    'stale',
    'accepted_difficulty',
    'hashrate_hs',
    'fraction',
    'earnings_sats',
    'earnings_btc',
    'last_share',
  ])
  t.same(header, csvHeaders(COLUMNS))
  t.equal(records.length, ROWS.length)
  const col = (name: string): number => (header as string[]).indexOf(name)
  ROWS.forEach((row, i) => {
    const r = records[i] as string[]
    const account = row.account.startsWith('=') ? `'${row.account}` : row.account
    t.equal(r[col('account')], account, `row ${i} account (formula escaped)`)
    t.equal(r[col('worker')], row.worker === null ? '' : row.worker.startsWith('-') ? `'${row.worker}` : row.worker, `row ${i} worker`)
    t.equal(BigInt(r[col('accepted')] as string), BigInt(row.accepted), `row ${i} accepted`)
    t.equal(BigInt(r[col('rejected')] as string), row.rejected, `row ${i} rejected`)
    const sats = r[col('earnings_sats')] as string
    const btc = r[col('earnings_btc')] as string
    if (row.earnings === null) t.same([sats, btc], ['', ''], `row ${i} no earnings`)
    else {
      t.equal(BigInt(sats), row.earnings, `row ${i} earnings in sats`)
      t.match(btc, /^-?\d+\.\d{8}$/, `row ${i} BTC has 8 decimals`)
      t.equal(BigInt(btc.replace('.', '')), row.earnings, `row ${i} BTC is the same amount`)
    }
    const time = r[col('last_share')] as string
    if (row.lastShare === null) t.equal(time, '')
    else {
      t.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `row ${i} time is ISO 8601 UTC`)
      t.equal(Date.parse(time), new Date(row.lastShare).getTime(), `row ${i} time`)
    }
  })
  t.equal(records[0]?.[col('accepted_difficulty')], '6543.21000000')
  t.equal(records[1]?.[col('accepted_difficulty')], '0.00010000')
  t.equal(records[3]?.[col('accepted_difficulty')], '1000000000000.00000000')
  t.equal(records[0]?.[col('fraction')], '0.65432100')
  t.equal(records[1]?.[col('fraction')], '0.33333333')
})

t.test('random text of commas, quotes, CR, LF and non-ASCII reads back exactly', async (t) => {
  const arb = new Arbitrary(30_000_000)
  const alphabet = ['a', 'Z', '0', ',', '"', '""', '\r', '\n', '\r\n', ' ', "'", ';', '\t', '=', '-', 'é', '矿', '😀', '\u2028']
  const rows: string[][] = []
  for (let i = 0; i < 500; i++) rows.push([0, 1, 2].map(() => Array.from({ length: arb.int(12) }, () => arb.pick(alphabet)).join('')))
  const columns: CsvColumn<string[]>[] = [0, 1, 2].map((k) => ({ header: `c${k}`, type: 'text', value: (r: string[]) => r[k] }))
  t.same(parseRfc4180(formatCsv(columns, rows, { escapeFormulas: false })), [['c0', 'c1', 'c2'], ...rows])
})

t.test('no rows: the header alone; CRLF after every record', async (t) => {
  t.equal(formatCsv(COLUMNS.slice(0, 2), []), 'account,worker\r\n')
  t.equal(formatCsv([{ header: 'x', type: 'amount', value: (r: bigint) => r }], [1n, 2n]), 'x_sats,x_btc\r\n1,0.00000001\r\n2,0.00000002\r\n')
})

t.test('formula escaping covers = + - @ tab CR and the full-width forms, only in text columns', async (t) => {
  const starts = ['=1', '+1', '-1', '@A', '\tx', '\rx', '\uFF1D1', '\uFF0B1', '\uFF0D1', '\uFF20A']
  const text: CsvColumn<string> = { header: 't', type: 'text', value: (r) => r }
  const [, ...escaped] = parseRfc4180(formatCsv([text], starts))
  t.same(escaped, starts.map((v) => [`'${v}`]))
  const [, ...raw] = parseRfc4180(formatCsv([text], starts, { escapeFormulas: false }))
  t.same(raw, starts.map((v) => [v]))
  t.equal(formatCsv([{ header: 'n', type: 'decimal', digits: 2, value: (r: number) => r }], [-1.5, -0.001, -0]), 'n\r\n-1.50\r\n0.00\r\n0.00\r\n', 'numbers are not escaped, and there is no -0')
  t.equal(formatCsv([{ header: 'r', type: 'ratio', digits: 1, value: (r: bigint) => [r, 4n] as const }], [-1n]), 'r\r\n-0.3\r\n')
})

const invalid: [string, () => unknown][] = [
  ['a NaN decimal', () => formatCsv([{ header: 'h', type: 'decimal', digits: 1, value: () => NaN }], [1])],
  ['an infinite decimal', () => formatCsv([{ header: 'h', type: 'decimal', digits: 1, value: () => Infinity }], [1])],
  ['an unsafe integer', () => formatCsv([{ header: 'h', type: 'integer', value: () => 2 ** 53 }], [1])],
  ['a fractional integer', () => formatCsv([{ header: 'h', type: 'integer', value: () => 1.5 }], [1])],
  ['an invalid date', () => formatCsv([{ header: 'h', type: 'time', value: () => new Date('nope') }], [1])],
  ['a NaN time', () => formatCsv([{ header: 'h', type: 'time', value: () => NaN }], [1])],
  ['a ratio over 0', () => formatCsv([{ header: 'h', type: 'ratio', digits: 2, value: () => [1n, 0n] as const }], [1])],
  ['duplicate headers', () => formatCsv([{ header: 'x_sats', type: 'integer', value: () => 1 }, { header: 'x', type: 'amount', value: () => 1n }], [])],
  ['an empty header', () => formatCsv([{ header: '', type: 'integer', value: () => 1 }], [])],
  ['bad digits', () => formatCsv([{ header: 'h', type: 'decimal', digits: 21, value: () => 1 }], [])],
  ['bad difficulty digits', () => formatCsv([{ header: 'h', type: 'difficulty', digits: -1, value: () => 1n }], [])],
]
for (const [name, run] of invalid) {
  t.test(`rejects ${name}`, async (t) => {
    t.throws(run, RangeError)
  })
}

const wrongTypes: [string, () => unknown, typeof TypeError | typeof RangeError][] = [
  ['an amount as a number', () => formatCsv([{ header: 'h', type: 'amount', value: () => 5 as unknown as bigint }], [1]), TypeError],
  ['text that is not a string', () => formatCsv([{ header: 'h', type: 'text', value: () => 5 as unknown as string }], [1]), TypeError],
  ['difficulty as a number', () => formatCsv([{ header: 'h', type: 'difficulty', value: () => 5 as unknown as bigint }], [1]), TypeError],
  ['a ratio that is not a pair', () => formatCsv([{ header: 'h', type: 'ratio', digits: 2, value: () => [1n] as unknown as [bigint, bigint] }], [1]), TypeError],
  ['a ratio of numbers', () => formatCsv([{ header: 'h', type: 'ratio', digits: 2, value: () => [1, 2] as unknown as [bigint, bigint] }], [1]), TypeError],
  ['a time as a string', () => formatCsv([{ header: 'h', type: 'time', value: () => '2024-01-01' as unknown as number }], [1]), RangeError],
  ['a header that is not a string', () => formatCsv([{ header: 5 as unknown as string, type: 'integer', value: () => 1 }], []), TypeError],
]
for (const [name, run, error] of wrongTypes) {
  t.test(`rejects ${name}`, async (t) => {
    t.throws(run, error)
  })
}

t.test('errors name the row and the column', async (t) => {
  t.throws(() => formatCsv([{ header: 'when', type: 'time', value: (r: number) => (r === 2 ? NaN : r) }], [0, 1, 2]), { name: 'RangeError', message: /^CSV row 2, column when: / })
})

t.test('an error thrown by a value function passes through', async (t) => {
  const boom = new TypeError('boom')
  const column: CsvColumn<number> = {
    header: 'h',
    type: 'text',
    value: () => {
      throw boom
    },
  }
  t.throws(() => formatCsv([column], [1]), boom)
})

