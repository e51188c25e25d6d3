/**
 * Submit latency of a legitimate miner, unloaded and under each flood of
 * scripts/abuse-floods.ts (and all of them at once): the issue asks that it
 * stay within 20% of unloaded. A measurement, not a test; the numbers are
 * in docs/reliability.md.
 *
 *   npm run build:ts && npm run bench:abuse [-- --shares 300 --interval-ms 20 --warmup-ms 2000]
 *
 * The pool (a StratumServer with the fixture work, fixed difficulty 1e-6: finding the shares costs next to nothing)
 * and the legitimate miner run in this process; each flood runs in a child
 * process of its own (this script, `--flood <kind>`), from its own loopback
 * address. The miner's shares are found before timing starts; it submits
 * one every `interval-ms` and times each from write to reply.
 */
import { fork } from 'node:child_process'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { parseConfig } from '../src/config/index.js'
import { createLogger } from '../src/log.js'
import { selectHasher } from '../src/shares/hasher.js'
import { FixedDifficulty } from '../src/server/difficulty-control.js'
import { StratumServer } from '../src/server/stratum-server.js'
import { FakeMiner } from '../test/helpers/fake-miner.js'
import { FLOOD_KINDS, startFlood, type FloodKind } from './abuse-floods.js'
import { fixtureWork } from './fuzz-session.js'

const { values } = parseArgs({
  options: {
    flood: { type: 'string' },
    port: { type: 'string' },
    address: { type: 'string' },
    shares: { type: 'string', default: '300' },
    'interval-ms': { type: 'string', default: '20' },
    'warmup-ms': { type: 'string', default: '2000' },
  },
})

/** Child mode: run one flood until the parent disconnects. */
async function floodChild(kind: FloodKind, port: number, address: string): Promise<void> {
  const flood = startFlood(kind, { port, localAddress: address, connections: kind === 'connections' ? 2000 : 200 })
  process.on('disconnect', () => {
    void flood.stop().then(() => process.exit(0))
  })
  setInterval(() => process.send?.({ stats: flood.stats }), 500)
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
}

async function main(): Promise<void> {
  const shares = Number(values.shares)
  const intervalMs = Number(values['interval-ms'])
  const warmupMs = Number(values['warmup-ms'])
  const config = parseConfig({ stratum: { host: '127.0.0.1', limits: { max_connections_per_ip: 64 } } }).stratum
  const server = new StratumServer({
    config: { ...config, port: 0 },
    hasher: selectHasher({}),
    log: createLogger({ level: 'silent' }),
    difficulty: () => new FixedDifficulty(1e-6),
  })
  const { port } = await server.listen()
  const work = fixtureWork()
  server.attachSource({ name: 'bench', start: async () => {}, stop: async () => {}, onWork: () => () => {}, current: () => work, submitBlock: async () => ({ accepted: true }) })

  const scenarios: (FloodKind | 'none' | 'all')[] = ['none', ...FLOOD_KINDS, 'all']
  const miner = await FakeMiner.connect(port)
  await miner.handshake('acct.legit')
  const job = await miner.nextNotify()
  // Every share found before any timing: finding them costs CPU.
  let en2 = 0
  const found = scenarios.map(() =>
    Array.from({ length: shares }, () => {
      const extranonce2 = Buffer.alloc(miner.extranonce2Size)
      extranonce2.writeUInt32BE(++en2, extranonce2.length - 4)
      return miner.findShare(job, { extranonce2 })
    }),
  )

  const rows: { scenario: string; p50: number; p99: number; max: number; accepted: number; floodConnects: number; floodMiB: number }[] = []
  const self = fileURLToPath(import.meta.url)
  for (const [i, scenario] of scenarios.entries()) {
    const kinds = scenario === 'none' ? [] : scenario === 'all' ? [...FLOOD_KINDS] : [scenario]
    const stats = new Map<string, { connects: number; bytesSent: number }>()
    const children = kinds.map((kind, k) => {
      const child = fork(self, ['--flood', kind, '--port', String(port), '--address', `127.0.${10 + i}.${2 + k}`], { stdio: 'ignore' })
      child.on('message', (m: { stats: { connects: number; bytesSent: number } }) => stats.set(kind, m.stats))
      return child
    })
    await new Promise((r) => setTimeout(r, kinds.length === 0 ? 200 : warmupMs))
    const latencies: number[] = []
    let accepted = 0
    for (const params of found[i] as string[][]) {
      const start = performance.now()
      const reply = await miner.submit('acct.legit', job.jobId, params)
      latencies.push(performance.now() - start)
      if (reply.result === true) accepted++
      await new Promise((r) => setTimeout(r, intervalMs))
    }
    await Promise.all(children.map((c) => new Promise((resolve) => (c.once('exit', resolve), c.disconnect()))))
    latencies.sort((a, b) => a - b)
    const total = [...stats.values()].reduce((a, s) => ({ connects: a.connects + s.connects, bytes: a.bytes + s.bytesSent }), { connects: 0, bytes: 0 })
    rows.push({ scenario, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? NaN, accepted, floodConnects: total.connects, floodMiB: total.bytes / 2 ** 20 })
    // Let the server drop what the flood left behind before the next one.
    await new Promise((r) => setTimeout(r, 500))
  }
  miner.close()
  await server.close()

  const base = rows[0] as (typeof rows)[number]
  console.log(`submit latency of one legitimate miner (${shares} shares, one per ${intervalMs} ms); node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}`)
  console.log('\n| flood | p50 ms | p99 ms | max ms | p50 vs unloaded | p99 vs unloaded | accepted | flood connects | flood MiB sent |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const r of rows) {
    const rel = (x: number, y: number): string => (r === base ? '-' : `${x >= y ? '+' : ''}${(((x - y) / y) * 100).toFixed(0)}%`)
    console.log(
      `| ${r.scenario} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.max.toFixed(3)} | ${rel(r.p50, base.p50)} | ${rel(r.p99, base.p99)} | ${r.accepted}/${shares} | ${r.floodConnects} | ${r.floodMiB.toFixed(1)} |`,
    )
  }
}

if (values.flood !== undefined) {
  void floodChild(values.flood as FloodKind, Number(values.port), values.address ?? '127.0.0.2')
} else {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
