/**
 * Reports: golden CSV files from a deterministic ledger, read back with a
 * strict RFC 4180 reader; byte-identical after close and reopen; JSON with
 * the same cells; the CLI on an unlocked ledger and, while a pool holds the
 * lock, through the running pool's HTTP API (reports and add-revenue); and
 * the HTTP routes themselves over real HTTP.
 */
import t from 'tap'
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { runCli, type CliIo } from '../../src/cli/program.js'
import { Ledger } from '../../src/ledger/index.js'
import { MAX_MONEY_SATS } from '../../src/payouts/index.js'
import { REPORT_NAMES, ReportQueryError, buildReport, parseReportTime, renderReport, reportQuery, type ReportName } from '../../src/reports/index.js'
import { csvObjects, parseRfc4180 } from '../helpers/csv-reader.js'
import { freePort } from '../helpers/free-port.js'
import { FILL_FROM, FILL_TO, fillReportLedger } from '../helpers/report-fill.js'

const GOLDEN = fileURLToPath(new URL('../fixtures/golden/', import.meta.url))
const golden = (name: string): string => readFileSync(join(GOLDEN, `${name}.csv`), 'utf8')

/** One filled ledger for the whole file; tests that write copy it. */
const master = join(t.testdir({}), 'master')
await fillReportLedger(master)

async function reports(path: string, format: 'csv' | 'json' = 'csv'): Promise<Record<ReportName, string>> {
  const ledger = await Ledger.open({ path, sync: false, retentionDays: 36500, pruneIntervalMs: 0 })
  try {
    const out = {} as Record<ReportName, string>
    for (const name of REPORT_NAMES) out[name] = renderReport(await buildReport(ledger, reportQuery({ name, from: FILL_FROM, to: FILL_TO })), format)
    return out
  } finally {
    await ledger.close()
  }
}

const first = await reports(master)
if (process.env.UPDATE_GOLDEN === '1') {
  mkdirSync(GOLDEN, { recursive: true })
  for (const name of REPORT_NAMES) writeFileSync(join(GOLDEN, `${name}.csv`), first[name])
}

t.test('each report is its golden file byte for byte, and reads back as strict RFC 4180', async (t) => {
  for (const name of REPORT_NAMES) {
    t.equal(first[name], golden(name), `${name}.csv`)
    const records = parseRfc4180(first[name])
    t.ok(records.length > 1, `${name}: a header and rows`)
  }
  // Every amount's sats and BTC columns are the same integer; times are ISO 8601 UTC.
  for (const name of REPORT_NAMES) {
    for (const row of csvObjects(first[name])) {
      for (const [key, sats] of Object.entries(row)) {
        if (!key.endsWith('_sats') || sats === '') continue
        const btc = row[key.replace(/_sats$/, '_btc')] as string
        t.match(btc, /^-?\d+\.\d{8}$/)
        if (BigInt(btc.replace('.', '')) !== BigInt(sats)) t.fail(`${name} ${key}: ${sats} vs ${btc}`)
      }
      for (const key of ['found_at', 'credited_at', 'time', 'first_share', 'last_share']) {
        const v = row[key]
        if (v !== undefined && v !== '') t.equal(new Date(v).toISOString(), v)
      }
    }
  }
})

