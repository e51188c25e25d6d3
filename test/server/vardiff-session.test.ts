import t from 'tap'
import { FakeMiner } from '../helpers/fake-miner.js'
import { startServer } from '../helpers/server.js'
import { Vardiff } from '../../src/vardiff/index.js'
import { prng } from '../helpers/prng.js'


t.test('a whole session over TCP: vardiff moves a miner with real shares to its ideal difficulty, without spurious rejects', async (t) => {
  const HASHRATE = 200e3 // simulated H/s: the pool's clock moves as if the miner hashed this fast
  const TARGET_S = 5
  const ideal = (HASHRATE * TARGET_S) / 2 ** 32
  const { server, port, clock } = await startServer(t, {
    difficulty: (now) => new Vardiff({ startDifficulty: ideal / 12, minDifficulty: 1e-6, maxDifficulty: 1, targetInterval: TARGET_S }, now),
  })
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  m.send('mining.configure', [['version-rolling'], { 'version-rolling.mask': 'ffffffff' }])
  await m.handshake('farm.cpu')
  const random = prng(42)
  const start = m.difficulty
  t.ok(start < ideal / 10, `starts far too low (${start} vs ideal ${ideal.toFixed(6)})`)

  let rejects = 0
  let shares = 0
  let changedAt = -1
  let oldJobAfterChange: { jobId: string; found: string[] } | undefined
  for (let i = 0; i < 60; i++) {
    const job = m.lastNotify()
    if (job === undefined) throw new Error('no job')
    const difficulty = m.difficulty
    // Time passes as for a miner of HASHRATE at this difficulty (Poisson).
    clock.now += (-Math.log(1 - random()) * difficulty * 2 ** 32 * 1000) / HASHRATE
    const found = m.findShare(job, { extranonce2: Buffer.from(i.toString(16).padStart(16, '0'), 'hex') })
    const before = m.received.length
    const reply = await m.submit('farm.cpu', job.jobId, found)
    shares++
    if (reply.result !== true) rejects++
    server.tick()
    if (changedAt < 0 && m.received.slice(before).some((x) => x.method === 'mining.set_difficulty')) {
      changedAt = i
      // A cgminer-style miner still finishing the previous job at the old difficulty:
      oldJobAfterChange = { jobId: job.jobId, found: m.findShare(job, { extranonce2: Buffer.alloc(8, 0xee), difficulty }) }
    }
  }
  t.ok(changedAt >= 0 && changedAt < 20, `the difficulty was raised after ${changedAt + 1} shares`)
  t.equal(rejects, 0, 'no share rejected across the changes')
  const final = m.difficulty
  t.ok(final > ideal / 2 && final < ideal * 2, `within 2x of ideal: ${final} vs ${ideal.toFixed(6)}`)
  const changes = m.received.filter((x) => x.method === 'mining.set_difficulty').length - 1
  t.ok(changes >= 1 && changes <= 4, `${changes} changes, then still`)
  const aliases = m.received.filter((x) => x.method === 'mining.notify').map((x) => x.params?.[0] as string)
  t.equal(new Set(aliases).size, aliases.length, 'each difficulty change came with a new job id')
  if (oldJobAfterChange !== undefined) {
    const late = await m.submit('farm.cpu', oldJobAfterChange.jobId, oldJobAfterChange.found)
    t.equal(late.result, true, 'a share of the old job id, found at the old difficulty, is still accepted')
  }
  t.equal(server.counters.accepted, shares + 1)
  const stats = server.workers.get('farm.cpu')
  t.equal(stats?.accepted, shares + 1)
})
