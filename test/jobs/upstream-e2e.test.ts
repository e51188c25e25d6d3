/**
 * End to end: miners (FakeMiner) -> Headframe proxy (StratumServer +
 * UpstreamSource) -> Headframe pool (a second StratumServer fed by the
 * regtest fixture source). Shares are accepted at both levels, the pool's
 * answer is recorded per worker at the proxy, shares below the pool's
 * difficulty stay local, a new block at the pool reaches the miners as a
 * clean job, and a share that solves a block goes up at once.
 */
import t, { type Test } from 'tap'
import { FakeMiner } from '../helpers/fake-miner.js'
import { startProxy } from '../helpers/proxy-chain.js'
import { startServer } from '../helpers/server.js'
import { FixtureSource } from '../helpers/fixture-source.js'
import { until } from '../helpers/until.js'
import { FixedDifficulty } from '../../src/server/difficulty-control.js'
import type { UpstreamWorkRef } from '../../src/jobs/upstream-source.js'

async function miner(t: Test, port: number, user: string, rolling: boolean): Promise<FakeMiner> {
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  if (rolling) {
    const reply = await m.request('mining.configure', [['version-rolling'], { 'version-rolling.mask': 'ffffffff', 'version-rolling.min-bit-count': 2 }])
    m.versionMask = Number.parseInt(String((reply.result as Record<string, unknown>)['version-rolling.mask']), 16)
    await m.request('mining.extranonce.subscribe', [])
  }
  await m.handshake(user)
  return m
}

t.test('miners -> proxy -> pool: shares accepted at both levels, answers recorded per worker', async (t) => {
  const pool = await startServer(t, { difficulty: () => new FixedDifficulty(0.001) })
  const chain = await startProxy(t, pool.port, { difficulty: 0.0002 })
  await until(() => chain.source.health().healthy)
  t.equal(chain.source.health().lastError, undefined)
  t.equal(pool.server.workers.get('farm.proxy1')?.sessions, 1, 'the proxy is one authorized session at the pool')

  const a = await miner(t, chain.proxy.port, 'acct.rigA', true)
  const b = await miner(t, chain.proxy.port, 'acct.rigB', false)
  for (const m of [a, b]) {
    t.equal(m.extranonce1.length, 4, 'extranonce1 is the 2-byte prefix')
    t.equal(m.extranonce2Size, 4, 'miners roll 4 of the pool\'s 8 bytes (2 are padding)')
  }
  t.equal(a.versionMask, 0x1fffe000, 'version rolling granted within the pool\'s mask')
  const jobA = await a.nextNotify()
  const jobB = await b.nextNotify()
  const ref = chain.source.current()?.sourceRef as UpstreamWorkRef
  t.equal(ref.difficulty, 0.001, 'the job remembers the pool difficulty it came with')
  t.equal(ref.plan.padSize, 2)

  // Shares at the pool's difficulty: accepted here, forwarded, accepted there.
  let sent = 0
  for (let i = 0; i < 4; i++) {
    const rollA = a.findShare(jobA, { difficulty: 0.001, extranonce2: Buffer.from([0, 0, 0, i]), versionBits: 0x2000 << i })
    t.equal((await a.submit('acct.rigA', jobA.jobId, rollA)).result, true)
    const rollB = b.findShare(jobB, { difficulty: 0.001, extranonce2: Buffer.from([0, 0, 1, i]) })
    t.equal((await b.submit('acct.rigB', jobB.jobId, rollB)).result, true)
    sent += 2
  }
  await until(() => chain.upstream.length === sent)
  t.same(
    chain.upstream.filter((r) => !r.accepted || r.difficulty !== 0.001 || r.source !== 'pool-a'),
    [],
    'every forwarded share accepted upstream at the pool difficulty',
  )
  t.equal(pool.server.workers.get('farm.proxy1')?.accepted, sent, 'the pool accepted every forwarded share')
  t.same(pool.server.workers.get('farm.proxy1')?.rejected, {}, 'and rejected none')
  const statsA = chain.proxy.server.workers.get('acct.rigA')
  t.equal(statsA?.upstreamAccepted, 4)
  t.equal(statsA?.upstreamAcceptedDifficulty, 0.004)
  t.same(statsA?.upstreamRejected, {})
  t.equal(chain.proxy.server.workers.get('acct.rigB')?.upstreamAccepted, 4)
  t.same(
    chain.upstream.map((r) => r.account + '.' + r.worker).sort(),
    ['acct.rigA', 'acct.rigA', 'acct.rigA', 'acct.rigA', 'acct.rigB', 'acct.rigB', 'acct.rigB', 'acct.rigB'],
    'recorded per worker',
  )

  // Shares that meet only the miner's difficulty stay local.
  let local = 0
  for (let i = 0; local < 3 && i < 64; i++) {
    const found = b.findShare(jobB, { difficulty: 0.0002, extranonce2: Buffer.from([2, 0, 0, i]) })
    const check = b.findShare(jobB, { difficulty: 0.001, extranonce2: Buffer.from([2, 0, 0, i]) })
    if (found[2] === check[2]) continue // this one also meets the pool's difficulty
    t.equal((await b.submit('acct.rigB', jobB.jobId, found)).result, true)
    local++
  }
  t.equal(local, 3, 'three shares below the pool difficulty accepted locally')
  await until(() => chain.shares.length === sent + local)
  t.equal(chain.source.counters.forwarded, sent, 'not forwarded')
  t.equal(pool.server.workers.get('farm.proxy1')?.accepted, sent)

  // A new block at the pool reaches the miners as a clean job at once.
  const before = a.received.length
  pool.source.next(true)
  const fresh = await a.nextNotify(before)
  t.equal(fresh.clean, true)
  t.not(fresh.prevHash, jobA.prevHash)
  const roll = a.findShare(fresh, { difficulty: 0.001, extranonce2: Buffer.from([9, 9, 9, 9]) })
  t.equal((await a.submit('acct.rigA', fresh.jobId, roll)).result, true)
  await until(() => chain.upstream.length === sent + 1)
  t.equal(chain.upstream.at(-1)?.accepted, true, 'a share of the new block accepted upstream too')
})

t.test('a share that solves a block goes upstream at once, once', async (t) => {
  // Easy network target at the pool: every share is a block candidate.
  const pool = await startServer(t, { difficulty: () => new FixedDifficulty(0.001), source: new FixtureSource(0x207fffff) })
  const chain = await startProxy(t, pool.port)
  await until(() => chain.source.health().healthy)
  const blocks: unknown[] = []
  chain.proxy.server.on('block', (_c: unknown, result: unknown) => blocks.push(result))
  const m = await miner(t, chain.proxy.port, 'acct.lucky', true)
  const job = await m.nextNotify()
  const found = m.findShare(job, { difficulty: 0.001, versionBits: 0x4000 })
  t.equal((await m.submit('acct.lucky', job.jobId, found)).result, true)
  await until(() => blocks.length === 1 && chain.upstream.length === 1)
  t.same(blocks[0], { accepted: true }, 'the proxy reports the block as accepted by the pool')
  t.equal(pool.source.blocks.length, 1, 'the pool got a block candidate')
  t.equal(pool.server.workers.get('farm.proxy1')?.accepted, 1, 'forwarded once, not twice')
  t.equal(chain.upstream[0]?.accepted, true)
  t.equal(chain.source.counters.forwarded, 1)
})
