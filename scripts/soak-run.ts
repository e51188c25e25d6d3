/**
 * The soak run behind `npm run soak` (scripts/soak.ts) and its short CI
 * variant (test/soak/soak.test.ts): a whole pool, the Stratum server with
 * vardiff and a real LevelDB ledger as its share sink, under many miner
 * sessions that find and submit real shares, with block changes every few
 * minutes. Every report period it samples RSS, heap, active handles, open
 * file descriptors, ledger size and share counts; at the end it closes
 * everything and samples the handles again, so a leak shows as a count
 * that does not come back to its baseline.
 *
 * Time is compressed where Headframe takes a clock: the server (vardiff,
 * timeouts) and the ledger (share times, retention) run on a clock going
 * `speed` times faster than the wall clock, so an hour of vardiff windows
 * and a day of retention pruning fit into minutes. Sockets and the group
 * commit run on real time.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseConfig } from '../src/config/index.js'
import { Ledger } from '../src/ledger/index.js'
import { createLogger } from '../src/log.js'
import { selectHasher } from '../src/shares/hasher.js'
import { StratumServer } from '../src/server/stratum-server.js'
import { Vardiff } from '../src/vardiff/index.js'
import type { Work } from '../src/jobs/work.js'
import type { WorkListener } from '../src/jobs/job-source.js'
import { FakeMiner } from '../test/helpers/fake-miner.js'
import { fixtureWork } from './fuzz-session.js'

export interface SoakOptions {
  readonly sessions: number
  readonly seconds: number
  /** Ledger folder (created). */
  readonly ledgerPath: string
  /** Clock speed-up for the server and the ledger. Default 1. */
  readonly speed?: number
  /** A new block every this many wall-clock seconds. Default 120. */
  readonly blockEveryS?: number
  /** Sample every this many wall-clock seconds. Default 60. */
  readonly reportS?: number
  /** Mean wall-clock ms between one session's submits. Default 2000. */
  readonly shareIntervalMs?: number
  /**
   * Starts the miners elsewhere (scripts/soak.ts: child processes) and
   * returns how to stop them; by default they run in this process (`SoakMiners`).
   */
  readonly startMiners?: (port: number, sessions: number, intervalMs: number) => Promise<() => Promise<void>>
  /** Called with each sample as it is taken. */
  readonly onSample?: (sample: SoakSample) => void
}

export interface SoakSample {
  /** Wall-clock seconds since the start. */
  readonly t: number
  /** Simulated hours since the start (the compressed clock). */
  readonly simHours: number
  readonly sessions: number
  readonly accepted: number
  readonly rejected: number
  readonly unrecorded: number
  readonly blocks: number
  readonly rssMiB: number
  readonly heapMiB: number
  /** Active libuv handles and requests other than timers. */
  readonly handles: number
  readonly fds: number
  readonly ledgerMiB: number
  readonly medianDifficulty: number
}

export interface SoakReport {
  readonly samples: SoakSample[]
  readonly accepted: number
  readonly rejected: Record<string, number>
  /** Sessions closed, by reason (the miners' own closes at the end included). */
  readonly closed: Record<string, number>
  /** Shares in the ledger at the end (pruned ones excluded: with a compressed clock, retention may prune). */
  readonly ledgerShares: number
  readonly pruned: number
  readonly baseline: { readonly handles: Record<string, number>; readonly fds: number }
  readonly afterClose: { readonly handles: Record<string, number>; readonly fds: number }
}

/** Active resources by type, timers left out (a closed session's 5 s flush guard may still be pending, unref'd). */
export function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of process.getActiveResourcesInfo()) if (r !== 'Timeout' && r !== 'Immediate') counts[r] = (counts[r] ?? 0) + 1
  return counts
}

export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return -1 // not Linux
  }
}

function dirBytes(dir: string): number {
  let total = 0
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return 0 // not created yet, or removed by the caller
  }
  for (const name of names) {
    try {
      total += statSync(join(dir, name)).size
    } catch {
      // a LevelDB file removed by compaction meanwhile
    }
  }
  return total
}

/** A job source for the soak: the fixture work, a new block on `next()`. */
class SoakSource {
  readonly name = 'soak'
  private listeners = new Set<WorkListener>()
  private work: Work = fixtureWork()

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  onWork(listener: WorkListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
  current(): Work {
    return this.work
  }
  next(): void {
    const height = (this.work.height ?? 0) + 1
    const prevHash = Buffer.alloc(32)
    prevHash.writeUInt32LE(height, 0)
    this.work = { ...this.work, prevHash, height, ntime: this.work.ntime + 600, cleanJobs: true }
    for (const l of this.listeners) l(this.work)
  }
  async submitBlock(): Promise<{ accepted: true }> {
    return { accepted: true }
  }
}

/** Miner sessions in this process: each finds a real share for the latest job at its difficulty and submits it, about every `intervalMs`. */
export class SoakMiners {
  private readonly miners: FakeMiner[] = []
  private stopped = false
  readonly stats = { sessions: 0, submitted: 0, closed: 0 }

  constructor(
    private readonly port: number,
    private readonly count: number,
    private readonly intervalMs: number,
    private readonly first = 0,
  ) {}

