/**
 * Block change to `mining.notify`: the time from a new block announced by
 * ZMQ `hashblock` to the last clean `mining.notify`, for 1, 1,000 and
 * 10,000 Stratum sessions (issue 4).
 *
 *   npm run build:ts && npm run bench:notify
 *   node dist/scripts/bench-notify.js [--sessions 1,1000,10000] [--blocks 10] [--warmup 3]
 *                                     [--template big-template] [--children 1] [--json]
 *                                     [--fanout-threads N]  (0: socket.write per session, no native batch)
 *
 * Three kinds of process, all on 127.0.0.1:
 *
 * - this one, the pool: a real TemplateSource (ZMQ `hashblock` subscriber,
 *   getblocktemplate over HTTP with the real RPC client) attached to a real
 *   StratumServer, exactly as `headframe run` wires them, logging silenced;
 * - a fake bitcoind (this script again, `--role bitcoind`): the test
 *   helper's JSON-RPC node serving a regtest fixture template, and the ZMQ
 *   publisher. Per block it mines a block (`advance()`), reads the clock and
 *   publishes `hashblock` at once, as bitcoind does after connecting a block;
 * - the client generator (scripts/notify-clients.ts, `--children` of them):
 *   the Stratum sessions, subscribed and authorized, each noting when the
 *   clean notify arrived.
 *
 * Times are `process.hrtime.bigint()` everywhere: CLOCK_MONOTONIC, one clock
 * for every process of the machine, so the publish time read in the
 * bitcoind process is subtracted directly from times read in the others
 * (no sync step, ns resolution; what remains is each process's own delay in
 * getting to read it).
 *
 * Per block: publish -> getblocktemplate sent -> answer parsed -> work
 * built (coinbase, merkle branch) -> the server's fan-out loop done (its
 * 'job' event: every session's socket.write returned) -> the clean notify
 * read by the last client. docs/benchmarks.md has the results.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { Publisher } from 'zeromq'
import { BitcoindClient } from '../src/bitcoind/index.js'
import { parseConfig } from '../src/config/index.js'
import { addressToScript } from '../src/jobs/address.js'
import { FoundBlockStore } from '../src/jobs/found-blocks.js'
import type { Job } from '../src/jobs/job-book.js'
import { TemplateSource } from '../src/jobs/template-source.js'
import { createLogger } from '../src/log.js'
import { FixedDifficulty } from '../src/server/difficulty-control.js'
import { StratumServer } from '../src/server/stratum-server.js'
import { selectHasher } from '../src/shares/hasher.js'
import { FakeBitcoind, FIXTURE_NAMES, loadFixture, type FixtureName } from '../test/helpers/fake-bitcoind.js'
import { freePort } from '../test/helpers/free-port.js'
import type { FromClients, ToClients } from './notify-clients.js'

const PAYOUT = 'bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g'
/** A whole run stops by itself after this, whatever happens. */
const WATCHDOG_MS = 5 * 60_000
/** The most sessions one generator process is given (its own open-file cap is 20,000). */
const MAX_PER_CHILD = 15_000
const MAX_SESSIONS = 19_000
/** Client source addresses 127.0.0.2 .. 127.0.0.(1 + this). */
const SOURCE_ADDRESSES = 40
const SETTLE_MS = 150

const now = (): bigint => process.hrtime.bigint()
const ms = (from: bigint, to: bigint): number => Number(to - from) / 1e6

// ---- the fake bitcoind process ---------------------------------------------

type ToNode = { type: 'block' } | { type: 'exit' }
type FromNode = { type: 'ready'; rpc: ReturnType<FakeBitcoind['clientOptions']>; zmq: string } | { type: 'published'; at: string; height: number }

