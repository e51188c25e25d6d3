/**
 * New work paced to the miners (src/server/work-pacer.ts): a burst goes out
 * at once, then one piece per interval, always the latest, clean if any piece
 * it replaced was; and a flooding upstream pool cannot make the proxy fan out
 * for every notify it sends.
 */
import t from 'tap'
import { join } from 'node:path'
import { startPool } from '../../src/app.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/log.js'
import type { Work } from '../../src/jobs/work.js'
import { WorkPacer } from '../../src/server/work-pacer.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { FakeUpstream } from '../helpers/fake-upstream.js'
import { FixtureSource } from '../helpers/fixture-source.js'
import { freePort } from '../helpers/free-port.js'
import { startProxy } from '../helpers/proxy-chain.js'
import { until } from '../helpers/until.js'

const TIP = Buffer.alloc(32, 1)

/** Just enough of a Work for the pacer, which reads `cleanJobs` and `prevHash`; `ntime` tells the pieces apart. */
function work(n: number, cleanJobs = false, prevHash: Buffer = TIP): Work {
  return { ntime: n, cleanJobs, prevHash, source: 'test' } as unknown as Work
}

t.test('a burst at once, then the latest held piece per interval, clean if a replaced one was', async (t) => {
  let clock = 0
  const sent: Work[] = []
  const limited: Work[] = []
  const counters = { workDelayed: 0, workSkipped: 0 }
  const pacer = new WorkPacer({ burst: 3, intervalMs: 20 }, counters, (w) => sent.push(w), (w) => limited.push(w), () => clock)
  t.teardown(() => pacer.clear())
  for (let i = 1; i <= 3; i++) pacer.offer(work(i))
  t.same(sent.map((w) => w.ntime), [1, 2, 3], 'the burst goes out at once')
  pacer.offer(work(4, true))
  pacer.offer(work(5))
  pacer.offer(work(6))
  t.same(sent.length, 3, 'over the burst: held')
  t.same(limited.map((w) => w.ntime), [4], 'told once when holding starts')
  t.same(counters, { workDelayed: 1, workSkipped: 2 })
  t.equal(pacer.pending?.ntime, 6, 'only the latest is kept')
  t.equal(pacer.pending?.cleanJobs, true, 'with the clean flag of a piece it replaced')
  clock = 20 // one token earned
  await until(() => sent.length === 4)
  t.equal(sent[3]?.ntime, 6)
  t.equal(sent[3]?.cleanJobs, true)
  t.equal(pacer.pending, undefined)
  // No token left until the next interval: the next piece waits again.
  pacer.offer(work(7))
  t.equal(sent.length, 4)
  clock = 40
  await until(() => sent.length === 5)
  t.equal(sent[4]?.ntime, 7)
  t.equal(sent[4]?.cleanJobs, false, 'clean only when a replaced piece was')
  // A quiet spell refills the whole burst, no more.
  clock = 10_000
  for (let i = 8; i <= 12; i++) pacer.offer(work(i))
  t.same(sent.slice(5).map((w) => w.ntime), [8, 9, 10], 'a full burst again, not one per interval that passed')
  t.equal(pacer.pending?.ntime, 12)
  pacer.clear()
  t.equal(pacer.pending, undefined, 'clear drops held work')
  clock = 20_000
  await new Promise((r) => setTimeout(r, 40))
  t.equal(sent.length, 8, 'and its timer')
})

t.test('work on a new previous block goes out at once from its own bucket, and is paced too when it comes in a loop', async (t) => {
  let clock = 0
  const sent: Work[] = []
  const counters = { workDelayed: 0, workSkipped: 0 }
  const pacer = new WorkPacer({ burst: 2, intervalMs: 1000 }, counters, (w) => sent.push(w), () => {}, () => clock)
  t.teardown(() => pacer.clear())
  // Refreshes on one tip use up the common bucket; one more is held (clean: say an extranonce change).
  for (let i = 1; i <= 2; i++) pacer.offer(work(i))
  pacer.offer(work(3, true))
  t.same(sent.map((w) => w.ntime), [1, 2])
  t.equal(pacer.pending?.ntime, 3)
  // A new block: at once, from the tips' bucket, replacing the held refresh (and keeping its clean flag).
  const next = Buffer.alloc(32, 2)
  pacer.offer(work(4, false, next))
  t.same(sent.map((w) => w.ntime), [1, 2, 4], 'the new block is not held behind the refreshes')
  t.equal(sent[2]?.cleanJobs, true)
  t.equal(pacer.pending, undefined)
  t.same(counters, { workDelayed: 1, workSkipped: 1 })
  // A source inventing blocks in a loop: the tips' bucket runs dry too, and the latest waits.
  for (let i = 5; i <= 8; i++) pacer.offer(work(i, true, Buffer.alloc(32, i)))
  t.same(sent.map((w) => w.ntime), [1, 2, 4, 5], 'one more from the tips bucket, then held')
  t.equal(pacer.pending?.ntime, 8)
  clock = 1000
  await until(() => sent.length === 5)
  t.equal(sent[4]?.ntime, 8)
  t.equal(pacer.pending, undefined)
})

