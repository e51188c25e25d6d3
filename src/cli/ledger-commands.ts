/**
 * `headframe report <name>` and `headframe ledger add-revenue`.
 *
 * LevelDB lets one process open a database, and the running pool holds the
 * ledger. So each command first tries to open the ledger itself; when it is
 * locked (`HF_LEDGER_LOCKED`), it asks the running pool over its HTTP API
 * instead (`[http]` host and port of the same config; `add-revenue` also
 * needs `[http] admin_token`). Either way the same code (src/reports) builds
 * the same bytes.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { request } from 'undici'
import { type Config, loadConfig } from '../config/index.js'
import { ReportError } from '../errors.js'
import { Ledger, LedgerError, ledgerOptions } from '../ledger/index.js'
import { MAX_MONEY_SATS } from '../payouts/amount.js'
import { ReportQueryError, buildReport, parseReportTime, renderReport, reportQuery, type ReportFormat } from '../reports/index.js'
import type { CliIo } from './program.js'

/** Runs `direct` on the ledger opened here, or `viaPool` when the running pool holds it. */
async function withLedger<T>(config: Config, io: CliIo, direct: (ledger: Ledger) => Promise<T>, viaPool: (base: string) => Promise<T>): Promise<T> {
  const path = resolve(io.cwd, config.ledger.path)
  if (!existsSync(path)) throw new ReportQueryError(`there is no ledger at ${path} (see [ledger] path)`)
  let ledger: Ledger
  try {
    ledger = await Ledger.open({ ...ledgerOptions(config.ledger), path, pruneIntervalMs: 0 })
  } catch (err) {
    if (!(err instanceof LedgerError) || err.code !== 'HF_LEDGER_LOCKED') throw err
    if (!config.http.enabled) throw new ReportError('HF_POOL_API', `the ledger at ${path} is in use by the running pool and its HTTP API is turned off ([http] enabled = false): stop the pool or turn the API on`, { cause: err })
    const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host === '::' ? '[::1]' : config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host
    return viaPool(`http://${host}:${config.http.port}`)
  }
  try {
    return await direct(ledger)
  } finally {
    await ledger.close()
  }
}

/** One call to the pool's API; its JSON error message becomes an `HF_POOL_API` error. */
async function callPool(url: string, init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }): Promise<string> {
  let status: number
  let text: string
  try {
    const res = await request(url, { method: init.method, headers: init.headers ?? {}, ...(init.body === undefined ? {} : { body: init.body }) })
    status = res.statusCode
    text = await res.body.text()
  } catch (err) {
    throw new ReportError('HF_POOL_API', `the ledger is in use by the running pool, and its HTTP API at ${new URL(url).origin} cannot be reached: ${(err as Error).message}`, { cause: err })
  }
  if (status === 200) return text
  let message = text
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text
  } catch {
    // not JSON: keep the text
  }
  if (status === 400) throw new ReportQueryError(message)
  throw new ReportError('HF_POOL_API', `the running pool's HTTP API answered ${status}: ${message}`)
}

interface ReportOptions {
  from: string
  to: string
  account?: string
  format: string
  config?: string
}

interface RevenueOptions {
  amountSats: string
  from: string
  to: string
  note?: string
  config?: string
}

/** Adds `report` and `ledger add-revenue` to the program. */
export function registerLedgerCommands(program: Command, io: CliIo): void {
  program
    .command('report')
    .description('write a report (payouts, workers, blocks or shares) for a time range to stdout')
    .argument('<name>', 'payouts | workers | blocks | shares')
    .requiredOption('--from <time>', 'start, inclusive: YYYY-MM-DD (UTC) or ISO 8601')
    .requiredOption('--to <time>', 'end, exclusive: YYYY-MM-DD (UTC) or ISO 8601')
    .option('--account <name>', 'only this account')
    .option('--format <format>', 'csv or json', 'csv')
    .option('-c, --config <file>', 'TOML config file (the pool\'s: [ledger] path, [http])')
    .action(async (name: string, opts: ReportOptions) => {
      if (opts.format !== 'csv' && opts.format !== 'json') throw new ReportQueryError(`--format must be csv or json, got ${JSON.stringify(opts.format)}`)
      const format: ReportFormat = opts.format
      const query = reportQuery({ name, from: opts.from, to: opts.to, account: opts.account })
      const { config } = await loadConfig(opts.config, { env: io.env, cwd: io.cwd })
      const text = await withLedger(
        config,
        io,
        async (ledger) => renderReport(await buildReport(ledger, query), format),
        (base) => {
          const params = new URLSearchParams({ from: opts.from, to: opts.to, ...(opts.account === undefined ? {} : { account: opts.account }) })
          return callPool(`${base}/api/reports/${query.name}.${format}?${params.toString()}`, { method: 'GET' })
        },
      )
      io.stdout(text)
    })

  const ledger = program.command('ledger').description('ledger records kept by the operator')
  ledger
    .command('add-revenue')
    .description('record what the upstream pool paid for a period (proxy mode); the reports split it over workers')
    .requiredOption('--amount-sats <n>', 'satoshis earned upstream in the period')
    .requiredOption('--from <time>', 'period start, inclusive: YYYY-MM-DD (UTC) or ISO 8601')
    .requiredOption('--to <time>', 'period end, exclusive: YYYY-MM-DD (UTC) or ISO 8601')
    .option('--note <text>', 'a note kept with the record')
    .option('-c, --config <file>', 'TOML config file (the pool\'s: [ledger] path, [http])')
    .action(async (opts: RevenueOptions) => {
      if (!/^[1-9]\d{0,15}$/.test(opts.amountSats) || BigInt(opts.amountSats) > MAX_MONEY_SATS) {
        throw new ReportQueryError(`--amount-sats must be a whole number of satoshis, 1 to ${MAX_MONEY_SATS}, got ${JSON.stringify(opts.amountSats)}`)
      }
      const from = parseReportTime(opts.from, '--from')
      const to = parseReportTime(opts.to, '--to')
      if (to <= from) throw new ReportQueryError('--to must be after --from')
      const { config } = await loadConfig(opts.config, { env: io.env, cwd: io.cwd })
      const line = await withLedger(
        config,
        io,
        async (l) => {
          const r = await l.addUpstreamRevenue({ amountSats: BigInt(opts.amountSats), from, to, ...(opts.note === undefined ? {} : { note: opts.note }) })
          return `recorded upstream revenue #${r.id}: ${r.amountSats} sats for ${new Date(r.from).toISOString()} to ${new Date(r.to).toISOString()}\n`
        },
        async (base) => {
          if (config.http.admin_token === '') throw new ReportError('HF_POOL_API', 'the ledger is in use by the running pool, and adding revenue through its API needs [http] admin_token (or HEADFRAME_HTTP_ADMIN_TOKEN)')
          const body = JSON.stringify({ amount_sats: opts.amountSats, from: opts.from, to: opts.to, ...(opts.note === undefined ? {} : { note: opts.note }) })
          const text = await callPool(`${base}/api/admin/revenue`, { method: 'POST', headers: { authorization: `Bearer ${config.http.admin_token}`, 'content-type': 'application/json' }, body })
          const r = JSON.parse(text) as { id: number; amount_sats: string; from: string; to: string }
          return `recorded upstream revenue #${r.id}: ${r.amount_sats} sats for ${r.from} to ${r.to} (through the running pool)\n`
        },
      )
      io.stdout(line)
    })
}
