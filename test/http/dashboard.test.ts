/**
 * The dashboard in a real browser: Debian's headless Chromium driven by
 * playwright-core, loading the page from a running pool (startPool, the
 * production composition: ledger, Stratum server, HTTP) with real miners
 * submitting real shares. Asserts the workers table and the chart show
 * what the JSON API says, that they follow new shares live, that sorting
 * works, that the page runs under its CSP without a violation, and saves a
 * screenshot (HEADFRAME_DASHBOARD_SCREENSHOT=<file> to keep one, e.g. for
 * docs/dashboard.png).
 */
import t, { type Test } from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { startPool, type Pool } from '../../src/app.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/log.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { FixtureSource } from '../helpers/fixture-source.js'
import { freePort } from '../helpers/free-port.js'

// The browser side, typed just enough: the project compiles without the DOM library.
interface El {
  readonly dataset: Record<string, string | undefined>
  readonly textContent: string | null
  querySelector(selector: string): El | null
  querySelectorAll(selector: string): ArrayLike<El>
  getAttribute(name: string): string | null
}
interface Dashboard {
  chart: { data: ArrayLike<number | null>[] } | null
  history: { window: string } | null
}
declare const document: { readonly body: El; querySelector(selector: string): El | null }
declare const window: { headframeDashboard: Dashboard; headframeFormatHashrate(n: number): string; headframeFormatDuration(s: number | null): string }

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

interface WorkerJson {
  name: string
  accepted: number
  rejectPercent: number
  online: boolean
  difficulty: number
  hashrate: Record<'5m' | '1h' | '24h', number>
}

async function getJson<T>(url: string): Promise<T> {
  const res = await request(url)
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`)
  return (await res.body.json()) as T
}

/** Mines `n` accepted shares as `user` on its own connection. */
async function mine(miner: FakeMiner, user: string, n: number, from: number): Promise<void> {
  const job = miner.lastNotify() ?? (await miner.nextNotify())
  for (let i = 0; i < n; i++) {
    const found = miner.findShare(job, { extranonce2: Buffer.from((from + i).toString(16).padStart(16, '0'), 'hex') })
    const reply = await miner.submit(user, job.jobId, found)
    if (reply.result !== true) throw new Error(`share refused: ${JSON.stringify(reply.error)}`)
  }
}

async function runningPool(t: Test): Promise<{ pool: Pool; base: string }> {
  const httpPort = await freePort()
  const config = parseConfig({
    stratum: { host: '127.0.0.1', port: await freePort() },
    vardiff: { fixed_difficulty: 0.001, min_difficulty: 0.0001, start_difficulty: 0.001 },
    http: { host: '127.0.0.1', port: httpPort },
    ledger: { path: join(t.testdir(), 'ledger') },
  })
  const pool = await startPool({ config, origin: { kind: 'defaults' }, log: createLogger({ level: 'silent' }), env: {}, source: new FixtureSource() })
  t.teardown(() => pool.stop())
  return { pool, base: `http://127.0.0.1:${httpPort}` }
}