t.test('bad pacing is refused', async (t) => {
  const counters = { workDelayed: 0, workSkipped: 0 }
  t.throws(() => new WorkPacer({ burst: 0, intervalMs: 10 }, counters, () => {}), RangeError)
  t.throws(() => new WorkPacer({ burst: 1.5, intervalMs: 10 }, counters, () => {}), RangeError)
  t.throws(() => new WorkPacer({ burst: 1, intervalMs: 0 }, counters, () => {}), RangeError)
})

t.test('an upstream pool flooding mining.notify: the proxy sends its miners the burst, then holds the latest', async (t) => {
  const pool = new FakeUpstream({ versionMask: 0x1fffe000 })
  await pool.listen()
  t.teardown(() => pool.close())
  // A long interval: nothing is sent after the burst during the test, so the counts are exact.
  const chain = await startProxy(t, pool.port, { workPacing: { burst: 4, intervalMs: 600_000 } })
  await until(() => chain.source.health().healthy)
  const miner = await FakeMiner.connect(chain.proxy.port)
  t.teardown(() => miner.close())
  await miner.handshake('acct.rig1')
  await miner.nextNotify()
  const notifies = (): number => miner.received.filter((m) => m.method === 'mining.notify').length
  const before = notifies()
  const jobsBefore = chain.source.counters.jobs
  const broadcasts: number[] = []
  chain.proxy.server.on('job', () => broadcasts.push(Date.now()))
  // 2,000 jobs on one previous block, but job 1000 is a new block (clean, a new prevHash).
  const FLOOD = 2000
  for (let i = 0; i < FLOOD; i++) pool.notify(pool.conn, i === 1000)
  await until(() => chain.source.counters.jobs - jobsBefore === FLOOD)
  const server = chain.proxy.server
  // The upstream's first job took one token of the burst of 4: 3 of the flood go out, then the new block from its own bucket.
  t.equal(broadcasts.length, 4, `${broadcasts.length} broadcasts for ${FLOOD} upstream jobs`)
  t.equal(server.counters.workDelayed, 2, 'held twice: before the new block and after it')
  t.equal(server.counters.workSkipped, FLOOD - broadcasts.length - 1, 'every other job replaced while held, the last one still held')
  await until(() => notifies() === before + broadcasts.length)
  const sent = miner.received.filter((m) => m.method === 'mining.notify').slice(before)
  t.same(sent.map((m) => m.params?.[8]), [false, false, false, true], 'the miner got 3 jobs of the flood, then the new block at once')
  const held = (server as unknown as { pacer: WorkPacer }).pacer.pending
  t.equal(held?.cleanJobs, false, 'held: the latest job, on the new block')
  t.ok(held?.prevHash.equals(server.currentJob()?.work.prevHash ?? Buffer.alloc(0)), 'on the block just sent')
  // The proxy still answers the miner at once.
  t.same((await miner.request('mining.ping', [])).result, 'pong')
})

t.test('[stratum] work_burst and work_interval_ms reach the running pool', async (t) => {
  const config = parseConfig({
    stratum: { host: '127.0.0.1', port: await freePort(), work_burst: 1, work_interval_ms: 60_000 },
    http: { enabled: false },
    ledger: { path: join(t.testdir({}), 'ledger') },
  })
  const source = new FixtureSource()
  const pool = await startPool({ config, origin: { kind: 'defaults' }, log: createLogger({ level: 'silent' }), env: {}, source })
  t.teardown(() => pool.stop())
  const jobs: unknown[] = []
  pool.stratum.on('job', (job) => jobs.push(job))
  for (let i = 0; i < 3; i++) source.next(false)
  t.equal(jobs.length, 1, 'a burst of 1: one piece sent')
  t.same({ delayed: pool.stratum.counters.workDelayed, skipped: pool.stratum.counters.workSkipped }, { delayed: 1, skipped: 1 }, 'the rest held, the latest kept')
})
