/**
 * The pool process of `bench-load` (scripts/bench-load.ts): a real
 * Headframe pool, started by `startPool` exactly as `headframe run` starts
 * it (hasher, LevelDB ledger with group commit, Stratum server), with a
 * static work source in place of bitcoind, so that the load generator
 * measures the pool and nothing else.
 *
 * Forked by bench-load with an IPC channel; not meant to be run by hand.
 * Options come as one JSON argument (`PoolRunnerOptions`). The work is the
 * regtest `empty-mempool` fixture's coinbase with a mainnet-like network
 * target (no share is ever a block) and a synthetic merkle branch of
 * `branch` levels (12 is mainnet-like: the share check hashes one node per
 * level).
 *
 * Messages (parent -> pool):
 * - `{ type: 'block' }`: a new block (clean job on a new previous hash): the
 *   generators' earlier jobs become stale. Answers `{ type: 'block-done', jobId }`.
 * - `{ type: 'stats', gc }`: the pool's counters, sessions and memory, after
 *   a full GC when `gc` (the process runs with --expose-gc). Answers `{ type: 'stats', ... }`.
 * - `{ type: 'heap-snapshot', dir }`: writes a V8 heap snapshot into `dir`.
 * - `{ type: 'exit' }`: stops the pool (the ledger flushed), removes the
 *   temporary ledger, exits.
 * It exits by itself when the parent goes away and after `HARD_LIMIT_MS`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { writeHeapSnapshot } from 'node:v8'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { startPool, type Pool } from '../src/app.js'
import { parseConfig } from '../src/config/index.js'
import type { JobSource, WorkListener } from '../src/jobs/job-source.js'
import type { BlockCandidate, BlockSubmitResult, Work } from '../src/jobs/work.js'
import type { LogConfig } from '../src/config/index.js'
import { createLogger } from '../src/log.js'
import type { ShareRecord } from '../src/server/index.js'
import { HARD_BITS } from '../test/helpers/fixture-source.js'
import { freePort } from '../test/helpers/free-port.js'
import { regtestCase, regtestWork } from '../test/helpers/regtest.js'

const HARD_LIMIT_MS = 20 * 60_000

/** What bench-load asks of the pool. */
export interface PoolRunnerOptions {
  /** Fixed share difficulty of every session (tiny: every share meets it). */
  readonly difficulty: number
  /** Merkle branch levels of the work. */
  readonly branch: number
  readonly sync: boolean
  readonly groupCommitMs: number
  readonly groupCommitMax: number
  readonly logLevel: LogConfig['level']
}

export type ToPool = { type: 'block' } | { type: 'stats'; gc: boolean } | { type: 'heap-snapshot'; dir: string } | { type: 'exit' }

export interface PoolStats {
  type: 'stats'
  pid: number
  sessions: number
  authorized: number
  accepted: number
  rejected: Record<string, number>
  closed: Record<string, number>
  rssBytes: number
  heapUsedBytes: number
  externalBytes: number
  groups: number
  groupItems: number
  /** Rejected shares (and upstream answers) tallied by the ledger so far. */
  events: number
  /** Since the previous stats request: the pool's event-loop delay (1 ms resolution) and its share group commits. */
  loopP99Ms: number
  loopMaxMs: number
  commitWriteMaxMs: number
  commitWaitMaxMs: number
  /** The group writes' duration (main thread: batch handed to LevelDB -> its callback), p50 and p99, 0.1 ms buckets. */
  commitWriteP50Ms: number
  commitWriteP99Ms: number
  /** Since the previous stats request: accepted shares' time in the pool, from the check to the committed group (whole ms): p50, p99. */
  recordedP50Ms: number
  recordedP99Ms: number
}

export type FromPool =
  | { type: 'ready'; port: number; pid: number; hasher: string }
  | { type: 'block-done'; jobId: string }
  | { type: 'heap-snapshot'; path: string }
  | PoolStats
  | { type: 'error'; message: string }

/** A work source that serves one fixed piece of work and a new block on request. */
export class StaticSource implements JobSource {
  readonly name = 'bench'
  private readonly listeners = new Set<WorkListener>()
  private work: Work