if (!existsSync(CHROMIUM)) {
  const banner = '='.repeat(78)
  console.error(`\n${banner}\nDASHBOARD BROWSER TEST SKIPPED: ${CHROMIUM} is missing.\nInstall Debian's package:  apt-get install -y chromium\n${banner}\n`)
  t.plan(0, `${CHROMIUM} missing: install the Debian package "chromium" (apt-get install -y chromium)`)
} else {
  t.test('the dashboard shows live pool numbers in headless Chromium', async (t) => {
    const { chromium } = await import('playwright-core')
    const { pool, base } = await runningPool(t)

    const rig1 = await FakeMiner.connect(pool.port)
    t.teardown(() => rig1.close())
    await rig1.handshake('farm.rig1', 'bitaxe/BM1366/v2.4.0')
    const rig2 = await FakeMiner.connect(pool.port)
    t.teardown(() => rig2.close())
    await rig2.handshake('farm.rig2', 'cgminer/4.12.1')
    await mine(rig1, 'farm.rig1', 3, 0)
    await mine(rig2, 'farm.rig2', 1, 100)
    // One duplicate from rig2: a reject percentage to show.
    const job = rig2.lastNotify()
    if (job === undefined) throw new Error('no job')
    const dup = await rig2.submit('farm.rig2', job.jobId, rig2.findShare(job, { extranonce2: Buffer.from((100).toString(16).padStart(16, '0'), 'hex') }))
    t.not(dup.error, null, 'duplicate rejected')

    const profile = mkdtempSync(join(tmpdir(), 'headframe-chromium-'))
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS })
    t.teardown(async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (m) => {
      // Failed loads are judged by URL below; anything else logged as an error is a problem.
      if ((m.type() === 'error' && !m.text().startsWith('Failed to load resource')) || /Content Security Policy/i.test(m.text())) problems.push(m.text())
    })
    const failed: string[] = []
    page.on('response', (r) => {
      // The report index is optional (the links then come from the page's default list).
      if (r.status() >= 400 && new URL(r.url()).pathname !== '/api/reports') failed.push(`${r.status()} ${r.url()}`)
    })
    page.on('pageerror', (err) => problems.push(String(err)))
    const external: string[] = []
    page.on('request', (r) => {
      if (!r.url().startsWith(base)) external.push(r.url())
    })

    const response = await page.goto(`${base}/?refresh=1`)
    t.equal(response?.status(), 200)
    t.match(response?.headers()['content-security-policy'], /script-src 'self'/)
    await page.waitForFunction(() => Number(document.body.dataset.polls ?? 0) >= 1)

    t.test('the workers table matches /api/workers', async (t) => {
      const api = (await getJson<{ workers: WorkerJson[] }>(`${base}/api/workers`)).workers
      t.same(api.map((w) => w.name), ['farm.rig1', 'farm.rig2'])
      const rows = await page.$$eval('#workers tbody tr', (trs) =>
        (trs as unknown as El[]).map((tr) => {
          const cells: Record<string, { text: string; value: string | undefined }> = {}
          for (const td of Array.from(tr.querySelectorAll('td'))) cells[td.dataset.key ?? ''] = { text: td.textContent ?? '', value: td.dataset.value }
          return { worker: tr.dataset.worker, cells }
        }),
      )
      t.equal(rows.length, 2)
      for (const w of api) {
        const row = rows.find((r) => r.worker === w.name)
        if (row === undefined) {
          t.fail(`no row for ${w.name}`)
          continue
        }
        t.equal(Number(row.cells.hr5m?.value), w.hashrate['5m'], `${w.name} 5 min hashrate`)
        t.equal(Number(row.cells.hr1h?.value), w.hashrate['1h'], `${w.name} 1 h hashrate`)
        t.equal(Number(row.cells.accepted?.text), w.accepted, `${w.name} accepted`)
        t.equal(Number(row.cells.rejectPercent?.value), w.rejectPercent, `${w.name} reject %`)
        t.equal(Number(row.cells.difficulty?.value), w.difficulty, `${w.name} difficulty`)
        t.match(row.cells.online?.text, /^online/)
        // The text shown is the formatted number.
        const shown = await page.evaluate((v) => window.headframeFormatHashrate(v), w.hashrate['5m'])
        t.equal(row.cells.hr5m?.text, shown)
      }
      t.equal(rows.find((r) => r.worker === 'farm.rig2')?.cells.rejectPercent?.value, '50', 'rig2: one of two submits rejected')
      t.equal(rows.find((r) => r.worker === 'farm.rig1')?.cells.userAgent?.text, 'bitaxe/BM1366/v2.4.0')
    })

    t.test('the chart and the summary match /api/pool and /api/pool/history', async (t) => {
      const api = await getJson<{ hashrate: Record<'5m' | '1h' | '24h', number>; nextBlockEtaSeconds: number | null }>(`${base}/api/pool`)
      t.equal(Number(await page.getAttribute('#hr-5m', 'data-value')), api.hashrate['5m'], 'summary 5 min hashrate')
      t.ok(api.nextBlockEtaSeconds !== null && api.nextBlockEtaSeconds > 0, 'an expected time to a block')
      t.equal(Number(await page.getAttribute('#eta', 'data-value')), api.nextBlockEtaSeconds, 'the expected time to a block, as /api/pool has it')
      t.equal(await page.textContent('#eta'), await page.evaluate((s) => window.headframeFormatDuration(s), api.nextBlockEtaSeconds))
      t.same(
        await page.evaluate(() => [null, 42, 59.6, 600, 3590, 5 * 3600, 86_300, 3 * 86400, 365 * 86400, 40 * 365.25 * 86400].map((s) => window.headframeFormatDuration(s))),
        ['–', '42 s', '1 min', '10 min', '1.0 h', '5.0 h', '1.0 d', '3.0 d', '365.0 d', '40 y'],
      )
      t.ok(api.hashrate['5m'] > 0)
      const chart = await page.evaluate(() => {
        const d = window.headframeDashboard
        return { data: d.chart?.data.map((a) => Array.from(a)), canvas: document.querySelector('#chart canvas') !== null }
      })
      t.ok(chart.canvas, 'uPlot drew a canvas')
      const [xs = [], perMinute = [], average = []] = chart.data ?? []
      const lastAverage = average.filter((v) => v !== null).at(-1)
      t.equal(lastAverage, api.hashrate['5m'], 'the 5-minute line ends at /api/pool hashrate 5m')
      const history = await getJson<{ points: { time: number; shares: number; hashrate: number }[] }>(`${base}/api/pool/history?window=1h`)
      const withShares = history.points.filter((p) => p.shares > 0)
      t.ok(withShares.length >= 1, 'the ledger series holds the shares')
      for (const p of withShares) {
        const i = xs.indexOf(p.time / 1000)
        t.ok(i >= 0, `the chart has the bucket of ${new Date(p.time).toISOString()}`)
        t.ok((perMinute[i] ?? 0) > 0, 'with a positive hashrate')
      }
      t.equal(xs.filter((_x, i) => perMinute[i] !== null).length, history.points.length, 'one chart point per ledger bucket')
    })

    t.test('new shares appear without a reload', async (t) => {
      const polls = await page.evaluate(() => Number(document.body.dataset.polls))
      await mine(rig1, 'farm.rig1', 2, 10)
      const api = (await getJson<{ workers: WorkerJson[] }>(`${base}/api/workers`)).workers.find((w) => w.name === 'farm.rig1')
      t.equal(api?.accepted, 5)
      // A poll may read the ledger just before the new shares and the counters just after: wait for one that saw both.
      await page.waitForFunction(
        (v) => {
          const row = document.querySelector('#workers tr[data-worker="farm.rig1"]')
          return row?.querySelector('td[data-key="accepted"]')?.textContent === '5' && Number(row.querySelector('td[data-key="hr5m"]')?.dataset.value) === v
        },
        api?.hashrate['5m'],
      )
      t.pass('accepted count and 5 min hashrate of rig1 updated')
      t.ok((await page.evaluate(() => Number(document.body.dataset.polls))) > polls, 'polled again')
      const pool5m = (await getJson<{ hashrate: Record<'5m', number> }>(`${base}/api/pool`)).hashrate['5m']
      await page.waitForFunction((v) => {
        const data = window.headframeDashboard.chart?.data[2]
        return data !== undefined && Array.from(data).filter((x) => x !== null).at(-1) === v
      }, pool5m)
      t.pass('the 5-minute line followed the new shares')
    })

    t.test('the workers table sorts by column', async (t) => {
      const order = () => page.$$eval('#workers tbody tr', (trs) => (trs as unknown as El[]).map((tr) => tr.dataset.worker))
      await page.click('#workers th[data-sort="name"]')
      t.same(await order(), ['farm.rig1', 'farm.rig2'], 'A to Z')
      t.equal(await page.getAttribute('#workers th[data-sort="name"]', 'aria-sort'), 'ascending')
      await page.click('#workers th[data-sort="name"]')
      t.same(await order(), ['farm.rig2', 'farm.rig1'], 'Z to A')
      await page.click('#workers th[data-sort="rejectPercent"]')
      t.same(await order(), ['farm.rig2', 'farm.rig1'], 'highest reject % first')
      await page.click('#workers th[data-sort="accepted"]')
      t.same(await order(), ['farm.rig1', 'farm.rig2'], 'most accepted first')
    })

    t.test('sources, blocks, reports, chart windows', async (t) => {
      t.match(await page.textContent('#sources tbody'), /fixture \(active\)/)
      t.match(await page.textContent('#blocks tbody'), /no block found yet/)
      const links = await page.$$eval('#reports a', (as) => (as as unknown as El[]).map((a) => a.getAttribute('href')))
      t.equal(links.length, 8, 'four reports, CSV and JSON')
      for (const l of links) t.match(l, /^\/api\/reports\/(payouts|workers|blocks|shares)\.(csv|json)\?from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d$/, 'a report link with a date range')
      await page.click('#windows button[data-window="24h"]')
      await page.waitForFunction(() => window.headframeDashboard.history?.window === '24h')
      t.equal(await page.getAttribute('#windows button[data-window="24h"]', 'aria-pressed'), 'true')
      await page.waitForFunction(() => window.headframeDashboard.chart !== null)
    })

    t.test('screenshot, CSP, no external request', async (t) => {
      const dir = t.testdir()
      const file = join(dir, 'dashboard.png')
      await page.setViewportSize({ width: 1280, height: 900 })
      await page.screenshot({ path: file, fullPage: true })
      t.same([...readFileSync(file).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG')
      const keep = process.env.HEADFRAME_DASHBOARD_SCREENSHOT
      if (keep !== undefined && keep !== '') await page.screenshot({ path: keep, fullPage: true })
      t.same(problems, [], 'no console error, page error or CSP violation')
      t.same(external, [], 'every request went to the pool itself')
      t.same(failed, [], 'every request succeeded')
    })
  })
}

