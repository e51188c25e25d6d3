/**
 * The upstream source against a scripted fake pool (test/helpers/fake-upstream.ts):
 * the JobSource contract, the handshake, Work built from upstream jobs,
 * per-job upstream difficulty, version masks passed down, extranonce
 * changes mid-session (set_extranonce and reconnect paths), client.reconnect,
 * and a pool that misbehaves (garbage, over-long lines, impossible sizes,
 * unparsable jobs, silence, rejects): unhealthy with a reason, never a crash.
 */
import t, { type Test } from 'tap'
import { UpstreamSource } from '../../src/jobs/upstream-source.js'
import type { UpstreamWorkRef } from '../../src/jobs/upstream-source.js'
import { parseStratumUrl } from '../../src/jobs/upstream-client.js'
import type { Work } from '../../src/jobs/work.js'
import { FakeUpstream, type FakeUpstreamOptions } from '../helpers/fake-upstream.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { jobSourceContract } from '../helpers/job-source-contract.js'
import { startProxy, upstreamOptions } from '../helpers/proxy-chain.js'
import { until } from '../helpers/until.js'
import { startServer } from '../helpers/server.js'
import { fixture } from '../helpers/fixtures.js'
import { freePort } from '../helpers/free-port.js'
import { writeFileSync } from 'node:fs'
import { parseConfig, redactConfig } from '../../src/config/index.js'
import { buildSources, sourceProblems } from '../../src/jobs/source-factory.js'
import { createLogger } from '../../src/log.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { join } from 'node:path'


async function fakePool(t: Test, options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const pool = new FakeUpstream({ versionMask: 0x1fffe000, ...options })
  await pool.listen()
  t.teardown(() => pool.close())
  return pool
}

async function source(t: Test, port: number, over: Parameters<typeof upstreamOptions>[1] = {}): Promise<UpstreamSource> {
  const s = new UpstreamSource(upstreamOptions(port, over))
  t.teardown(() => s.stop())
  await s.start()
  return s
}

t.test('JobSource contract', async (t) => {
  jobSourceContract(t, async (t) => {
    const pool = await fakePool(t)
    const s = new UpstreamSource(upstreamOptions(pool.port))
    t.teardown(() => s.stop())
    return { source: s, newBlock: () => pool.notifyAll(true) }
  })
})

t.test('handshake, and Work built from the upstream job', async (t) => {
  const pool = await fakePool(t, { extranonce1: 'f00dbabe', extranonce2Size: 8, difficulty: 0.5, jobBeforeAuthorize: true })
  const s = await source(t, pool.port)
  await until(() => s.health().healthy && pool.conn.lines.length >= 4)
  const methods = pool.conn.lines.map((l) => l.method)
  t.same(methods.slice(0, 4), ['mining.configure', 'mining.subscribe', 'mining.authorize', 'mining.extranonce.subscribe'])
  t.same(pool.conn.lines[0]?.params?.[1], { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 2 }, 'asks for the pool mask miners are granted')
  t.same(pool.conn.lines[2]?.params, ['farm.proxy1', 'x'])
  const w = s.current() as Work
  t.equal(w.source, 'pool-a')
  t.equal(w.coinb1.subarray(-6).toString('hex'), 'f00dbabe0000', 'coinb1 ends with E and the 2-byte pad')
  t.equal(w.extranonceSize, 6, 'prefix 2 + miner 4')
  t.equal(w.versionMask, 0x1fffe000)
  t.equal(w.cleanJobs, true, 'the first job of a connection is clean')
  t.type(w.height, 'number')
  const ref = w.sourceRef as UpstreamWorkRef
  t.equal(ref.difficulty, 0.5)
  t.equal(ref.upstreamJobId, 'j1')
  t.equal(s.health().lastTemplateAt !== undefined, true)

  // set_difficulty applies to later jobs only.
  pool.difficulty = 2
  pool.setDifficulty(pool.conn, 2)
  pool.notify(pool.conn, false)
  await until(() => (s.current()?.sourceRef as UpstreamWorkRef).upstreamJobId === 'j2')
  t.equal((s.current()?.sourceRef as UpstreamWorkRef).difficulty, 2)
  t.equal(ref.difficulty, 0.5, 'the earlier job keeps its difficulty')
  t.equal(s.current()?.cleanJobs, false)
})

