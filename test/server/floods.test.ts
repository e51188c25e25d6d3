/**
 * Every flood at once (scripts/abuse-floods.ts), each from its own loopback
 * address, against one server, while a legitimate miner from 127.0.0.1
 * keeps finding and submitting real shares: thousands of connections from
 * one address, slowloris, 10 MB lines, connect-and-idle, a submit flood,
 * an invalid-share flood and an authorize flood with random names.
 *
 * The limits hold (sessions per address, bans, timeouts), memory stays
 * bounded (every partial line within max_line_bytes, the worker table
 * within what legitimate workers need, the process's buffers loosely
 * bounded), and every share of the legitimate miner is accepted. (How fast
 * it is served under each flood is a measurement, not a test:
 * scripts/bench-abuse.ts, docs/reliability.md.)
 */
import t from 'tap'
import { startFlood, type Flood, type FloodKind } from '../../scripts/abuse-floods.js'
import type { LineFramer } from '../../src/stratum/index.js'
import { FixedDifficulty } from '../../src/server/difficulty-control.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { startServer } from '../helpers/server.js'
import { until } from '../helpers/until.js'

const ADDRESSES: Record<FloodKind, string> = {
  connections: '127.0.0.2',
  slowloris: '127.0.0.3',
  'huge-line': '127.0.0.4',
  idle: '127.0.0.5',
  'share-flood': '127.0.0.6',
  'invalid-shares': '127.0.0.7',
  'authorize-flood': '127.0.0.8',
}
const PER_IP = 64
const MAX_LINE = 4096