  async start(): Promise<void> {
    const batch = 50
    for (let i = 0; i < this.count && !this.stopped; i += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, this.count - i) }, (_, k) => this.session(this.first + i + k)))
    }
  }

  private async session(n: number): Promise<void> {
    const miner = await FakeMiner.connect(this.port)
    this.miners.push(miner)
    const worker = `acct${n % 20}.rig${n}`
    await miner.handshake(worker)
    this.stats.sessions++
    let en2 = 0
    let job: ReturnType<FakeMiner['lastNotify']>
    const loop = (): void => {
      if (this.stopped || miner.closed) {
        if (miner.closed) this.stats.closed++
        return
      }
      // The latest notify, kept apart: the trimming below may drop it from `received`.
      job = miner.lastNotify() ?? job
      if (job !== undefined) {
        const extranonce2 = Buffer.alloc(miner.extranonce2Size)
        extranonce2.writeUInt32BE(++en2, extranonce2.length - 4)
        miner.send('mining.submit', [worker, job.jobId, ...miner.findShare(job, { extranonce2 })])
        this.stats.submitted++
      }
      // Keep the miner's own memory flat over hours: only recent messages matter.
      if (miner.received.length > 64) miner.received.splice(0, miner.received.length - 16)
      setTimeout(loop, this.intervalMs * (0.5 + Math.random()))
    }
    setTimeout(loop, Math.random() * this.intervalMs)
  }

  async stop(): Promise<void> {
    this.stopped = true
    await Promise.all(
      this.miners.map(
        (m) =>
          new Promise<void>((resolve) => {
            if (m.closed) return resolve()
            m.socket.once('close', () => resolve())
            m.close()
          }),
      ),
    )
  }
}

/** Miners in this process; resolves once they are connecting, with how to stop them. */
async function startInProcess(port: number, sessions: number, intervalMs: number): Promise<() => Promise<void>> {
  const miners = new SoakMiners(port, sessions, intervalMs)
  const started = miners.start()
  return async () => {
    await started
    await miners.stop()
  }
}

/** Runs the soak (see the module comment). */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const speed = options.speed ?? 1
  const reportMs = (options.reportS ?? 60) * 1000
  const start = Date.now()
  const clock = (): number => start + (Date.now() - start) * speed
  const baseline = { handles: resourceCounts(), fds: openFds() }

  // Retention of one (simulated) day: with speed 60, pruning starts after 24 wall-clock minutes.
  const ledger = await Ledger.open({ path: options.ledgerPath, sync: false, retentionDays: 1, clock, pruneIntervalMs: 60_000 })
  // Timeouts stretched by the speed-up: they are about real miners' silences, which are not compressed here.
  const limits = { max_connections_per_ip: 100_000, auth_timeout_s: Math.min(3600, 60 * speed), idle_timeout_s: Math.min(86_400, 900 * speed) }
  const config = parseConfig({ stratum: { host: '127.0.0.1', limits } }).stratum
  const vardiff = { startDifficulty: 1e-7, minDifficulty: 1e-9, maxDifficulty: 1e-6, targetInterval: 5 }
  const server = new StratumServer({
    config: { ...config, port: 0 },
    hasher: selectHasher({}),
    log: createLogger({ level: 'silent' }),
    difficulty: (now) => new Vardiff(vardiff, now),
    shareSink: ledger,
    clock,
    tickMs: 1000,
  })
  const { port } = await server.listen()
  const source = new SoakSource()
  server.attachSource(source)

  const interval = options.shareIntervalMs ?? 2000
  const stopMiners = (options.startMiners ?? startInProcess)(port, options.sessions, interval)

  const samples: SoakSample[] = []
  const sample = (): void => {
    const memory = process.memoryUsage()
    const difficulties = [...server.sessions].map((s) => s.difficulty).sort((a, b) => a - b)
    const c = server.counters
    const s: SoakSample = {
      t: Math.round((Date.now() - start) / 1000),
      simHours: Math.round(((clock() - start) / 3_600_000) * 100) / 100,
      sessions: server.sessions.size,
      accepted: c.accepted,
      rejected: Object.values(c.rejected).reduce((a, b) => a + (b ?? 0), 0),
      unrecorded: c.unrecorded,
      blocks: (source.current().height ?? 0) - (fixtureWork().height ?? 0),
      rssMiB: Math.round(memory.rss / 2 ** 20),
      heapMiB: Math.round(memory.heapUsed / 2 ** 20),
      handles: Object.values(resourceCounts()).reduce((a, b) => a + b, 0),
      fds: openFds(),
      ledgerMiB: Math.round((dirBytes(options.ledgerPath) / 2 ** 20) * 10) / 10,
      medianDifficulty: difficulties[Math.floor(difficulties.length / 2)] ?? NaN,
    }
    samples.push(s)
    options.onSample?.(s)
  }
  const sampler = setInterval(sample, reportMs)
  const blocks = setInterval(() => source.next(), (options.blockEveryS ?? 120) * 1000)
  await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000))
  clearInterval(blocks)
  clearInterval(sampler)
  sample()

  // Close everything; then the handles must be back to the baseline.
  await (await stopMiners)()
  await server.close()
  await ledger.flush()
  // Counted with no pruner running: a prune during the count (every minute, on the
  // wall clock) deleted shares the count's snapshot still saw, and both counted them.
  await ledger.close()
  const pruned = ledger.stats.pruned
  const reader = await Ledger.open({ path: options.ledgerPath, sync: false, retentionDays: 1, clock, pruneIntervalMs: 0 })
  let ledgerShares = 0
  for await (const share of reader.sharesBetween(0, 2 ** 48 - 1)) ledgerShares += share.difficulty > 0 ? 1 : 0
  await reader.close()
  // Sockets finish closing on the next turns of the event loop.
  for (let i = 0; i < 200 && openFds() > baseline.fds; i++) await new Promise((r) => setTimeout(r, 10))
  const rejected: Record<string, number> = {}
  for (const [k, v] of Object.entries(server.counters.rejected)) rejected[k] = v ?? 0
  const closed: Record<string, number> = {}
  for (const [k, v] of Object.entries(server.counters.closed)) closed[k] = v ?? 0
  return { samples, accepted: server.counters.accepted, rejected, closed, ledgerShares, pruned, baseline, afterClose: { handles: resourceCounts(), fds: openFds() } }
}