t.test('a pool that grants no version rolling: mask 0, no version bits sent up', async (t) => {
  const pool = await fakePool(t, { versionMask: undefined })
  const chain = await startProxy(t, pool.port)
  await until(() => chain.source.health().healthy)
  t.equal(chain.source.current()?.versionMask, 0)
  const m = await FakeMiner.connect(chain.proxy.port)
  t.teardown(() => m.close())
  const configured = await m.request('mining.configure', [['version-rolling'], { 'version-rolling.mask': '1fffe000' }])
  t.equal((configured.result as Record<string, unknown>)['version-rolling.mask'], '00000000', 'configure already tells the miner it may roll nothing')
  await m.handshake('acct.rig')
  const job = await m.nextNotify()
  t.match((await m.submit('acct.rig', job.jobId, m.findShare(job, { difficulty: 0.001, versionBits: 0x2000 }))).error, [20], 'rolled bits refused locally')
  t.equal((await m.submit('acct.rig', job.jobId, m.findShare(job, { difficulty: 0.001 }))).result, true)
  await until(() => pool.submits.length === 1)
  t.equal(pool.submits[0]?.params.length, 5, 'no version bits param')
  t.equal(pool.submits[0]?.valid, true)
})

t.test('the upstream narrows its version mask mid-session: set_version_mask downstream', async (t) => {
  const pool = await fakePool(t)
  const chain = await startProxy(t, pool.port)
  await until(() => chain.source.health().healthy)
  const m = await FakeMiner.connect(chain.proxy.port)
  t.teardown(() => m.close())
  await m.request('mining.configure', [['version-rolling'], { 'version-rolling.mask': '1fffe000' }])
  await m.handshake('acct.rig')
  await m.nextNotify()
  const from = m.received.length
  pool.conn.versionMask = 0x00ffe000
  pool.send(pool.conn, { id: null, method: 'mining.set_version_mask', params: ['00ffe000'] })
  pool.notify(pool.conn, false)
  const set = await m.waitFor((x) => x.method === 'mining.set_version_mask', from)
  t.same(set.params, ['00ffe000'])
  const job = await m.nextNotify(from)
  t.match((await m.submit('acct.rig', job.jobId, m.findShare(job, { difficulty: 0.001, versionBits: 0x10000000 }))).error, [20], 'a bit the upstream no longer allows is refused')
  t.equal((await m.submit('acct.rig', job.jobId, m.findShare(job, { difficulty: 0.001, versionBits: 0x00002000 }))).result, true)
  await until(() => pool.submits.length === 1)
  t.equal(pool.submits[0]?.valid, true, 'the pool rebuilds the same header')
})

t.test('upstream extranonce change mid-session: set_extranonce for subscribers, staggered reconnect for the rest', async (t) => {
  const pool = await fakePool(t, { extranonce2Size: 8 })
  const chain = await startProxy(t, pool.port)
  await until(() => chain.source.health().healthy)
  const sub = await FakeMiner.connect(chain.proxy.port)
  t.teardown(() => sub.close())
  await sub.request('mining.extranonce.subscribe', [])
  await sub.handshake('acct.sub')
  const plain: FakeMiner[] = []
  for (let i = 0; i < 5; i++) {
    const m = await FakeMiner.connect(chain.proxy.port)
    t.teardown(() => m.close())
    await m.handshake(`acct.plain${i}`)
    plain.push(m)
  }
  await sub.nextNotify()
  t.equal(sub.extranonce2Size, 4)
  const en1 = sub.extranonce1
  const from = sub.received.length
  // 5 bytes upstream: prefix 2 leaves the miners 3.
  pool.setExtranonce(pool.conn, 'c0ffee01', 5)
  pool.notify(pool.conn, false)
  const set = await sub.waitFor((x) => x.method === 'mining.set_extranonce', from)
  t.same(set.params, [en1, 3], 'same extranonce1, new size')
  const job = await sub.nextNotify(from)
  t.ok(sub.received.indexOf(set) < sub.received.findIndex((x, i) => i >= from && x.method === 'mining.notify'), 'set_extranonce before the notify')
  t.equal(job.clean, true, 'the first job of a new extranonce is clean')
  t.equal((await sub.submit('acct.sub', job.jobId, sub.findShare(job, { difficulty: 0.001, extranonce2: Buffer.from([1, 2, 3]) }))).result, true)
  await until(() => pool.submits.length === 1)
  t.equal(pool.submits[0]?.params[2], `${en1}010203`, 'no pad left: prefix then the miner bytes')
  t.equal(pool.submits[0]?.valid, true, 'the pool rebuilds the hashed coinbase with the new extranonce')

  // The others are asked to reconnect (not sent a job they would hash wrongly), then closed.
  for (const m of plain) {
    await until(() => m.closed)
    t.ok(m.received.some((x) => x.method === 'client.reconnect'), 'client.reconnect before the close')
    t.notOk(m.received.slice(2).some((x) => x.method === 'mining.notify' && x.params?.[2] !== undefined && (x.params[2] as string).includes('c0ffee01')), 'no job of the new size')
  }
  t.equal(chain.proxy.server.counters.closed.reconnect, 5)
  // Reconnecting, a miner gets the new size at subscribe.
  const back = await FakeMiner.connect(chain.proxy.port)
  t.teardown(() => back.close())
  await back.handshake('acct.plain0')
  t.equal(back.extranonce2Size, 3)
  const bj = await back.nextNotify()
  t.equal((await back.submit('acct.plain0', bj.jobId, back.findShare(bj, { difficulty: 0.001, extranonce2: Buffer.from([7, 7, 7]) }))).result, true)
  await until(() => pool.submits.length === 2)
  t.equal(pool.submits[1]?.valid, true)
})

