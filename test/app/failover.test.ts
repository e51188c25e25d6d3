/**
 * Failover in the assembled pool: `startPool` with two `[[sources]]` on
 * two fake bitcoinds. A miner moves to the second when the first dies;
 * `/api/sources`, `/metrics` and the admin switch show and steer it; the
 * config checks catch names that would misroute blocks.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { request } from 'undici'
import { startPool, type Pool } from '../../src/app.js'
import { parseConfig } from '../../src/config/index.js'
import { failoverOptions, failoverProblems } from '../../src/jobs/failover-config.js'
import { buildSources } from '../../src/jobs/source-factory.js'
import { createLogger } from '../../src/log.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { FakeBitcoind } from '../helpers/fake-bitcoind.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { freePort } from '../helpers/free-port.js'
import { until } from '../helpers/until.js'

const TOKEN = 'failover-admin-token-0123456789'
const PAYOUT = 'bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g'

function bitcoindSource(name: string, fake: FakeBitcoind, over: Record<string, unknown> = {}) {
  return {
    type: 'bitcoind',
    name,
    network: 'regtest',
    payout_address: PAYOUT,
    refresh_s: 1,
    poll_ms: 100,
    longpoll: false,
    rpc_timeout_ms: 2000,
    nodes: [{ url: fake.url, cookie_file: fake.cookieFile }],
    ...over,
  }
}

async function http(base: string, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.body.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.statusCode, text, json }
}

interface SourcesBody {
  active: string | null
  forced: string | null
  allUnhealthy: boolean
  switches: number
  lastSwitch: { from: string | null; to: string; reason: string; detail: string; at: number } | null
  sources: { name: string; priority: number; active: boolean; healthy: boolean; state: string; lastError: string | null; reportsHealthy: boolean | null; height: number | null }[]
}

t.test('two bitcoind sources: the miner moves to the second when the first dies; the API shows it and the admin steers it', async (t: Test) => {
  const fakeA = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const fakeB = await FakeBitcoind.startFor(t, { template: 'segwit-txs' })
  const [stratumPort, httpPort] = [await freePort(), await freePort()]
  const config = parseConfig({
    stratum: { host: '127.0.0.1', port: stratumPort },
    vardiff: { fixed_difficulty: 0.001, min_difficulty: 0.0001, start_difficulty: 0.001 },
    http: { host: '127.0.0.1', port: httpPort, admin_token: TOKEN },
    ledger: { path: join(t.testdir({}), 'ledger') },
    failover: { check_interval_ms: 50, hold_down_s: 1 },
    sources: [bitcoindSource('node-a', fakeA), bitcoindSource('node-b', fakeB)],
  })
  const pool: Pool = await startPool({ config, origin: { kind: 'defaults' }, log: createLogger({ level: 'silent' }) })
  t.teardown(() => pool.stop())
  const failover = pool.failover
  if (failover === undefined) throw new Error('a pool with sources runs a failover')
  const base = `http://127.0.0.1:${httpPort}`
  const auth = { authorization: `Bearer ${TOKEN}` }
  const sources = async (): Promise<SourcesBody> => (await http(base, 'GET', '/api/sources')).json as SourcesBody

  await until(() => failover.status().active === 'node-a' && failover.status().sources.every((s) => s.healthy))
  const before = await sources()
  // node-b may answer first at start-up (then node-a takes over the moment it has work): 1 or 2 switches.
  t.match(before, { active: 'node-a', forced: null, allUnhealthy: false, lastSwitch: { to: 'node-a' } })
  const startSwitches = before.switches
  t.ok(startSwitches === 1 || startSwitches === 2, `${startSwitches} switches at start-up`)
  t.match(before.sources, [
    { name: 'node-a', priority: 0, active: true, healthy: true, state: 'healthy', reportsHealthy: true, height: 111 },
    { name: 'node-b', priority: 1, active: false, healthy: true, state: 'healthy', reportsHealthy: true, height: 112 },
  ])

  const miner = await FakeMiner.connect(pool.port)
  t.teardown(() => miner.close())
  await miner.handshake('farm.s19')
  await miner.nextNotify()
  t.equal(pool.stratum.currentJob()?.work.source, 'node-a')

  const from = miner.received.length
  const killedAt = Date.now()
  await fakeA.refuse()
  const notify = await miner.waitFor((m) => m.method === 'mining.notify' && m.params?.[8] === true && pool.stratum.book.lookup(String(m.params[0]))?.job.work.source === 'node-b', from)
  t.comment(`startPool: bitcoind node-a killed -> clean job from node-b at the miner in ${Date.now() - killedAt} ms (poll_ms 100, check_interval_ms 50)`)
  t.ok(notify)

  const after = await sources()
  t.match(after, { active: 'node-b', switches: startSwitches + 1, lastSwitch: { from: 'node-a', to: 'node-b', reason: 'unhealthy', detail: /^node-a unhealthy: / } })
  t.match(after.sources[0], { name: 'node-a', active: false, healthy: false, state: 'unhealthy', lastError: /./ })
  t.match((await http(base, 'GET', '/api/pool')).json, { activeSource: 'node-b' })

  const metrics = (await http(base, 'GET', '/metrics')).text
  t.match(metrics, /^headframe_source_active\{source="node-b"\} 1$/m)
  t.match(metrics, /^headframe_source_active\{source="node-a"\} 0$/m)
  t.match(metrics, /^headframe_source_healthy\{source="node-a"\} 0$/m)
  t.match(metrics, /^headframe_source_healthy\{source="node-b"\} 1$/m)
  t.match(metrics, /^headframe_source_switches_total\{from="node-a",to="node-b",reason="unhealthy"\} 1$/m)
  t.match(metrics, /^headframe_source_switches_total\{from="none",to="node-[ab]",reason="initial"\} 1$/m)
  t.match((await http(base, 'GET', '/metrics')).text, /^headframe_source_switches_total\{from="node-a",to="node-b",reason="unhealthy"\} 1$/m, 'counted once across scrapes')

  // The admin switch: token required; unknown and unhealthy sources refused.
  t.match(await http(base, 'POST', '/api/admin/sources/switch', { name: 'node-b' }), { status: 401 })
  t.match(await http(base, 'POST', '/api/admin/sources/switch', { name: 'node-z' }, auth), { status: 404, json: { error: 'unknown-source' } })
  t.match(await http(base, 'POST', '/api/admin/sources/switch', { name: 'node-a' }, auth), { status: 409, json: { error: 'unhealthy', message: /node-a is not healthy/ } })
  t.match(await http(base, 'POST', '/api/admin/sources/switch', { name: '' }, auth), { status: 400 })
  t.match(await http(base, 'POST', '/api/admin/sources/switch', {}, auth), { status: 400 })

  // node-a returns; forced back before its hold-down ends (an operator's choice)...
  await fakeA.resume()
  await until(() => failover.status().sources[0]?.state === 'recovering')
  const back = miner.received.length
  t.match(await http(base, 'POST', '/api/admin/sources/switch', { name: 'node-a' }, auth), { status: 200, json: { active: 'node-a', forced: 'node-a' } })
  await miner.waitFor((m) => m.method === 'mining.notify' && m.params?.[8] === true && pool.stratum.book.lookup(String(m.params[0]))?.job.work.source === 'node-a', back)
  t.match(await sources(), { active: 'node-a', forced: 'node-a', lastSwitch: { reason: 'manual' } })
  // ...and the forcing cleared: priority order (node-a first) keeps it.
  t.match(await http(base, 'POST', '/api/admin/sources/switch', { name: null }, auth), { status: 200, json: { active: 'node-a', forced: null } })
  await until(() => failover.status().sources[0]?.state === 'healthy')
  t.match(await sources(), { active: 'node-a', forced: null })
})

t.test('a pool given its own source runs no failover; the admin switch says so', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const config = parseConfig({
    stratum: { host: '127.0.0.1', port: await freePort() },
    http: { host: '127.0.0.1', port: await freePort(), admin_token: TOKEN },
    ledger: { path: join(t.testdir({}), 'ledger') },
    sources: [bitcoindSource('only', fake)],
  })
  const built = await buildSources(config, { log: createLogger({ level: 'silent' }), sha256d: selectHasher({}).sha256d })
  t.teardown(() => built.close())
  const own = built.sources[0]
  if (own === undefined) throw new Error('one source built')
  const pool = await startPool({ config, origin: { kind: 'defaults' }, log: createLogger({ level: 'silent' }), source: own })
  t.teardown(() => pool.stop())
  t.equal(pool.failover, undefined)
  const base = `http://127.0.0.1:${config.http.port}`
  t.match(await http(base, 'POST', '/api/admin/sources/switch', { name: 'only' }, { authorization: `Bearer ${TOKEN}` }), { status: 409, json: { error: 'no-failover' } })
  await until(() => pool.stratum.currentJob() !== undefined)
  t.match((await http(base, 'GET', '/api/sources')).json, { active: 'only', sources: [{ name: 'only', active: true, healthy: true }] })
  const metrics = (await http(base, 'GET', '/metrics')).text
  t.match(metrics, /^headframe_source_active\{source="only"\} 1$/m)
  t.match(metrics, /^headframe_source_healthy\{source="only"\} 1$/m)
})

t.test('config: [failover] defaults, and names and refresh intervals checked against it', async (t) => {
  const defaults = parseConfig({})
  t.same(defaults.failover, { check_interval_ms: 250, no_work_timeout_s: 120, hold_down_s: 30, fail_grace_ms: 500 })
  t.same(failoverOptions(defaults.failover), { checkIntervalMs: 250, noWorkTimeoutMs: 120_000, holdDownMs: 30_000, failGraceMs: 500 })
  t.throws(() => parseConfig({ failover: { check_interval_ms: 10 } }), /failover\.check_interval_ms/)
  t.throws(() => parseConfig({ failover: { nope: 1 } }), /nope/)

  const node = { nodes: [{ url: 'http://127.0.0.1:18443' }], payout_address: PAYOUT, network: 'regtest', type: 'bitcoind' }
  const config = parseConfig({
    failover: { no_work_timeout_s: 60 },
    sources: [
      { ...node, name: 'a' },
      { ...node, name: 'a', refresh_s: 60 },
      { ...node, name: 'b', refresh_s: 59 },
    ],
  })
  t.same(failoverProblems(config), [
    'sources.1.name: "a" is already the name of sources.0; give every source its own name',
    'sources.1.refresh_s: 60 s is not below failover.no_work_timeout_s (60 s); the source would be judged without work between refreshes',
  ])
  await t.rejects(buildSources(config, { log: createLogger({ level: 'silent' }), sha256d: selectHasher({}).sha256d }), { code: 'HF_CONFIG_INVALID', message: /"a" is already the name of sources\.0/ })
})
