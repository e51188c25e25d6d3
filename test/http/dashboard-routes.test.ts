/**
 * The dashboard's HTTP side without a browser: the page and its assets
 * with their security headers, and `/api/pool/history` computed from real
 * shares in a real ledger (the clock is moved, not waited for).
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DASHBOARD_CSP, DASHBOARD_DIR, UPLOT_DIR } from '../../src/http/index.js'
import { Ledger, MAX_SERIES_POINTS } from '../../src/ledger/index.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { serveHttpPool } from '../helpers/http-pool.js'

const MINUTE = 60_000
/** The ledger keeps difficulty in fixed point: equal within a millionth. */
const near = (actual: number | undefined, expected: number): boolean => actual !== undefined && Math.abs(actual - expected) <= expected * 1e-6
const HOUR = 3_600_000

t.test('the page and its assets, under a strict CSP', async (t) => {
  const pool = await serveHttpPool(t)
  for (const path of ['/', '/dashboard']) {
    const res = await pool.get(path)
    t.equal(res.status, 200, path)
    t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
    t.equal(res.headers['content-security-policy'], DASHBOARD_CSP)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.equal(res.headers['x-frame-options'], 'DENY')
    t.equal(res.body, readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8'))
  }
  t.match(DASHBOARD_CSP, /default-src 'none'/)
  t.notMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval|https?:/, 'no inline code, no other origin')
  const page = (await pool.get('/')).body
  t.notMatch(page, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script')
  t.notMatch(page, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler')
  t.notMatch(page, /(src|href)="(https?:)?\/\//, 'nothing from another origin')

  const assets: [string, string, RegExp][] = [
    ['/dashboard/app.js', join(DASHBOARD_DIR, 'app.js'), /^text\/javascript/],
    ['/dashboard/app.css', join(DASHBOARD_DIR, 'app.css'), /^text\/css/],
    ['/dashboard/uPlot.iife.min.js', join(UPLOT_DIR, 'uPlot.iife.min.js'), /^text\/javascript/],
    ['/dashboard/uPlot.min.css', join(UPLOT_DIR, 'uPlot.min.css'), /^text\/css/],
  ]
  for (const [path, file, type] of assets) {
    t.match(page, path, `the page loads ${path}`)
    const res = await pool.get(path)
    t.equal(res.status, 200, path)
    t.match(res.headers['content-type'], type)
    t.equal(res.headers['content-security-policy'], DASHBOARD_CSP)
    t.equal(res.body, readFileSync(file, 'utf8'), `${path} is the installed file`)
  }
  t.match(await pool.get('/dashboard/nothing.js'), { status: 404 })
})

t.test('/api/pool/history: hashrate per bucket from the ledger', async (t) => {
  const pool = await serveHttpPool(t)
  const t0 = pool.clock.now // minute-aligned
  t.equal(t0 % HOUR, 0, 'the test clock starts on an hour')
  const miner = await FakeMiner.connect(pool.port)
  t.teardown(() => miner.close())
  await miner.handshake('acct.rig1')
  const job = await miner.nextNotify()
  for (let i = 0; i < 3; i++) {
    const reply = await miner.submit('acct.rig1', job.jobId, miner.findShare(job, { extranonce2: Buffer.alloc(8, i) }))
    t.equal(reply.result, true)
  }
  pool.clock.now = t0 + 90_000

  interface Point {
    time: number
    shares: number
    difficulty: number
    hashrate: number
    partial: boolean
  }
  interface History {
    time: number
    window: string
    bucketSeconds: number
    points: Point[]
  }
  const hour = JSON.parse((await pool.get('/api/pool/history')).body) as History
  t.equal(hour.window, '1h', 'one hour by default')
  t.equal(hour.bucketSeconds, 60)
  t.equal(hour.time, t0 + 90_000)
  t.equal(hour.points.length, 60, 'sixty minutes, the current one included')
  hour.points.forEach((p, i) => t.equal(p.time, hour.points[0]!.time + i * MINUTE))
  t.equal(hour.points.at(-1)?.time, t0 + MINUTE, 'ends with the current minute')
  t.match(hour.points.at(-1), { shares: 0, hashrate: 0, partial: true })
  const full = hour.points.find((p) => p.time === t0)
  t.match(full, { shares: 3, partial: false })
  t.ok(near(full?.difficulty, 0.003))
  t.ok(near(full?.hashrate, (0.003 * 2 ** 32) / 60), 'difficulty × 2^32 / 60 s')
  t.equal(hour.points.reduce((n, p) => n + p.shares, 0), 3)

  // The current minute's rate is over the part elapsed.
  pool.clock.now = t0 + 15_000
  const early = JSON.parse((await pool.get('/api/pool/history?window=6h')).body) as History
  t.equal(early.points.length, 360)
  t.match(early.points.at(-1), { time: t0, shares: 3, partial: true })
  t.ok(near(early.points.at(-1)?.hashrate, (0.003 * 2 ** 32) / 15))

  pool.clock.now = t0 + 2 * HOUR + 5 * MINUTE
  const week = JSON.parse((await pool.get('/api/pool/history?window=7d')).body) as History
  t.equal(week.bucketSeconds, 3600)
  t.equal(week.points.length, 7 * 24)
  t.match(week.points.find((p) => p.time === t0), { shares: 3, partial: false })
  t.ok(near(week.points.find((p) => p.time === t0)?.hashrate, (0.003 * 2 ** 32) / 3600))
  const day = JSON.parse((await pool.get('/api/pool/history?window=24h')).body) as History
  t.equal(day.points.length, 1440)

  const bad = await pool.get('/api/pool/history?window=1y')
  t.equal(bad.status, 400)
  t.match(bad.body, /window/)
})

t.test('ledger.difficultySeries bounds', async (t) => {
  const ledger = await Ledger.open({ path: t.testdir(), sync: false, retentionDays: 90 })
  t.teardown(() => ledger.close())
  const at = 1_800_000_000_000
  t.same(await ledger.difficultySeries({ from: at, to: at, resolution: 'm' }), [], 'an empty range')
  t.equal((await ledger.difficultySeries({ from: at, to: at + 1, resolution: 'h' })).length, 1)
  await t.rejects(ledger.difficultySeries({ from: at, to: at + (MAX_SERIES_POINTS + 1) * MINUTE, resolution: 'm' }), RangeError)
  await t.rejects(ledger.difficultySeries({ from: -1, to: at, resolution: 'm' }))
})