async function runNode(template: FixtureName): Promise<void> {
  const fixture = loadFixture(template)
  const fake = await FakeBitcoind.start({ template: fixture.getblocktemplate })
  const port = await freePort()
  const pub = new Publisher()
  const zmq = `tcp://127.0.0.1:${port}`
  await pub.bind(zmq)
  let sequence = 0
  const reply = (m: FromNode): void => void process.send?.(m)
  // Leaves with its temporary datadir removed, also when the pool goes away.
  const exit = (): void => {
    pub.close()
    setTimeout(() => process.exit(0), 2000).unref()
    void fake.close().finally(() => process.exit(0))
  }
  process.on('message', (m: ToNode) => {
    if (m.type === 'exit') return exit()
    const [hash] = fake.advance()
    const seq = Buffer.alloc(4)
    seq.writeUInt32LE(sequence++ >>> 0)
    // bitcoind publishes right after the block is connected: the clock starts here.
    const at = now()
    void pub.send(['hashblock', Buffer.from(hash as string, 'hex'), seq]).then(() => reply({ type: 'published', at: at.toString(), height: fake.template.height }))
  })
  process.on('disconnect', exit)
  setTimeout(() => process.exit(2), WATCHDOG_MS + 30_000).unref()
  reply({ type: 'ready', rpc: fake.clientOptions(), zmq })
}

// ---- the pool process ---------------------------------------------------------

interface Options {
  sessions: number[]
  blocks: number
  warmup: number
  template: FixtureName
  children: number
  json: boolean
  /** The server's batched fan-out threads; 0 turns the batch off; undefined: the server's default. */
  fanoutThreads: number | undefined
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = { sessions: [1, 1000, 10_000], blocks: 10, warmup: 3, template: 'big-template', children: 1, json: false, fanoutThreads: undefined }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new UsageError(`${arg} needs a value`)
      return v
    }
    const int = (v: string, min: number, max: number): number => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${arg}: an integer in ${min}..${max}, not ${v}`)
      return n
    }
    switch (arg) {
      case '--sessions':
        o.sessions = value()
          .split(',')
          // The pool process holds one socket per session under a 20,000 open-file cap.
          .map((s) => int(s.trim(), 1, MAX_SESSIONS))
        break
      case '--blocks':
        o.blocks = int(value(), 1, 1000)
        break
      case '--warmup':
        o.warmup = int(value(), 0, 100)
        break
      case '--children':
        o.children = int(value(), 1, 8)
        break
      case '--template': {
        const t = value()
        if (!(FIXTURE_NAMES as readonly string[]).includes(t)) throw new UsageError(`--template: one of ${FIXTURE_NAMES.join(', ')}`)
        o.template = t as FixtureName
        break
      }
      case '--json':
        o.json = true
        break
      case '--fanout-threads':
        o.fanoutThreads = int(value(), 0, 64)
        break
      case '--help':
      case '-h':
        console.log('node dist/scripts/bench-notify.js [--sessions 1,1000,10000] [--blocks 10] [--warmup 3] [--template big-template] [--children 1] [--json] [--fanout-threads N]')
        process.exit(0)
        break
      default:
        throw new UsageError(`unknown argument ${arg} (--help)`)
    }
  }
  const most = Math.max(...o.sessions)
  if (Math.ceil(most / o.children) > MAX_PER_CHILD) throw new UsageError(`${most} sessions need --children ${Math.ceil(most / MAX_PER_CHILD)} or more`)
  return o
}

/** One block change, ms after the ZMQ publish. */
interface Sample {
  /** The source sent getblocktemplate (ZMQ delivery and the subscriber's loop). */
  gbtSent: number
  /** The template answer parsed and checked. */
  gbtAnswered: number
  /** The source handed the work to the server (coinbase, merkle branch built). */
  workReady: number
  /** The fan-out loop finished: every session's socket.write returned (server side). */
  written: number
  sent: number
  /** Clean notify read by the first, median and last client (client side). */
  clientFirst: number
  clientMedian: number
  clientLast: number
  missing: number
  /** GC pauses of the pool process between publish and fan-out done. */
  gcMs: number
}

interface Result {
  sessions: number
  samples: Sample[]
  /** The pool's event-loop delay over the measured blocks (ms). */
  loopDelayMaxMs: number
  loopDelayP99Ms: number
  /**
   * User CPU of every other process of the machine while the blocks were
   * measured, in % of one core (Linux /proc; undefined elsewhere): the VM is
   * shared, and this says how quiet it was.
   */
  othersCpuPercent: number | undefined
}

/** Machine-wide user+nice ticks and our processes' user ticks (Linux). */
function cpuTicks(pids: readonly number[]): { machine: number; ours: number; at: bigint } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/) ?? []
    const machine = Number(fields[1]) + Number(fields[2])
    let ours = 0
    for (const pid of pids) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      // After the command name: state is field 3, utime field 14.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ours += Number(rest[11])
    }
    return Number.isFinite(machine + ours) ? { machine, ours, at: now() } : undefined
  } catch {
    return undefined
  }
}

/** % of one core used by other processes between two `cpuTicks` (USER_HZ = 100). */
function othersCpu(a: ReturnType<typeof cpuTicks>, b: ReturnType<typeof cpuTicks>): number | undefined {
  if (a === undefined || b === undefined) return undefined
  const seconds = ms(a.at, b.at) / 1000
  return Math.max(0, (b.machine - a.machine - (b.ours - a.ours)) / 100 / seconds) * 100
}

/** Nearest-rank quantile. */
function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN
}

/** Request/response over a child's IPC channel: the next message matching `match`. */
function nextMessage<T>(child: ChildProcess, match: (m: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', on)
      reject(new Error(`${what}: no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    const on = (m: unknown): void => {
      if ((m as { type?: string }).type === 'error') {
        clearTimeout(timer)
        child.off('message', on)
        reject(new Error(`${what}: ${(m as { message: string }).message}`))
      } else if (match(m as T)) {
        clearTimeout(timer)
        child.off('message', on)
        resolve(m as T)
      }
    }
    child.on('message', on)
  })
}