t.test('the numbers agree with the ledger and with each other', async (t) => {
  const payouts = csvObjects(first.payouts)
  const workers = csvObjects(first.workers)
  const blocks = csvObjects(first.blocks)
  const shares = csvObjects(first.shares)
  t.same(payouts.map((r) => r.account), ["'=cmd", 'alice', 'bob', 'treasury'], 'a formula-looking account is escaped; accounts in name order')
  t.equal(workers[0]?.worker, 'rig,"1"', 'commas and quotes survive quoting')
  // Shares report vs per-account accepted counts.
  for (const p of payouts) t.equal(Number(p.accepted), shares.filter((s) => `${s.account}` === p.account).length, `${p.account}: accepted = its share rows`)
  // Fractions add up to 1 (to rounding), per-worker earnings add up to the account's.
  const fractions = payouts.reduce((s, r) => s + Number(r.fraction), 0)
  t.ok(Math.abs(fractions - 1) < 1e-7, `fractions sum to 1 (${fractions})`)
  for (const p of payouts) {
    const sum = workers.filter((w) => w.account === p.account).reduce((s, w) => s + BigInt(w.earnings_sats as string), 0n)
    t.equal(sum, BigInt(p.earnings_sats as string), `${p.account}: workers' earnings add up`)
    t.equal(BigInt(p.earnings_sats as string) - BigInt(p.paid_out_sats as string), BigInt(p.balance_sats as string), `${p.account}: earnings - paid = balance (nothing before the range)`)
  }
  // Earnings = credited - reversed over the blocks; the orphan's shortfall is reported.
  const credited = blocks.reduce((s, b) => s + BigInt(b.credited_sats || '0') - BigInt(b.reversed_sats || '0'), 0n)
  t.equal(payouts.reduce((s, p) => s + BigInt(p.earnings_sats as string), 0n), credited)
  const orphan = blocks.find((b) => b.status === 'orphaned')
  t.equal(BigInt(orphan?.credited_sats as string) - BigInt(orphan?.reversed_sats as string), BigInt(orphan?.unrecovered_sats as string))
  t.ok(BigInt(orphan?.unrecovered_sats as string) > 0n, 'bob had been paid: part of the reversal is unrecovered')
  // Upstream revenue: both columns split the whole 123,457,789 sats.
  t.equal(payouts.reduce((s, p) => s + BigInt(p.upstream_revenue_sats as string), 0n), 123_457_789n)
  t.equal(payouts.reduce((s, p) => s + BigInt(p.local_revenue_sats as string), 0n), 123_457_789n)
  t.ok(payouts.some((p) => Number(p.upstream_rejected) > 0) && payouts.some((p) => Number(p.upstream_stale) > 0))
  t.ok(payouts.some((p) => Number(p.rejected) > 0) && payouts.some((p) => Number(p.stale) > 0))
  // Hashrate: difficulty × 2^32 / seconds.
  const alice = payouts.find((p) => p.account === 'alice')
  const units = BigInt(Math.round(Number(alice?.accepted_difficulty) * 2)) * 2n ** 31n
  const [q, r] = [units / 86_400n, units % 86_400n]
  t.equal(alice?.hashrate_hs, (2n * r >= 86_400n ? q + 1n : q).toString(), 'difficulty × 2^32 / 86400 s, rounded')
})

t.test('the same range gives the same bytes after close and reopen, in CSV and JSON', async (t) => {
  const again = await reports(master)
  t.same(again, first)
  const json = await reports(master, 'json')
  t.same(await reports(master, 'json'), json)
  for (const name of REPORT_NAMES) {
    const doc = JSON.parse(json[name]) as { report: string; from: string; to: string; account: null; rows: Record<string, unknown>[] }
    t.match(doc, { report: name, from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z', account: null })
    const csv = csvObjects(first[name])
    t.equal(doc.rows.length, csv.length, `${name}: as many rows`)
    // The same cells: JSON has the raw text (no formula escaping), CSV the escaped text.
    doc.rows.forEach((row, i) => {
      for (const [key, value] of Object.entries(row)) {
        const cell = csv[i]?.[key]
        const text = value === null ? '' : typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value)
        if (cell !== text && cell !== `'${text}`) t.fail(`${name} row ${i} ${key}: ${JSON.stringify(value)} vs ${JSON.stringify(cell)}`)
      }
    })
  }
})

t.test('one account', async (t) => {
  const ledger = await Ledger.open({ path: master, sync: false, retentionDays: 36500, pruneIntervalMs: 0 })
  t.teardown(() => ledger.close())
  for (const name of REPORT_NAMES) {
    const text = renderReport(await buildReport(ledger, reportQuery({ name, from: FILL_FROM, to: FILL_TO, account: 'alice' })), 'csv')
    const rows = csvObjects(text)
    t.ok(rows.length > 0 && rows.every((r) => r.account === 'alice'), `${name}: only alice`)
    if (name === 'payouts') {
      const all = csvObjects(first.payouts).find((r) => r.account === 'alice')
      t.same(rows[0], all, 'the same row as in the whole report')
    }
  }
})

t.test('query checks', async (t) => {
  t.equal(parseReportTime('2026-01-01', 'from'), Date.UTC(2026, 0, 1))
  t.equal(parseReportTime('2026-01-01T01:00:00+01:00', 'from'), Date.UTC(2026, 0, 1))
  t.equal(parseReportTime('2026-01-01T00:00:00.5Z', 'from'), Date.UTC(2026, 0, 1) + 500)
  for (const bad of ['yesterday', '2026-01-01T00:00:00', '2026-13-01', '1/1/2026', '']) t.throws(() => parseReportTime(bad, 'from'), ReportQueryError, bad)
  t.throws(() => reportQuery({ name: 'money', from: FILL_FROM, to: FILL_TO }), /unknown report "money"/)
  t.throws(() => reportQuery({ name: 'payouts', from: FILL_TO, to: FILL_FROM }), /to must be after from/)
  t.throws(() => reportQuery({ name: 'payouts', from: FILL_FROM, to: FILL_TO, account: 'a b' }), /not an account name/)
  t.match(new ReportQueryError('x'), { code: 'HF_REPORT_INVALID' })
})

// ---- CLI ---------------------------------------------------------------------------

function capture(cwd: string, env: Record<string, string> = {}): { io: CliIo; out: () => string; err: () => string; stop: () => void; logs: Record<string, unknown>[] } {
  let out = ''
  let err = ''
  let stop: () => void = () => {}
  const stopped = new Promise<string>((resolve) => (stop = () => resolve('SIGTERM')))
  const logs: Record<string, unknown>[] = []
  return {
    io: { stdout: (s) => (out += s), stderr: (s) => (err += s), env, cwd, untilStopped: () => stopped, logDestination: { write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>) } },
    out: () => out,
    err: () => err,
    stop: () => stop(),
    logs,
  }
}