t.test('100 sessions that must all reconnect at once are staggered, then all come back', async (t) => {
  const pool = await fakePool(t, { extranonce2Size: 8 })
  const chain = await startProxy(t, pool.port, { stratum: { reconnect_spread_ms: 5000, limits: { max_connections_per_ip: 0 } } })
  await until(() => chain.source.health().healthy)
  const miners = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const m = await FakeMiner.connect(chain.proxy.port)
      t.teardown(() => m.close())
      await m.handshake(`acct.m${i}`)
      return m
    }),
  )
  await Promise.all(miners.map((m) => m.nextNotify()))
  pool.setExtranonce(pool.conn, 'c0ffee02', 5)
  pool.notify(pool.conn, false)
  await until(() => miners.some((m) => m.closed))
  const closedAtFirst = miners.filter((m) => m.closed).length
  t.ok(closedAtFirst < 50, `when the first session is closed, ${closedAtFirst} of 100 are: not all in one go`)
  await until(() => miners.every((m) => m.closed), 30_000)
  t.ok(miners.every((m) => m.received.some((x) => x.method === 'client.reconnect')), 'each was asked to reconnect first')
  t.equal(chain.proxy.server.counters.closed.reconnect, 100)
  const back = await Promise.all(
    miners.slice(0, 10).map(async (_, i) => {
      const m = await FakeMiner.connect(chain.proxy.port)
      t.teardown(() => m.close())
      await m.handshake(`acct.m${i}`)
      await m.nextNotify()
      return m.extranonce2Size
    }),
  )
  t.same(back, Array(10).fill(3), 'back with the new size')
})

t.test('a share of an older extranonce is stale, never credited unforwarded; a stale upstream answer is recorded as rejected', async (t) => {
  const pool = await fakePool(t, { judge: (s) => (s.params[1] === 'j1' ? 'Stale' : true) })
  const chain = await startProxy(t, pool.port)
  await until(() => chain.source.health().healthy)
  const m = await FakeMiner.connect(chain.proxy.port)
  t.teardown(() => m.close())
  await m.handshake('acct.rig')
  const job = await m.nextNotify()
  t.equal((await m.submit('acct.rig', job.jobId, m.findShare(job, { difficulty: 0.001 }))).result, true)
  await until(() => chain.upstream.length === 1)
  t.same(chain.upstream[0], { ...chain.upstream[0], accepted: false, reason: 'Stale', difficulty: 0.001 })
  t.same(chain.proxy.server.workers.get('acct.rig')?.upstreamRejected, { Stale: 1 })
  // Same size, new E: the next work is clean, so old jobs are stale at the
  // pool too (a share on them could no longer be forwarded; it must not be
  // credited locally either).
  pool.setExtranonce(pool.conn, 'abcdef00', 8)
  pool.notify(pool.conn, false)
  await until(() => chain.source.counters.jobs === 2)
  t.match((await m.submit('acct.rig', job.jobId, m.findShare(job, { difficulty: 0.001, extranonce2: Buffer.from([5, 5, 5, 5]) }))).error, [21], 'stale locally')
  t.equal(chain.source.counters.skipped, 0)
  t.equal(chain.source.counters.forwarded, 1)
  t.equal(pool.submits.length, 1)
})

