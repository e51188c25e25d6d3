/**
 * StratumServer.drain (SIGTERM) and reload (SIGHUP) against real sockets,
 * with a share sink the test holds back, and the config diff behind reload.
 */
import t from 'tap'
import { parseConfig } from '../../src/config/index.js'
import { changedKeys, isLiveKey, reloadPlan } from '../../src/config/changes.js'
import type { ShareRecord, ShareSink } from '../../src/server/stratum-server.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { startServer } from '../helpers/server.js'
import { until } from '../helpers/until.js'

/** A sink whose `record` calls wait until the test releases them. */
function heldSink() {
  const pending: { share: ShareRecord; release: () => void }[] = []
  const sink: ShareSink = {
    record: (share) => new Promise<void>((resolve) => pending.push({ share, release: resolve })),
  }
  return { sink, pending }
}

async function submitShares(miner: FakeMiner, user: string, n: number): Promise<number> {
  const job = await miner.nextNotify()
  const from = miner.received.length
  for (let i = 0; i < n; i++) miner.send('mining.submit', [user, job.jobId, ...miner.findShare(job, { extranonce2: Buffer.alloc(8, i) })], 500 + i)
  return from
}

t.test('drain answers the shares being recorded, then closes', async (t) => {
  const { sink, pending } = heldSink()
  const pool = await startServer(t, { sink })
  const miner = await FakeMiner.connect(pool.port)
  t.teardown(() => miner.close())
  await miner.handshake('acct.rig1')
  const from = await submitShares(miner, 'acct.rig1', 2)
  await until(() => pending.length === 2)

  let drained = false
  const draining = pool.server.drain(60_000).then(() => (drained = true))
  // No new connection once draining.
  await t.rejects(FakeMiner.connect(pool.port).then((m) => m.handshake('acct.late')))
  t.notOk(drained, 'waits for the shares in flight')
  t.notOk(miner.closed)
  for (const p of pending) p.release()
  await draining
  await until(() => miner.closed)
  const replies = miner.received.slice(from).filter((m) => m.id === 500 || m.id === 501)
  t.same(replies.map((m) => m.result), [true, true], 'both answered "accepted" before the close')
  t.equal(pool.server.sessions.size, 0)
  t.equal(pool.server.counters.closed.shutdown, 1)
})

t.test('drain gives up waiting after its limit', async (t) => {
  const { sink, pending } = heldSink()
  const pool = await startServer(t, { sink })
  const miner = await FakeMiner.connect(pool.port)
  t.teardown(() => miner.close())
  await miner.handshake('acct.rig1')
  const from = await submitShares(miner, 'acct.rig1', 1)
  await until(() => pending.length === 1)
  await pool.server.drain(20)
  await until(() => miner.closed)
  t.equal(miner.received.slice(from).filter((m) => m.id === 500).length, 0, 'a share the sink never took gets no answer')
  pending[0]?.release()
})

t.test('drain with nothing in flight closes at once', async (t) => {
  const pool = await startServer(t)
  const miner = await FakeMiner.connect(pool.port)
  t.teardown(() => miner.close())
  await miner.handshake('acct.rig1')
  await pool.server.drain()
  await until(() => miner.closed)
  t.equal(pool.server.sessions.size, 0)
})

t.test('reload: auth and limits live, other keys reported', async (t) => {
  const pool = await startServer(t)
  const next = parseConfig({ stratum: { host: '127.0.0.1', port: 4000, auth: { mode: 'allowlist', accounts: ['good'] }, limits: { ban_seconds: 5, trusted_cidrs: ['127.0.0.0/8'] } } }).stratum
  const restart = pool.server.reload(next)
  t.same(restart, ['stratum.port'], 'the port waits for a restart')
  t.equal(pool.server.limits.ban_seconds, 5)
  t.equal(pool.server.config.port, 0, 'still the port it listens on')
  t.ok(pool.server.access.isTrusted('127.0.0.1'), 'trusted list replaced')
  t.notOk(pool.server.access.ban('127.0.0.1', pool.clock.now), 'a trusted address cannot be banned')

  const bad = await FakeMiner.connect(pool.port)
  t.teardown(() => bad.close())
  await t.rejects(bad.handshake('evil.rig'), /not allowed/, 'the new allow list of accounts applies')
  const good = await FakeMiner.connect(pool.port)
  t.teardown(() => good.close())
  await good.handshake('good.rig')
  t.equal(pool.server.access.connections, 2, 'connection counts kept')
})

t.test('config changes', async (t) => {
  t.same(changedKeys({ a: 1, b: { c: [1, 2], d: 'x' } }, { a: 1, b: { c: [1, 3], d: 'x', e: true } }), ['b.c', 'b.e'])
  t.same(changedKeys({ a: { b: 1 } }, { a: 2 }), ['a'])
  t.same(changedKeys(1, 1), [])
  t.ok(isLiveKey('vardiff.start_difficulty'))
  t.ok(isLiveKey('stratum.limits.allowed_cidrs'))
  t.ok(isLiveKey('stratum.auth.password'))
  t.notOk(isLiveKey('stratum.port'))
  t.notOk(isLiveKey('sources'))
  const a = parseConfig({})
  const b = parseConfig({ vardiff: { start_difficulty: 2048 }, stratum: { port: 3334 }, http: { port: 9090 }, log: { level: 'debug' } })
  t.ok(isLiveKey('log.level'))
  t.same(reloadPlan(a, b), { applied: ['log.level', 'vardiff.start_difficulty'], needsRestart: ['http.port', 'stratum.port'] })
  t.same(reloadPlan(a, a), { applied: [], needsRestart: [] })
})