async function runPool(o: Options): Promise<void> {
  const children: ChildProcess[] = []
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  }
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130))
  setTimeout(() => {
    console.error(`bench-notify: still running after ${WATCHDOG_MS / 1000} s, giving up`)
    process.exit(1)
  }, WATCHDOG_MS).unref()

  const self = fileURLToPath(import.meta.url)
  const nodeChild = fork(self, ['--role', 'bitcoind', o.template], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.push(nodeChild)
  const nodeReady = await nextMessage<FromNode>(nodeChild, (m) => m.type === 'ready', 30_000, 'fake bitcoind start')
  if (nodeReady.type !== 'ready') throw new Error('unreachable')

  // The pool, wired as `headframe run` wires it.
  const log = createLogger({ level: 'silent' })
  const hasher = selectHasher({})
  const dir = mkdtempSync(join(tmpdir(), 'bench-notify-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  const rpc = new BitcoindClient({ ...nodeReady.rpc, retry: { retries: 0 } })
  const marks = { gbtSent: 0n, gbtAnswered: 0n, workReady: 0n }
  const getBlockTemplate = rpc.getBlockTemplate.bind(rpc)
  rpc.getBlockTemplate = async (...args: Parameters<typeof getBlockTemplate>) => {
    marks.gbtSent = now()
    const template = await getBlockTemplate(...args)
    marks.gbtAnswered = now()
    return template
  }
  const config = parseConfig({ stratum: { host: '127.0.0.1', limits: { max_connections_per_ip: 0 } } })
  const source = new TemplateSource({
    name: 'bitcoind',
    network: 'regtest',
    nodes: [rpc],
    payoutScript: addressToScript(PAYOUT, 'regtest'),
    tag: '/headframe/',
    extranonceSize: config.stratum.extranonce1_size + config.stratum.extranonce2_size,
    versionMask: config.stratum.version_mask,
    refreshMs: 3_600_000,
    pollMs: 3_600_000,
    longpoll: false,
    zmqHashblock: nodeReady.zmq,
    blocks: await FoundBlockStore.open(join(dir, 'found-blocks.jsonl')),
    sha256d: hasher.sha256d,
    log,
  })
  // Registered before the server's listener: called first, when the work is ready.
  source.onWork(() => (marks.workReady = now()))
  const fanout = o.fanoutThreads === undefined ? {} : o.fanoutThreads === 0 ? { fanout: false as const } : { fanout: { threads: o.fanoutThreads } }
  // Work pacing off (the server's default is 4 pieces at once, then 1 a second, work-pacer.ts): this
  // bench changes blocks every ~250 ms, faster than any chain, and measures each change on its own.
  const workPacing = { burst: Number.MAX_SAFE_INTEGER, intervalMs: 1 }
  const server = new StratumServer({ config: { ...config.stratum, port: 0 }, hasher, log, difficulty: () => new FixedDifficulty(1), workPacing, ...fanout })
  const { port } = await server.listen()
  await source.start()
  await waitFor(() => source.current() !== undefined, 30_000, 'the first template')
  server.attachSource(source)

  let lastJob: { job: Job; sent: number; at: bigint } | undefined
  server.on('job', (job: Job, sent: number) => {
    lastJob = { job, sent, at: now() }
  })
  const gcPauses: { start: number; end: number }[] = []
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, end: e.startTime + e.duration })
  })
  gc.observe({ entryTypes: ['gc'] })
  /** hrtime (ns) of performance.now() == 0. */
  const perfOrigin = now() - BigInt(Math.round(performance.now() * 1e6))
  const perfMs = (t: bigint): number => Number(t - perfOrigin) / 1e6

  /** Mines a block and publishes hashblock; resolves once the server fanned out its clean job. */
  const blockChange = async (timeoutMs = 10_000): Promise<{ publishedAt: bigint; job: Job; sent: number; at: bigint }> => {
    lastJob = undefined
    const answer = nextMessage<FromNode>(nodeChild, (m) => m.type === 'published', timeoutMs, 'publish')
    nodeChild.send({ type: 'block' } satisfies ToNode)
    const published = await answer
    if (published.type !== 'published') throw new Error('unreachable')
    await waitFor(() => lastJob !== undefined && lastJob.job.work.cleanJobs && lastJob.job.work.height === published.height, timeoutMs, `the clean job of block ${published.height}`)
    const done = lastJob as unknown as { job: Job; sent: number; at: bigint }
    return { publishedAt: BigInt(published.at), ...done }
  }

  // The ZMQ subscriber joins in the background: publish until it hears one.
  for (let attempt = 0; ; attempt++) {
    try {
      await blockChange(250)
      break
    } catch (err) {
      if (attempt >= 40) throw err
    }
  }

  const generators: ChildProcess[] = []
  const clientsScript = join(fileURLToPath(new URL('.', import.meta.url)), 'notify-clients.js')
  for (let i = 0; i < o.children; i++) {
    const child = fork(clientsScript, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children.push(child)
    generators.push(child)
  }
  const addresses = Array.from({ length: SOURCE_ADDRESSES }, (_, i) => `127.0.0.${i + 2}`)

  const results: Result[] = []
  for (const sessions of o.sessions) {
    // Grow (or shrink) the clients to `sessions`, split across the generators.
    await Promise.all(
      generators.map((child, i) => {
        const count = Math.floor(sessions / o.children) + (i < sessions % o.children ? 1 : 0)
        const ready = nextMessage<FromClients>(child, (m) => m.type === 'ready', 120_000, `${sessions} sessions`)
        child.send({ type: 'resize', port, count, addresses: addresses.filter((_, k) => k % o.children === i) } satisfies ToClients)
        return ready
      }),
    )
    await waitFor(() => server.sessionStates().authorized === sessions && server.sessions.size === sessions, 30_000, `${sessions} authorized sessions`)
    if (!o.json) process.stderr.write(`${sessions} sessions: `)

    const samples: Sample[] = []
    const loop = monitorEventLoopDelay({ resolution: 1 })
    const pids = [process.pid, ...children.map((c) => c.pid ?? 0)]
    let cpuBefore: ReturnType<typeof cpuTicks>
    for (let b = 0; b < o.warmup + o.blocks; b++) {
      await sleep(SETTLE_MS)
      if (b === o.warmup) {
        loop.enable()
        cpuBefore = cpuTicks(pids)
      }
      const change = await blockChange()
      const since = change.publishedAt
      const collected = await Promise.all(
        generators.map((child) => {
          const answer = nextMessage<FromClients>(child, (m) => m.type === 'collected' && m.jobId === change.job.id, 30_000, 'collect')
          child.send({ type: 'collect', jobId: change.job.id, since: since.toString(), timeoutMs: 10_000 } satisfies ToClients)
          return answer
        }),
      )
      if (b < o.warmup) continue
      let clientFirst = Infinity
      let clientLast = -Infinity
      let missing = 0
      const medians: number[] = []
      for (const c of collected) {
        if (c.type !== 'collected') continue
        missing += c.missing
        if (c.received === 0) continue
        clientFirst = Math.min(clientFirst, c.firstMs)
        clientLast = Math.max(clientLast, c.lastMs)
        medians.push(c.medianMs)
      }
      const [from, to] = [perfMs(since), perfMs(change.at)]
      const gcMs = gcPauses.reduce((sum, p) => sum + Math.max(0, Math.min(p.end, to) - Math.max(p.start, from)), 0)
      samples.push({
        gbtSent: ms(since, marks.gbtSent),
        gbtAnswered: ms(since, marks.gbtAnswered),
        workReady: ms(since, marks.workReady),
        written: ms(since, change.at),
        sent: change.sent,
        clientFirst,
        // With several generators, the median of their medians (exact with one).
        clientMedian: quantile(medians, 0.5),
        clientLast,
        missing,
        gcMs,
      })
      if (!o.json) process.stderr.write('.')
    }
    loop.disable()
    const othersCpuPercent = othersCpu(cpuBefore, cpuTicks(pids))
    if (!o.json) process.stderr.write('\n')
    results.push({ sessions, samples, loopDelayMaxMs: loop.max / 1e6, loopDelayP99Ms: loop.percentile(99) / 1e6, othersCpuPercent })
  }
  gc.disconnect()

  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    kernel: release(),
    loadAverage1m: loadavg()[0] ?? NaN,
  }
  if (o.json) {
    console.log(JSON.stringify({ machine, options: o, results }, null, 2))
  } else {
    printTables(machine, o, results)
  }

  for (const child of generators) child.send({ type: 'exit' } satisfies ToClients)
  await server.close()
  await source.stop()
  nodeChild.send({ type: 'exit' } satisfies ToNode)
  const exited = (c: ChildProcess): Promise<void> =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => c.once('exit', () => resolve()))
  // Children that do not leave within 5 s are killed by the 'exit' handler.
  await Promise.race([Promise.all(children.map(exited)), sleep(5000)])
  process.exit(results.some((r) => r.samples.some((s) => s.missing > 0 || s.sent !== r.sessions)) ? 1 : 0)
}