t.test('client.reconnect: followed to the same host, ignored to another unless follow_reconnect', async (t) => {
  const pool = await fakePool(t)
  const other = await fakePool(t)
  const s = await source(t, pool.port)
  await until(() => s.health().healthy)
  pool.send(pool.conn, { id: null, method: 'client.reconnect', params: ['pool.elsewhere.example', other.port, 0] })
  pool.send(pool.conn, { id: 5, method: 'mining.ping', params: [] })
  await until(() => pool.conn.lines.some((l) => l.id === 5 && l.result === 'pong'))
  t.equal(pool.conns.length, 1, 'another host: ignored')
  t.equal(s.upstream.counters.reconnectRequests, 1)
  pool.send(pool.conn, { id: null, method: 'client.reconnect', params: ['127.0.0.1', String(other.port), 0] })
  await until(() => other.ready.length === 1 && s.health().healthy)
  t.equal(s.upstream.target.port, other.port, 'same host, new port: followed')
  pool.send(pool.conn, { id: null, method: 'client.show_message', params: ['maintenance'] })
  other.send(other.conn, { id: 'v', method: 'client.get_version', params: [] })
  other.send(other.conn, { id: 9, method: 'mining.whatever', params: [] })
  await until(() => other.conn.lines.some((l) => l.id === 9))
  t.match(other.conn.lines.find((l) => l.id === 'v')?.result, /^headframe\//)
  t.match(other.conn.lines.find((l) => l.id === 9)?.error, [-3])

  const follow = await source(t, other.port, { name: 'pool-b', followReconnect: true })
  await until(() => other.ready.length === 2)
  other.send(other.conn, { id: null, method: 'client.reconnect', params: ['localhost', pool.port] })
  await until(() => pool.ready.length === 1 && follow.health().healthy)
  t.equal(follow.upstream.target.host, 'localhost', 'followed to another host when allowed')
})

t.test('a pool that misbehaves is disconnected and unhealthy with a reason; the process is fine', async (t) => {
  const cases: [string, (pool: FakeUpstream) => void, RegExp][] = [
    ['garbage', (p) => p.sendRaw(p.conn, 'this is not json\n'), /garbage from the pool: not JSON/],
    ['an over-long line', (p) => p.sendRaw(p.conn, `{"id":null,"method":"client.show_message","params":["${'x'.repeat(70_000)}"]}\n`), /longer than 65536 bytes/],
    ['a job that does not parse', (p) => p.send(p.conn, { id: null, method: 'mining.notify', params: ['j', 'zz', 'aa', 'bb', [], '1', '2', '3', true] }), /mining\.notify: previous hash/],
    ['an impossible extranonce2 size', (p) => p.send(p.conn, { id: null, method: 'mining.set_extranonce', params: ['aa', 99] }), /impossible extranonce2 size 99/],
    ['an extranonce2 size too small to split', (p) => p.setExtranonce(p.conn, 'aa', 3), /extranonce2 size 3 leaves 1 bytes .*stratum\.extranonce1_size = 2/],
  ]
  for (const [what, act, reason] of cases) {
    await t.test(what, async (t) => {
      const pool = await fakePool(t)
      const s = await source(t, pool.port, { reconnectMinMs: 60_000, reconnectMaxMs: 60_000 })
      await until(() => s.health().healthy)
      act(pool)
      await until(() => !s.health().healthy)
      t.match(s.health().lastError, reason)
      await until(() => pool.conn.socket.destroyed || pool.conn.socket.readableEnded)
      t.pass('disconnected')
    })
  }

  await t.test('an impossible size at subscribe, then a good pool again: healthy after reconnecting', async (t) => {
    const pool = await fakePool(t, { extranonce2Size: 40 })
    const s = await source(t, pool.port)
    await until(() => pool.conns.length >= 2)
    t.match(s.health().lastError, /impossible extranonce2 size 40/)
    t.equal(s.health().healthy, false)
    pool.options.extranonce2Size = 8
    await until(() => s.health().healthy, 15_000)
  })

  await t.test('authorize refused', async (t) => {
    const pool = await fakePool(t, { authorize: 'unknown user' })
    const s = await source(t, pool.port)
    await until(() => s.health().lastError?.includes('unknown user') === true)
    t.equal(s.health().healthy, false)
  })

  await t.test('a silent pool: handshake timeout', async (t) => {
    const pool = await fakePool(t, { silent: true })
    const s = await source(t, pool.port, { connectTimeoutMs: 200 })
    await until(() => s.health().lastError?.includes('no subscribe and authorize within 200 ms') === true)
  })

  await t.test('no line for idle_timeout: reconnects', async (t) => {
    const pool = await fakePool(t)
    const s = await source(t, pool.port, { idleTimeoutMs: 300 })
    await until(() => pool.conns.length >= 2)
    t.ok(s.upstream.counters.connects >= 2)
  })

  await t.test('nothing listening: unhealthy, retrying with backoff', async (t) => {
    const pool = await fakePool(t)
    const port = pool.port
    await pool.close()
    const s = await source(t, port)
    await until(() => s.upstream.counters.connects >= 3)
    t.match(s.health().lastError, /ECONNREFUSED|closed/)
  })
})

t.test('a run of rejected shares: unhealthy, then a fresh connection', async (t) => {
  const pool = await fakePool(t, { judge: () => 'Duplicate share' })
  const chain = await startProxy(t, pool.port, { source: { maxConsecutiveRejects: 3 } })
  await until(() => chain.source.health().healthy)
  const m = await FakeMiner.connect(chain.proxy.port)
  t.teardown(() => m.close())
  await m.handshake('acct.rig')
  const job = await m.nextNotify()
  for (let i = 0; i < 3; i++) t.equal((await m.submit('acct.rig', job.jobId, m.findShare(job, { difficulty: 0.001, extranonce2: Buffer.from([i, 0, 0, 0]) }))).result, true)
  await until(() => chain.upstream.length === 3)
  t.match(chain.source.health().lastError, /3 forwarded shares in a row rejected upstream \(last: Duplicate share\)/)
  await until(() => pool.conns.length === 2 && chain.source.health().healthy)
  t.same(chain.proxy.server.workers.get('acct.rig')?.upstreamRejected, { 'Duplicate share': 3 })
})

t.test('no answer to a forwarded share within response_timeout_ms: rejected as timeout', async (t) => {
  const pool = await fakePool(t, { judge: () => null })
  const chain = await startProxy(t, pool.port, { source: { responseTimeoutMs: 200 } })
  await until(() => chain.source.health().healthy)
  const m = await FakeMiner.connect(chain.proxy.port)
  t.teardown(() => m.close())
  await m.handshake('acct.rig')
  const job = await m.nextNotify()
  t.equal((await m.submit('acct.rig', job.jobId, m.findShare(job, { difficulty: 0.001 }))).result, true, 'the miner is answered at once')
  await until(() => chain.upstream.length === 1)
  t.match(chain.upstream[0], { accepted: false, reason: 'timeout' })
  t.same(chain.proxy.server.workers.get('acct.rig')?.upstreamRejected, { timeout: 1 })
})

t.test('config: an upstream source is validated, built by the factory, and takes its password from the environment', async (t) => {
  const pool = await fakePool(t)
  const dir = t.testdir({ 'ca.pem': fixture('tls/cert.pem') })
  const config = parseConfig(
    {
      stratum: { extranonce1_size: 2, extranonce2_size: 4 },
      ledger: { path: join(dir, 'ledger') },
      sources: [{ type: 'upstream', name: 'up', url: `stratum+tcp://127.0.0.1:${pool.port}`, user: 'farm.p', password_env: 'UP_PW', tls_ca: join(dir, 'ca.pem'), reconnect_min_ms: 10 }],
    },
    { env: { UP_PW: 'hunter2' } },
  )
  const up = config.sources[0]
  t.match(up, { type: 'upstream', password: 'hunter2', follow_reconnect: false, connect_timeout_ms: 10_000, max_consecutive_rejects: 20, tls_insecure: false })
  t.notMatch(JSON.stringify(redactConfig(config)), /hunter2/)
  const built = await buildSources(config, { log: createLogger({ level: 'silent' }), sha256d: selectHasher({}).sha256d })
  t.teardown(() => built.close())
  const s = built.sources[0] as UpstreamSource
  t.ok(s instanceof UpstreamSource)
  t.teardown(() => s.stop())
  await s.start()
  await until(() => s.health().healthy)
  t.same(pool.conn.lines.find((l) => l.method === 'mining.authorize')?.params, ['farm.p', 'hunter2'])

  t.throws(() => parseConfig({ sources: [{ type: 'upstream', url: 'http://x:1', user: 'u' }] }), /sources\.0\.url/)
  t.throws(() => parseConfig({ sources: [{ type: 'upstream', url: 'stratum+tcp://x:1' }] }), /sources\.0\.user/)
  t.throws(() => parseConfig({ sources: [{ type: 'upstream', url: 'stratum+tcp://x:1', user: 'u', reconnect_min_ms: 5000, reconnect_max_ms: 1000 }] }), /reconnect_min_ms/)
  t.throws(() => parseConfig({ sources: [{ type: 'upstream', url: 'stratum+tcp://x:1', user: 'u', password_env: 'NOPE_UNSET' }] }, { env: {} }), /NOPE_UNSET is not set/)
  const missingCa = parseConfig({ ledger: { path: join(dir, 'l2') }, sources: [{ type: 'upstream', url: 'stratum+ssl://x:1', user: 'u', tls_ca: join(dir, 'missing.pem') }] })
  t.match(sourceProblems(missingCa), [/sources\.0\.tls_ca: cannot read/])
})

t.test('client edge cases: a port that cannot be dialled, calls out of turn, stray answers', async (t) => {
  const bad = new UpstreamSource(upstreamOptions(70_000, { reconnectMinMs: 60_000, reconnectMaxMs: 60_000 }))
  t.teardown(() => bad.stop())
  t.same(await bad.upstream.submit(['u']), { accepted: false, reason: 'not-connected' }, 'no submit before a connection')
  bad.upstream.disconnect('nothing to drop')
  await bad.start()
  t.match(bad.health().lastError, /cannot connect to 127\.0\.0\.1:70000/)
  t.equal(bad.health().healthy, false)

  const pool = await fakePool(t)
  const s = await source(t, pool.port)
  s.upstream.start() // already started: no second connection
  await until(() => s.health().healthy)
  pool.send(pool.conn, { id: 999, result: true, error: null })
  pool.send(pool.conn, { id: 'x', result: true, error: null })
  pool.send(pool.conn, { id: 7, method: 'mining.ping', params: [] })
  await until(() => pool.conn.lines.some((l) => l.id === 7))
  t.equal(pool.conns.length, 1, 'stray answers are ignored')
  t.equal(s.health().healthy, true)
  t.same(await s.submitBlock({ work: { ...(s.current() as Work), sourceRef: undefined }, header: Buffer.alloc(80), coinbase: Buffer.alloc(80), hash: Buffer.alloc(32), account: 'a', worker: 'w' }), {
    accepted: false,
    reason: 'not work of upstream source pool-a (work of pool-a)',
  })
  t.equal(s.forwardShare({ work: { ...(s.current() as Work), source: 'other' }, extranonce1: Buffer.alloc(2), extranonce2: Buffer.alloc(4), ntime: 0, nonce: 0, versionBits: undefined, hash: Buffer.alloc(32), account: 'a', worker: 'w' }), undefined, 'foreign work is not forwarded')
  await s.stop()
  t.equal(s.current()?.source, 'pool-a', 'the last work stays readable after stop')
})

t.test('stratum+ssl: a TLS upstream (Headframe pool with a TLS listener)', async (t) => {
  const dir = t.testdir({})
  writeFileSync(join(dir, 'cert.pem'), fixture('tls/cert.pem'))
  writeFileSync(join(dir, 'key.pem'), fixture('tls/key.pem'))
  const tlsPort = await freePort()
  const pool = await startServer(t, { stratum: { tls: { port: tlsPort, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } } })
  t.ok(pool.port > 0)
  const endpoint = parseStratumUrl(`stratum+ssl://127.0.0.1:${tlsPort}`)
  t.same(endpoint, { host: '127.0.0.1', port: tlsPort, tls: true })
  const strict = await source(t, tlsPort, { endpoint: endpoint as never, name: 'strict' })
  const insecure = await source(t, tlsPort, { endpoint: endpoint as never, name: 'tls', tlsInsecure: true })
  await until(() => insecure.health().healthy)
  t.equal(insecure.current()?.source, 'tls')
  await until(() => strict.health().lastError !== 'not connected yet' && strict.upstream.counters.connects >= 1)
  t.equal(strict.health().healthy, false, 'a self-signed certificate is refused unless tls_insecure')
  t.equal(parseStratumUrl('stratum+tcp://h:0'), undefined)
  t.equal(parseStratumUrl('http://h:1'), undefined)
})
