/**
 * Proxy failover end to end, as the operator runs it: `startPool` with two
 * `type = "upstream"` sources pointing at two Headframe pools (each a
 * StratumServer fed by fixture work). A miner hashes through the proxy; the
 * primary pool is killed, the miner gets the secondary's work (clean) and
 * its shares are accepted there; the primary comes back on the same port
 * and, after the hold-down, the miner is back on it.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { request } from 'undici'
import { startPool } from '../../src/app.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/log.js'
import { FixedDifficulty } from '../../src/server/difficulty-control.js'
import { StratumServer } from '../../src/server/stratum-server.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { FakeMiner, type NotifyParams } from '../helpers/fake-miner.js'
import { FixtureSource } from '../helpers/fixture-source.js'
import { freePort } from '../helpers/free-port.js'
import { until } from '../helpers/until.js'

/** A Headframe pool on a fixed port (so it can come back on the same one). */
async function upstreamPool(t: Test, port: number, source: FixtureSource): Promise<StratumServer> {
  const config = parseConfig({ stratum: { host: '127.0.0.1', port } })
  const server = new StratumServer({
    config: config.stratum,
    hasher: selectHasher({}),
    log: createLogger({ level: 'silent' }),
    difficulty: () => new FixedDifficulty(0.001),
    tickMs: 3_600_000,
  })
  await server.listen()
  server.attachSource(source)
  t.teardown(() => server.close())
  return server
}

t.test('kill the primary upstream while a miner hashes: the secondary takes over, then the primary again', async (t) => {
  const portA = await freePort()
  const portB = await freePort()
  const workA = new FixtureSource()
  const workB = new FixtureSource()
  workB.next(true) // another previous block: the two pools' work is told apart
  let poolA = await upstreamPool(t, portA, workA)
  const poolB = await upstreamPool(t, portB, workB)
  const upstream = (name: string, port: number) => ({
    type: 'upstream',
    name,
    url: `stratum+tcp://127.0.0.1:${port}`,
    user: 'farm.proxy1',
    reconnect_min_ms: 50,
    reconnect_max_ms: 200,
  })
  const config = parseConfig({
    stratum: { host: '127.0.0.1', port: await freePort(), extranonce1_size: 2, extranonce2_size: 4, reconnect_spread_ms: 100 },
    vardiff: { fixed_difficulty: 0.001, min_difficulty: 0.0001, start_difficulty: 0.001 },
    http: { host: '127.0.0.1', port: await freePort() },
    ledger: { path: join(t.testdir({}), 'ledger') },
    failover: { check_interval_ms: 50, hold_down_s: 1 },
    sources: [upstream('a', portA), upstream('b', portB)],
  })
  const proxy = await startPool({ config, origin: { kind: 'defaults' }, log: createLogger({ level: 'silent' }) })
  t.teardown(() => proxy.stop())
  const failover = proxy.failover
  if (failover === undefined) throw new Error('a failover over the two upstreams')
  const sourceOf = (job: NotifyParams) => proxy.stratum.book.lookup(job.jobId)?.job.work.source

  const m = await FakeMiner.connect(proxy.port)
  t.teardown(() => m.close())
  await m.request('mining.extranonce.subscribe', [])
  await m.handshake('acct.rig1')
  let job = await m.nextNotify()
  await until(() => sourceOf(m.lastNotify() as NotifyParams) === 'a')
  job = m.lastNotify() as NotifyParams
  t.equal((await m.submit('acct.rig1', job.jobId, m.findShare(job, { extranonce2: Buffer.from([1, 0, 0, 0]) }))).result, true)
  await until(() => poolA.workers.get('farm.proxy1')?.accepted === 1)
  await until(() => proxy.stratum.workers.get('acct.rig1')?.upstreamAccepted === 1)

  // The primary dies.
  const before = m.received.length
  await poolA.close()
  const onB = await m.waitFor((x) => x.method === 'mining.notify' && x.params?.[8] === true && sourceOf({ jobId: String(x.params[0]) } as NotifyParams) === 'b', before)
  job = { ...(m.lastNotify() as NotifyParams), jobId: String(onB.params?.[0]) }
  t.equal(failover.status().active, 'b', 'the secondary is active')
  t.equal(m.closed, false, 'the miner stayed connected (same extranonce2 size)')
  t.equal((await m.submit('acct.rig1', job.jobId, m.findShare(job, { extranonce2: Buffer.from([2, 0, 0, 0]) }))).result, true)
  await until(() => poolB.workers.get('farm.proxy1')?.accepted === 1)
  await until(() => proxy.stratum.workers.get('acct.rig1')?.upstreamAccepted === 2)
  // Surfaced by the stats API.
  const base = `http://127.0.0.1:${config.http.port}`
  const one = (await (await request(`${base}/api/workers/acct.rig1`)).body.json()) as { upstream: unknown }
  t.same(one.upstream, { accepted: 2, acceptedDifficulty: 0.002, rejected: 0, rejectedByReason: {} })
  const all = (await (await request(`${base}/api/workers`)).body.json()) as { workers: { name: string; upstream: unknown }[] }
  t.same(all.workers.find((w) => w.name === 'acct.rig1')?.upstream, one.upstream)

  // The primary comes back on its port; after the hold-down the miner is back on it.
  const back = m.received.length
  poolA = await upstreamPool(t, portA, workA)
  const onA = await m.waitFor((x) => x.method === 'mining.notify' && x.params?.[8] === true && sourceOf({ jobId: String(x.params[0]) } as NotifyParams) === 'a', back)
  t.equal(failover.status().active, 'a', 'failed back to the primary')
  job = { ...(m.lastNotify() as NotifyParams), jobId: String(onA.params?.[0]) }
  t.equal((await m.submit('acct.rig1', job.jobId, m.findShare(job, { extranonce2: Buffer.from([3, 0, 0, 0]) }))).result, true)
  await until(() => poolA.workers.get('farm.proxy1')?.accepted === 1)
  t.ok(failover.status().switches >= 2, 'both switches counted')
})