function printTables(machine: { cpu: string; cores: number; node: string; kernel: string; loadAverage1m: number }, o: Options, results: Result[]): void {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-')
  const pad = (s: string, n: number): string => s.padStart(n)
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, Linux ${machine.kernel}, load average (1 min) ${machine.loadAverage1m.toFixed(2)} at the end`)
  console.log(
    `processes: the pool (this one), a fake bitcoind + ZMQ publisher (1 process), ${o.children} client generator${o.children > 1 ? 's' : ''}; ` +
      `template ${o.template}; ${o.blocks} measured blocks after ${o.warmup} warm-up per row; p99 is nearest-rank (with fewer than 100 blocks it is the max or next to it); ` +
      `fan-out: ${o.fanoutThreads === undefined ? 'server default' : o.fanoutThreads === 0 ? 'socket.write per session' : `native batch, ${o.fanoutThreads} threads`}`,
  )
  console.log('')
  console.log('ZMQ hashblock published -> clean mining.notify, ms')
  console.log('                 server: last notify written      clients: last notify read')
  console.log(`${pad('sessions', 8)}   ${['p50', 'p99', 'max'].map((h) => pad(h, 9)).join('')}     ${['p50', 'p99', 'max'].map((h) => pad(h, 9)).join('')}`)
  for (const r of results) {
    const w = r.samples.map((s) => s.written)
    const c = r.samples.map((s) => s.clientLast)
    console.log(
      `${pad(String(r.sessions), 8)}   ${[quantile(w, 0.5), quantile(w, 0.99), Math.max(...w)].map((x) => pad(f(x), 9)).join('')}     ${[quantile(c, 0.5), quantile(c, 0.99), Math.max(...c)].map((x) => pad(f(x), 9)).join('')}`,
    )
  }
  console.log('')
  console.log('Where the time goes: medians over the blocks, ms after the publish (cumulative), and the pool process')
  const heads = ['gbt sent', 'gbt parsed', 'work built', 'fan-out', 'written', 'µs/session', 'client 1st', 'client p50', 'client last', 'GC in it', 'loop max', 'loop p99', 'others %']
  console.log(`${pad('sessions', 8)} ${heads.map((h) => pad(h, 12)).join('')}`)
  for (const r of results) {
    const med = (k: keyof Sample): number => quantile(r.samples.map((s) => s[k]), 0.5)
    const fanout = quantile(
      r.samples.map((s) => s.written - s.workReady),
      0.5,
    )
    const row = [med('gbtSent'), med('gbtAnswered'), med('workReady'), fanout, med('written'), r.sessions >= 100 ? (fanout * 1000) / r.sessions : NaN, med('clientFirst'), med('clientMedian'), med('clientLast'), med('gcMs'), r.loopDelayMaxMs, r.loopDelayP99Ms, r.othersCpuPercent ?? NaN]
    console.log(`${pad(String(r.sessions), 8)} ${row.map((x) => pad(f(x), 12)).join('')}`)
  }
  console.log(
    [
      '',
      'gbt sent: the source sent getblocktemplate (ZMQ delivery, the subscriber loop); gbt parsed: the answer received, parsed and checked;',
      'work built: coinbase, merkle branch, transaction data, handed to the server; fan-out: from there to the end of the loop writing every',
      'session (server side: written); µs/session: fan-out / sessions (rows of 100+); client 1st/p50/last: when the clean notify was read',
      "by the first, median and last client; GC in it: the pool's GC pauses between publish and written; loop max/p99: the pool's event-loop",
      'delay over the measured blocks (ms); others %: user CPU of every other process on the machine meanwhile, in % of one core.',
    ].join('\n'),
  )
  const missing = results.reduce((n, r) => n + r.samples.reduce((m, s) => m + s.missing, 0), 0)
  if (missing > 0) console.log(`\nWARNING: ${missing} clean notifies never arrived`)
}

function sleep(msec: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msec))
}

/** Polls `done` every millisecond until true, or fails after `timeoutMs`. */
async function waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(1)
  }
}

const argv = process.argv.slice(2)
const main = async (): Promise<void> => (argv[0] === '--role' && argv[1] === 'bitcoind' ? runNode(argv[2] as FixtureName) : runPool(parseArgs(argv)))
main().catch((err: unknown) => {
  const text = err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)
  console.error(`bench-notify: ${text}`)
  process.exit(1)
})