t.test('all floods at once: limits hold, memory bounded, the legitimate miner is served', async (t) => {
  const { server, port, clock } = await startServer(t, {
    // A low difficulty: the legitimate miner's shares cost next to nothing to find.
    difficulty: () => new FixedDifficulty(1e-6, 1e-9, 1e15),
    stratum: { max_line_bytes: MAX_LINE, limits: { max_connections_per_ip: PER_IP, auth_timeout_s: 30, max_submits_per_second: 50 } },
  })
  const miner = await FakeMiner.connect(port)
  t.teardown(() => miner.close())
  await miner.handshake('acct.legit')
  const job = await miner.nextNotify()
  const memoryBefore = process.memoryUsage()

  const floods: Flood[] = []
  t.teardown(() => Promise.all(floods.map((f) => f.stop())))
  for (const [kind, localAddress] of Object.entries(ADDRESSES) as [FloodKind, string][]) {
    floods.push(startFlood(kind, { port, localAddress, connections: kind === 'connections' ? 1500 : 100 }))
  }
  const flood = (kind: FloodKind): Flood => floods.find((f) => f.kind === kind) as Flood

  // The legitimate miner works through it all.
  let accepted = 0
  let maxBuffered = 0
  const perAddressPeak = new Map<string, number>()
  for (let i = 1; i <= 30; i++) {
    const extranonce2 = Buffer.alloc(miner.extranonce2Size)
    extranonce2.writeUInt32BE(i, extranonce2.length - 4)
    const reply = await miner.submit('acct.legit', job.jobId, miner.findShare(job, { extranonce2 }))
    if (reply.result === true) accepted++
    const counts = new Map<string, number>()
    for (const s of server.sessions) {
      counts.set(s.address, (counts.get(s.address) ?? 0) + 1)
      maxBuffered = Math.max(maxBuffered, (s as unknown as { framer: LineFramer }).framer.bufferedBytes)
    }
    for (const [a, n] of counts) perAddressPeak.set(a, Math.max(perAddressPeak.get(a) ?? 0, n))
    await new Promise((r) => setTimeout(r, 50))
  }
  t.equal(accepted, 30, 'all 30 shares of the legitimate miner accepted during the floods')
  t.notOk(miner.closed, 'and its connection is up')

  // Limits.
  await until(() => (server.counters.refused['too-many-from-address'] ?? 0) > 0 && (server.counters.closed['line-too-long'] ?? 0) > 0)
  for (const [kind, address] of Object.entries(ADDRESSES)) {
    t.ok((perAddressPeak.get(address) ?? 0) <= PER_IP, `${kind}: at most ${PER_IP} sessions from ${address} (peak ${perAddressPeak.get(address) ?? 0})`)
  }
  t.ok(flood('connections').stats.connects > PER_IP, `connection flood: ${flood('connections').stats.connects} connects, ${server.counters.refused['too-many-from-address']} refused`)
  t.ok(maxBuffered <= MAX_LINE + 1, `partial lines held: at most ${maxBuffered} bytes (limit ${MAX_LINE})`)
  await until(() => server.access.isBanned(ADDRESSES['share-flood'], clock.now) && server.access.isBanned(ADDRESSES['invalid-shares'], clock.now), 20_000)
  t.pass(`submit and invalid-share floods banned (${server.counters.bans} bans)`)
  t.ok(flood('authorize-flood').stats.linesSent > 1000, `authorize flood: ${flood('authorize-flood').stats.linesSent} authorizes sent`)
  // Workers that never had a share accepted are forgotten with their last session: random names cannot fill the table.
  t.ok(flood('authorize-flood').stats.closed > 20, `authorize flood reconnected ${flood('authorize-flood').stats.closed} times`)
  t.ok(server.workers.size <= 1 + 16 * PER_IP, `worker table bounded: ${server.workers.size} entries`)

  // Connect-and-idle and slowloris never authorize: the auth timeout ends them, not the legitimate miner.
  clock.now += 30_000
  server.tick()
  const lazy = [...server.sessions].filter((s) => s.address === ADDRESSES.idle || s.address === ADDRESSES.slowloris)
  t.equal(lazy.length, 0, 'idle and slowloris sessions closed by the auth timeout')
  t.ok((server.counters.closed['auth-timeout'] ?? 0) >= 100, `${server.counters.closed['auth-timeout']} closed for auth-timeout`)
  t.equal((await miner.request('mining.ping', [])).result, 'pong', 'the legitimate miner is still served')

  await Promise.all(floods.map((f) => f.stop()))
  const memoryAfter = process.memoryUsage()
  const grew = (memoryAfter.arrayBuffers - memoryBefore.arrayBuffers) / 2 ** 20
  t.comment(`flood stats: ${floods.map((f) => `${f.kind} ${f.stats.connects} connects ${(f.stats.bytesSent / 2 ** 20).toFixed(1)} MiB ${f.stats.linesSent} lines`).join('; ')}`)
  t.comment(`memory: heap ${(memoryBefore.heapUsed / 2 ** 20).toFixed(0)} -> ${(memoryAfter.heapUsed / 2 ** 20).toFixed(0)} MiB, buffers +${grew.toFixed(1)} MiB`)
  t.ok(grew < 64, `buffers grew ${grew.toFixed(1)} MiB: 10 MB lines are refused on sight, never held`)
})

t.test('authorize flood with random names, reconnecting: the worker table holds only live workers', async (t) => {
  const { server, port } = await startServer(t)
  const miner = await FakeMiner.connect(port)
  t.teardown(() => miner.close())
  await miner.handshake('acct.legit')
  const flood = startFlood('authorize-flood', { port, localAddress: '127.0.0.8', connections: 4 })
  t.teardown(() => flood.stop())
  let peak = 0
  await until(() => {
    peak = Math.max(peak, server.workers.size)
    return flood.stats.closed >= 100
  }, 30_000)
  t.ok(flood.stats.linesSent >= 2000, `${flood.stats.linesSent} random-name authorizes over ${flood.stats.connects} connections`)
  // 4 live connections of at most 16 workers each, plus the legitimate one.
  t.ok(peak <= 1 + 4 * 16, `worker table peaked at ${peak} entries`)
  await flood.stop()
  await until(() => server.workers.size === 1)
  t.ok(server.workers.has('acct.legit'), 'the legitimate worker stays')
})
