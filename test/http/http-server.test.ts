/**
 * The HTTP API over real HTTP, against a real Stratum server whose shares
 * go to a real ledger, fed by a FakeMiner submitting real shares.
 */
import t, { type Test } from 'tap'
import { request } from 'undici'
import { Ledger } from '../../src/ledger/index.js'
import { createLogger } from '../../src/log.js'
import { createHttpServer, type HttpDeps } from '../../src/http/index.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { until } from '../helpers/until.js'

const TOKEN = 'admin-token-0123456789-secret'
const hasher = selectHasher({})

interface Pool extends TestServer {
  ledger: Ledger
  base: string
  /** Every response body seen, to check no secret ever leaks. */
  bodies: string[]
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: string; json: unknown }>
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: string; json: unknown }>
}

async function startPool(t: Test, options: { adminToken?: string; noSource?: boolean; maxMetricAccounts?: number } = {}): Promise<Pool> {
  const ledger = await Ledger.open({ path: t.testdir(), sync: false, retentionDays: 90 })
  t.teardown(() => ledger.close())
  const pool = await startServer(t, { sink: ledger, ...(options.noSource === true ? { noSource: true } : {}) })
  const deps: HttpDeps = {
    stratum: pool.server,
    ledger,
    hasher,
    sources: [{ name: pool.source.name }],
    config: { enabled: true, host: '127.0.0.1', port: 0, admin_token: options.adminToken ?? TOKEN },
    log: createLogger({ level: 'silent' }),
    clock: () => pool.clock.now,
    startedAt: pool.clock.now - 120_000,
    ...(options.maxMetricAccounts !== undefined ? { maxMetricAccounts: options.maxMetricAccounts } : {}),
  }
  const http = createHttpServer(deps)
  const { port } = await http.listen()
  t.teardown(() => http.close())
  const base = `http://127.0.0.1:${port}`
  const bodies: string[] = []
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.body.text()
    bodies.push(text, JSON.stringify(res.headers))
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.statusCode, body: text, json }
  }
  return {
    ...pool,
    ledger,
    base,
    bodies,
    get: (path, headers) => call('GET', path, undefined, headers),
    post: (path, body, headers) => call('POST', path, body, headers),
  }
}

/** A miner that has submitted `n` accepted shares and one duplicate. */
async function mine(t: Test, pool: Pool, user: string, n: number, agent = 'bitaxe/BM1366/v2.4.0'): Promise<FakeMiner> {
  const m = await FakeMiner.connect(pool.port)
  t.teardown(() => m.close())
  const from = m.received.length
  await m.handshake(user, agent)
  const job = await m.nextNotify(from)
  let first: string[] | undefined
  for (let i = 0; i < n; i++) {
    const found = m.findShare(job, { extranonce2: Buffer.from(i.toString(16).padStart(16, '0'), 'hex') })
    first ??= found
    const reply = await m.submit(user, job.jobId, found)
    t.equal(reply.result, true, `share ${i} accepted`)
  }
  if (first !== undefined) t.not((await m.submit(user, job.jobId, first)).error, null, 'duplicate rejected')
  return m
}

/** The ledger keeps difficulty in fixed point: equal within a millionth. */
function near(t: Test, actual: number, expected: number): void {
  t.ok(Math.abs(actual - expected) <= expected * 1e-6, `${actual} ≈ ${expected}`)
}

type Windows = Record<'5m' | '1h' | '24h', number>
interface PoolBody {
  shares: { accepted: number; rejected: number; rejectedByReason: unknown; rejectPercent: number }
  hashrate: Windows
  network: { difficulty: number }
  nextBlockEtaSeconds: number | null
  [key: string]: unknown
}
interface WorkerBody {
  hashrate: Windows
  rejectedByReason: unknown
  lastShareAt: number
  [key: string]: unknown
}

const auth = { authorization: `Bearer ${TOKEN}` }