  constructor(branch: number) {
    this.work = regtestWork(regtestCase('empty-mempool'), { source: this.name, merkleBranch: Array.from({ length: branch }, () => randomBytes(32)), nbits: HARD_BITS })
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  onWork(listener: WorkListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  current(): Work | undefined {
    return this.work
  }

  /** A new block: a clean job on a new previous hash. */
  nextBlock(): void {
    this.work = { ...this.work, prevHash: randomBytes(32), height: (this.work.height ?? 0) + 1, cleanJobs: true }
    for (const l of this.listeners) l(this.work)
  }

  async submitBlock(_candidate: BlockCandidate): Promise<BlockSubmitResult> {
    return { accepted: false, reason: 'bench: no blocks' }
  }
}

async function main(options: PoolRunnerOptions): Promise<void> {
  setTimeout(() => process.exit(2), HARD_LIMIT_MS).unref()
  const dir = mkdtempSync(join(tmpdir(), 'bench-pool-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  const config = parseConfig({
    stratum: {
      host: '127.0.0.1',
      port: await freePort(),
      limits: { max_connections_per_ip: 0, max_submits_per_second: 1_000_000, max_invalid_ratio: 1, idle_timeout_s: 3600 },
    },
    vardiff: { fixed_difficulty: options.difficulty, min_difficulty: Math.min(1, options.difficulty), start_difficulty: Math.min(1, options.difficulty) },
    ledger: { path: join(dir, 'ledger'), sync: options.sync, group_commit_ms: options.groupCommitMs, group_commit_max: options.groupCommitMax },
    http: { enabled: false },
    log: { level: options.logLevel },
  })
  const source = new StaticSource(options.branch)
  const log = createLogger(config.log, process.stderr)
  const pool: Pool = await startPool({ config, origin: { kind: 'defaults' }, log, env: process.env, source })
  const send = (m: FromPool): void => void process.send?.(m)
  // Where a slow answer waited: the event loop, or the group commit's write.
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  let commitWriteMaxMs = 0
  let commitWaitMaxMs = 0
  const writes = new Float64Array(1001)
  pool.ledger.onCommit((writeMs, oldestWaitMs) => {
    const tenths = Math.min(1000, Math.round(writeMs * 10))
    writes[tenths] = (writes[tenths] as number) + 1
    commitWriteMaxMs = Math.max(commitWriteMaxMs, writeMs)
    commitWaitMaxMs = Math.max(commitWaitMaxMs, oldestWaitMs)
  })
  // Accepted shares' time in the pool (check -> group committed), 1 ms buckets: tells the pool's part of a slow answer from the generator's and the kernel's.
  const recorded = new Float64Array(1001)
  pool.stratum.on('share', (share: ShareRecord) => {
    const ms = Math.min(1000, Math.max(0, pool.stratum.now() - share.time))
    recorded[ms] = (recorded[ms] as number) + 1
  })
  const stop = async (): Promise<void> => {
    await pool.stop().catch(() => {})
    process.exit(0)
  }
  process.on('message', (m: ToPool) => {
    if (m.type === 'exit') return void stop()
    if (m.type === 'block') {
      source.nextBlock()
      return send({ type: 'block-done', jobId: pool.stratum.currentJob()?.id ?? '' })
    }
    if (m.type === 'heap-snapshot') return send({ type: 'heap-snapshot', path: writeHeapSnapshot(join(m.dir, `pool-${process.pid}.heapsnapshot`)) })
    if (m.gc) (globalThis as { gc?: () => void }).gc?.()
    const mem = process.memoryUsage()
    const c = pool.stratum.counters
    const ledger = pool.ledger.stats
    send({
      type: 'stats',
      pid: process.pid,
      sessions: pool.stratum.sessions.size,
      authorized: pool.stratum.sessionStates().authorized,
      accepted: c.accepted,
      rejected: { ...c.rejected },
      closed: { ...c.closed },
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      externalBytes: mem.external + mem.arrayBuffers,
      groups: ledger.groups,
      groupItems: ledger.shares,
      events: ledger.events,
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
      commitWriteMaxMs,
      commitWaitMaxMs,
      commitWriteP50Ms: bucketQuantile(writes, 0.5) / 10,
      commitWriteP99Ms: bucketQuantile(writes, 0.99) / 10,
      recordedP50Ms: bucketQuantile(recorded, 0.5),
      recordedP99Ms: bucketQuantile(recorded, 0.99),
    })
    loop.reset()
    commitWriteMaxMs = 0
    commitWaitMaxMs = 0
    recorded.fill(0)
    writes.fill(0)
  })
  process.on('disconnect', () => void stop())
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop())
  send({ type: 'ready', port: pool.port, pid: process.pid, hasher: `${pool.hasher.backend} ${pool.hasher.implementation}` })
}

/** The bucket index holding quantile `q` of a histogram of counts (1 ms or 0.1 ms buckets); 0 when empty. */
function bucketQuantile(histogram: Float64Array, q: number): number {
  let total = 0
  for (const n of histogram) total += n
  let seen = 0
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms] as number
    if (total > 0 && seen >= q * total) return ms
  }
  return 0
}

main(JSON.parse(process.argv[2] ?? '{}') as PoolRunnerOptions).catch((err: unknown) => {
  process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromPool)
  console.error(`bench-pool: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exit(1)
})