async function cli(cwd: string, argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const c = capture(cwd, env)
  const code = await runCli(argv, c.io)
  return { code, out: c.out(), err: c.err() }
}

t.test('CLI on a ledger no pool holds: reports and add-revenue open it directly', async (t) => {
  const dir = t.testdir({ 'headframe.toml': '[ledger]\npath = "./ledger"\n' })
  cpSync(master, join(dir, 'ledger'), { recursive: true })
  for (const name of REPORT_NAMES) {
    const r = await cli(dir, ['report', name, '--from', FILL_FROM, '--to', FILL_TO])
    t.equal(r.code, 0, r.err)
    t.equal(r.out, golden(name), `${name} from the CLI is the golden file`)
  }
  const json = await cli(dir, ['report', 'blocks', '--from', FILL_FROM, '--to', FILL_TO, '--format', 'json', '--account', 'alice'])
  t.same((JSON.parse(json.out) as { rows: { height: number }[] }).rows.map((r) => r.height), [900_002], 'the block alice found')

  const add = await cli(dir, ['ledger', 'add-revenue', '--amount-sats', '5000', '--from', '2026-01-01T10:00:00Z', '--to', '2026-01-01T11:00:00Z', '--note', 'evening'])
  t.equal(add.code, 0, add.err)
  t.match(add.out, /recorded upstream revenue #\d+: 5000 sats for 2026-01-01T10:00:00.000Z to 2026-01-01T11:00:00.000Z/)
  const after = await cli(dir, ['report', 'payouts', '--from', FILL_FROM, '--to', FILL_TO])
  t.equal(csvObjects(after.out).reduce((s, p) => s + BigInt(p.upstream_revenue_sats as string), 0n), 123_462_789n, 'the new revenue is split too')

  const bad: [string[], RegExp][] = [
    [['ledger', 'add-revenue', '--amount-sats', '0', '--from', FILL_FROM, '--to', FILL_TO], /--amount-sats must be a whole number/],
    [['ledger', 'add-revenue', '--amount-sats', (MAX_MONEY_SATS + 1n).toString(), '--from', FILL_FROM, '--to', FILL_TO], /--amount-sats must be/],
    [['ledger', 'add-revenue', '--amount-sats', '1', '--from', FILL_TO, '--to', FILL_FROM], /--to must be after --from/],
    [['report', 'payouts', '--from', 'today', '--to', FILL_TO], /from must be a date/],
    [['report', 'payouts', '--from', FILL_FROM, '--to', FILL_TO, '--format', 'xml'], /--format must be csv or json/],
    [['report', 'payouts', '--from', FILL_FROM, '--to', FILL_TO, '-c', 'none.toml'], /none\.toml: file not found/],
  ]
  for (const [argv, message] of bad) {
    const r = await cli(dir, argv)
    t.equal(r.code, 1, argv.join(' '))
    t.match(r.err, message)
  }
  const missing = t.testdir({})
  const none = await cli(missing, ['report', 'payouts', '--from', FILL_FROM, '--to', FILL_TO])
  t.match(none.err, /there is no ledger at .*data\/ledger/)
  t.notOk(existsSync(join(missing, 'data')), 'no empty ledger is created by a report')
})

t.test('while a pool holds the ledger: the CLI goes through its HTTP API; the routes over real HTTP', async (t) => {
  const token = 'report-admin-token-0123456789'
  const httpPort = await freePort()
  const config = ['[stratum]', 'host = "127.0.0.1"', `port = ${await freePort()}`, '[http]', `port = ${httpPort}`, `admin_token = "${token}"`, '[ledger]', 'path = "./ledger"', ''].join('\n')
  const dir = t.testdir({ 'headframe.toml': config, 'no-token.toml': config.replace(`admin_token = "${token}"`, ''), 'no-http.toml': config.replace('[http]', '[http]\nenabled = false'), 'wrong-port.toml': config.replace(`port = ${httpPort}`, `port = ${await freePort()}`) })
  cpSync(master, join(dir, 'ledger'), { recursive: true })
  const pool = capture(dir)
  const exit = runCli(['run'], pool.io)
  const { until } = await import('../helpers/until.js')
  await until(() => pool.logs.some((l) => l.msg === 'http api listening'), 30_000)
  t.teardown(async () => {
    pool.stop()
    await exit
  })
  const base = `http://127.0.0.1:${httpPort}`

  // Reports from the running pool: the same bytes as the golden files.
  for (const name of REPORT_NAMES) {
    const res = await request(`${base}/api/reports/${name}.csv?from=${FILL_FROM}&to=${FILL_TO}`)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'text/csv; charset=utf-8')
    t.match(res.headers['content-disposition'], `filename="headframe-${name}-2026-01-01-2026-01-02.csv"`)
    t.equal(await res.body.text(), golden(name), `GET /api/reports/${name}.csv`)
    const r = await cli(dir, ['report', name, '--from', FILL_FROM, '--to', FILL_TO])
    t.equal(r.code, 0, r.err)
    t.equal(r.out, golden(name), `headframe report ${name} while the pool runs`)
  }
  const json = await request(`${base}/api/reports/workers.json?from=${FILL_FROM}&to=${FILL_TO}&account=bob`)
  t.equal(json.statusCode, 200)
  t.match(JSON.parse(await json.body.text()), { report: 'workers', account: 'bob', rows: [{ account: 'bob', worker: 'bitaxe' }] })
  for (const [path, status] of [
    ['/api/reports/payouts.xml?from=2026-01-01&to=2026-01-02', 404],
    ['/api/reports/payouts.csv?from=2026-01-01', 400],
    ['/api/reports/money.csv?from=2026-01-01&to=2026-01-02', 400],
    ['/api/reports/payouts.csv?from=2026-01-02&to=2026-01-01', 400],
  ] as const) {
    const res = await request(`${base}${path}`)
    t.equal(res.statusCode, status, path)
    await res.body.dump()
  }

  // add-revenue through the pool (the ledger is locked).
  const add = await cli(dir, ['ledger', 'add-revenue', '--amount-sats', '777', '--from', '2026-01-01T11:00:00Z', '--to', '2026-01-01T12:00:00Z', '--note', 'via api'])
  t.equal(add.code, 0, add.err)
  t.match(add.out, /recorded upstream revenue #\d+: 777 sats .* \(through the running pool\)/)
  const after = await cli(dir, ['report', 'payouts', '--from', FILL_FROM, '--to', FILL_TO])
  t.equal(csvObjects(after.out).reduce((s, p) => s + BigInt(p.upstream_revenue_sats as string), 0n), 123_458_566n)
  const noToken = await cli(dir, ['ledger', 'add-revenue', '--amount-sats', '1', '--from', FILL_FROM, '--to', FILL_TO, '-c', 'no-token.toml'])
  t.match(noToken.err, /needs \[http\] admin_token/)
  const noHttp = await cli(dir, ['report', 'payouts', '--from', FILL_FROM, '--to', FILL_TO, '-c', 'no-http.toml'])
  t.match(noHttp.err, /HTTP API is turned off/)
  const wrongPort = await cli(dir, ['report', 'payouts', '--from', FILL_FROM, '--to', FILL_TO, '-c', 'wrong-port.toml'])
  t.match(wrongPort.err, /cannot be reached/)
  const badFromPool = await cli(dir, ['report', 'payouts', '--from', '2026-01-01T00:00:00+01', '--to', FILL_TO])
  t.match(badFromPool.err, /from must be a date/)

  // The admin route itself.
  const post = async (body: unknown, auth = `Bearer ${token}`) => {
    const res = await request(`${base}/api/admin/revenue`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(body) })
    return { status: res.statusCode, json: JSON.parse(await res.body.text()) as Record<string, unknown> }
  }
  t.equal((await post({ amount_sats: '1', from: FILL_FROM, to: FILL_TO }, 'Bearer nope')).status, 401)
  const ok = await post({ amount_sats: 250, from: '2026-01-03', to: '2026-01-04', note: 'n' })
  t.match(ok, { status: 200, json: { amount_sats: '250', from: '2026-01-03T00:00:00.000Z', to: '2026-01-04T00:00:00.000Z', note: 'n' } })
  for (const body of [
    { amount_sats: '0', from: FILL_FROM, to: FILL_TO },
    { amount_sats: '2100000000000001', from: FILL_FROM, to: FILL_TO },
    { amount_sats: -5, from: FILL_FROM, to: FILL_TO },
    { amount_sats: '5', from: 'soon', to: FILL_TO },
    { amount_sats: '5', from: FILL_TO, to: FILL_FROM },
    { amount_sats: '5', from: FILL_FROM },
  ]) {
    const r = await post(body)
    t.equal(r.status, 400, JSON.stringify(body))
    t.equal(r.json.error, 'bad-request')
  }
})