t.test('read-only API, metrics and admin routes against a mining pool', async (t) => {
  const pool = await startPool(t)
  const miner = await mine(t, pool, 'acct.rig1', 3)

  t.test('/healthz and /readyz', async (t) => {
    t.match(await pool.get('/healthz'), { status: 200, json: { status: 'ok' } })
    t.match(await pool.get('/readyz'), { status: 200, json: { status: 'ready' } })
  })

  t.test('/api/pool', async (t) => {
    const res = await pool.get('/api/pool')
    t.equal(res.status, 200)
    const body = res.json as PoolBody
    t.equal(body.shares.accepted, 3)
    t.equal(body.shares.rejected, 1)
    t.same(body.shares.rejectedByReason, { duplicate: 1 })
    t.equal(body.shares.rejectPercent, 25)
    // 3 shares of difficulty 0.001 in the last 5 minutes.
    near(t, body.hashrate['5m'], (0.003 * 2 ** 32) / 300)
    near(t, body.hashrate['1h'], (0.003 * 2 ** 32) / 3600)
    t.ok(body.hashrate['24h'] > 0)
    t.equal(body.sharesPerMinute, 3 / 5)
    t.equal(body.connections, 1)
    t.equal(body.miners, 1)
    t.equal(body.workers, 1)
    t.same(body.sessions, { connected: 0, subscribed: 0, authorized: 1 })
    t.ok(body.network.difficulty > 0, 'network difficulty from nbits')
    t.equal(body.nextBlockEtaSeconds, Math.round((body.network.difficulty * 2 ** 32) / body.hashrate['1h']), 'solo ETA at the 1 h hashrate')
    t.equal(body.activeSource, 'fixture')
    t.same(body.hasher, { backend: hasher.backend, implementation: hasher.implementation })
    t.equal(body.uptimeSeconds, 120)
    t.same(body.blocks, { found: 0, accepted: 0, rejected: 0, last24h: 0 })
  })

  t.test('/api/workers and /api/workers/:name', async (t) => {
    const list = await pool.get('/api/workers')
    t.equal(list.status, 200)
    const workers = (list.json as { workers: WorkerBody[] }).workers
    t.equal(workers.length, 1)
    t.match(workers[0], { name: 'acct.rig1', account: 'acct', worker: 'rig1', online: true, accepted: 3, rejected: 1, userAgent: 'bitaxe/BM1366/v2.4.0', difficulty: 0.001 })
    t.ok((workers[0]?.hashrate['5m'] ?? 0) > 0)

    const one = await pool.get('/api/workers/acct.rig1')
    t.equal(one.status, 200)
    const w = one.json as WorkerBody & { sessions: unknown[] }
    near(t, w.hashrate['5m'], (0.003 * 2 ** 32) / 300)
    t.same(w.rejectedByReason, { duplicate: 1 })
    t.equal(w.lastShareAt, pool.clock.now)
    t.equal(w.sessions.length, 1)
    t.match(w.sessions[0], { address: '127.0.0.1', state: 'authorized', userAgent: 'bitaxe/BM1366/v2.4.0', accepted: 3, rejected: 1 })
    t.notMatch(one.body, /password/i)

    t.match(await pool.get('/api/workers/acct.nobody'), { status: 404, json: { error: 'not-found' } })
    const bad = await pool.get(`/api/workers/${encodeURIComponent('bad name!')}`)
    t.equal(bad.status, 400)
    t.match(bad.json, { error: 'bad-request', message: /name/ })
  })

  t.test('/api/blocks and /api/sources', async (t) => {
    t.match(await pool.get('/api/blocks'), { status: 200, json: { blocks: [] } })
    t.match(await pool.get('/api/sources'), { status: 200, json: { active: 'fixture', sources: [{ name: 'fixture', active: true }] } })
  })

  t.test('/metrics', async (t) => {
    const res = await pool.get('/metrics')
    t.equal(res.status, 200)
    const text = res.body
    t.match(text, /^headframe_connections 1$/m)
    t.match(text, /^headframe_sessions\{state="authorized"\} 1$/m)
    t.match(text, /^headframe_shares_total\{result="accepted",reason="none"\} 3$/m)
    t.match(text, /^headframe_shares_total\{result="rejected",reason="duplicate"\} 1$/m)
    t.match(text, /^headframe_accepted_difficulty_total\{account="acct"\} 0\.003$/m)
    t.match(text, /^headframe_blocks_total\{result="found"\} 0$/m)
    t.match(text, /^headframe_work_paced_total\{result="skipped"\} 0$/m, 'no work held back at this pace')
    t.match(text, /^headframe_source_up\{source="fixture"\} 1$/m)
    t.match(text, new RegExp(`^headframe_hasher_info\\{backend="${hasher.backend}",implementation="${hasher.implementation}"\\} 1$`, 'm'))
    t.match(text, /^headframe_ledger_queued 0$/m)
    t.match(text, /^headframe_submit_latency_seconds_count 3$/m, 'one submit latency per accepted share')
    t.match(text, /^headframe_submit_latency_seconds_bucket\{le="\+Inf"\} 3$/m)
    t.match(text, /^headframe_ledger_commit_seconds_count [1-9]\d*$/m, 'the group commits were timed')
    t.match(text, /^headframe_notify_fanout_seconds_count \d+$/m)
    t.match(text, /^process_cpu_user_seconds_total /m, 'process metrics')
    // A second scrape does not count the rejects twice.
    t.match((await pool.get('/metrics')).body, /^headframe_shares_total\{result="rejected",reason="duplicate"\} 1$/m)
  })

  t.test('admin routes refuse a missing or wrong token', async (t) => {
    t.match(await pool.post('/api/admin/ban', { address: '127.0.0.1' }), { status: 401, json: { error: 'unauthorized' } })
    t.match(await pool.post('/api/admin/ban', { address: '127.0.0.1' }, { authorization: `Bearer ${TOKEN}x` }), { status: 401 })
    t.match(await pool.post('/api/admin/ban', { address: '127.0.0.1' }, { authorization: TOKEN }), { status: 401 })
    t.match(await pool.get('/api/admin/bans', { authorization: 'Bearer ' }), { status: 401 })
    t.equal(pool.server.access.isBanned('127.0.0.1', pool.clock.now), false)
  })

  t.test('admin routes validate their input', async (t) => {
    t.match(await pool.post('/api/admin/ban', { address: 'not-an-ip' }, auth), { status: 400, json: { error: 'bad-request', message: /IPv4 or IPv6/ } })
    t.match(await pool.post('/api/admin/ban', {}, auth), { status: 400, json: { message: /address/ } })
    t.match(await pool.post('/api/admin/ban', { address: '10.0.0.1', seconds: -5 }, auth), { status: 400, json: { message: /seconds/ } })
    t.match(await pool.post('/api/admin/disconnect', { worker: 'x y' }, auth), { status: 400, json: { message: /worker/ } })
  })

  t.test('disconnect a worker', async (t) => {
    const res = await pool.post('/api/admin/disconnect', { worker: 'acct.rig1' }, auth)
    t.match(res, { status: 200, json: { worker: 'acct.rig1', disconnected: 1 } })
    await until(() => miner.closed)
    t.equal(pool.server.sessions.size, 0)
  })

  t.test('ban then unban an address', async (t) => {
    const other = await FakeMiner.connect(pool.port)
    await other.handshake('acct.rig2')
    const res = await pool.post('/api/admin/ban', { address: '127.0.0.1', seconds: 600 }, auth)
    t.match(res, { status: 200, json: { address: '127.0.0.1', until: pool.clock.now + 600_000, disconnected: 1 } })
    await until(() => other.closed)
    t.match(await pool.get('/api/admin/bans', auth), { status: 200, json: { bans: [{ address: '127.0.0.1' }] } })

    const refusedBefore = pool.server.counters.refused.banned ?? 0
    const refused = await FakeMiner.connect(pool.port)
    await until(() => refused.closed)
    t.equal(pool.server.counters.refused.banned, refusedBefore + 1, 'the Stratum server refuses the banned address')

    t.match(await pool.post('/api/admin/unban', { address: '127.0.0.1' }, auth), { status: 200, json: { unbanned: true } })
    const back = await FakeMiner.connect(pool.port)
    t.teardown(() => back.close())
    await back.handshake('acct.rig3')
    t.equal(pool.server.sessionStates().authorized, 1, 'admitted again after unban')
  })

  t.test('unknown routes 404; no secret in any response', async (t) => {
    t.match(await pool.get('/api/nothing'), { status: 404, json: { error: 'not-found' } })
    t.ok(pool.bodies.length > 10)
    for (const body of pool.bodies) t.notOk(body.includes(TOKEN), 'no admin token in a response')
  })
})

t.test('without an admin token the admin routes are off', async (t) => {
  const pool = await startPool(t, { adminToken: '' })
  t.match(await pool.post('/api/admin/ban', { address: '127.0.0.1' }, auth), { status: 404 })
  t.match(await pool.post('/api/admin/ban', { address: '127.0.0.1' }, { authorization: 'Bearer ' }), { status: 404 })
  t.match(await pool.get('/api/admin/bans'), { status: 404 })
  t.equal(pool.server.access.isBanned('127.0.0.1', pool.clock.now), false)
})

t.test('/readyz is 503 with reasons until there is work', async (t) => {
  const pool = await startPool(t, { noSource: true })
  const res = await pool.get('/readyz')
  t.equal(res.status, 503)
  t.match(res.json, { status: 'not-ready', reasons: [/no job/] })
  t.match(await pool.get('/api/pool'), { status: 200, json: { network: null, nextBlockEtaSeconds: null, activeSource: null } })
  t.match((await pool.get('/metrics')).body, /^headframe_source_up\{source="fixture"\} 0$/m)
  pool.server.attachSource(pool.source)
  t.match(await pool.get('/readyz'), { status: 200 })
  await pool.ledger.close()
  t.match(await pool.get('/readyz'), { status: 503, json: { reasons: [/ledger/] } })
})

t.test('account labels on metrics are bounded', async (t) => {
  const pool = await startPool(t, { maxMetricAccounts: 1 })
  await mine(t, pool, 'alice.a', 1)
  await mine(t, pool, 'bob.b', 2)
  await mine(t, pool, 'carol.c', 1)
  const text = (await pool.get('/metrics')).body
  t.match(text, /^headframe_accepted_difficulty_total\{account="alice"\} 0\.001$/m)
  t.match(text, /^headframe_accepted_difficulty_total\{account="other"\} 0\.003$/m)
  t.notMatch(text, /account="bob"/)
  t.match(text, /^headframe_shares_total\{result="accepted",reason="none"\} 4$/m)
})
