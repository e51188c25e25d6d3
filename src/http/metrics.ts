/**
 * Prometheus metrics on a registry of our own (never prom-client's global
 * one, so two pools in one process, as in tests, do not collide).
 *
 * Share and block counters follow the Stratum server: accepted shares and
 * their difficulty from its 'share' event, rejects and blocks from its
 * monotonic counters (read at scrape time, added as deltas), gauges from
 * its live state. Label cardinality is bounded: the first `maxAccounts`
 * accounts get their own `account` label, the rest share `account="other"`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Job } from '../jobs/job-book.js'
import type { ShareRecord } from '../server/stratum-server.js'
import type { HttpContext } from './deps.js'

/** Default bound on distinct `account` label values. */
export const DEFAULT_MAX_METRIC_ACCOUNTS = 100
/** The label value for accounts past the bound. */
export const OTHER_ACCOUNT = 'other'

export interface PoolMetrics {
  readonly registry: Registry
  /** Stops following the server. */
  close(): void
}

export function createMetrics(ctx: HttpContext): PoolMetrics {
  const { stratum, ledger, sources, hasher } = ctx
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const maxAccounts = ctx.maxMetricAccounts ?? DEFAULT_MAX_METRIC_ACCOUNTS
  const accounts = new Set<string>()
  const accountLabel = (account: string): string => {
    if (accounts.has(account)) return account
    if (accounts.size < maxAccounts && account !== OTHER_ACCOUNT) {
      accounts.add(account)
      return account
    }
    return OTHER_ACCOUNT
  }

  // Reject and block counts already counted, so a scrape adds only what is new.
  const seenRejected = new Map<string, number>()
  /**
   * A counter that follows running totals kept by the server (`read`), one
   * series per `result`; zero-valued series are exported too, so dashboards
   * see 0, not "no data".
   */
  const totalsCounter = <K extends string>(name: string, help: string, results: readonly K[], read: () => Record<K, number>): void => {
    const seen = Object.fromEntries(results.map((r) => [r, 0])) as Record<K, number>
    new Counter({
      name,
      help,
      labelNames: ['result'] as const,
      registers: [registry],
      collect() {
        const now = read()
        for (const result of results) {
          this.inc({ result }, Math.max(0, now[result] - seen[result]))
          seen[result] = now[result]
        }
      },
    })
  }

  new Gauge({
    name: 'headframe_connections',
    help: 'Open Stratum connections.',
    registers: [registry],
    collect() {
      this.set(stratum.sessions.size)
    },
  })
  new Gauge({
    name: 'headframe_sessions',
    help: 'Stratum sessions by state (connected, subscribed, authorized).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      for (const [state, n] of Object.entries(stratum.sessionStates())) this.set({ state }, n)
    },
  })
  new Gauge({
    name: 'headframe_workers',
    help: 'Workers the Stratum server keeps stats for (connected or seen in the last day).',
    registers: [registry],
    collect() {
      this.set(stratum.workers.size)
    },
  })
  const shares = new Counter({
    name: 'headframe_shares_total',
    help: 'Shares by result (accepted, rejected) and reject reason ("none" when accepted).',
    labelNames: ['result', 'reason'] as const,
    registers: [registry],
    collect() {
      for (const [reason, n = 0] of Object.entries(stratum.counters.rejected)) {
        const delta = n - (seenRejected.get(reason) ?? 0)
        if (delta > 0) this.inc({ result: 'rejected', reason }, delta)
        seenRejected.set(reason, n)
      }
    },
  })
  const difficulty = new Counter({
    name: 'headframe_accepted_difficulty_total',
    help: `Accepted share difficulty by account (at most ${maxAccounts} accounts, then "${OTHER_ACCOUNT}").`,
    labelNames: ['account'] as const,
    registers: [registry],
  })
  totalsCounter('headframe_blocks_total', 'Blocks found by miners (result="found"), then accepted or rejected by their source.', ['found', 'accepted', 'rejected'], () => {
    const c = stratum.counters
    return { found: c.blocksFound, accepted: c.blocksAccepted, rejected: c.blocksRejected }
  })
  totalsCounter(
    'headframe_work_paced_total',
    'New work from the source held back by the pacing before it was sent (result="delayed") or never sent, replaced while held (result="skipped"). Non-zero: a source sends work faster than 4 at once and 1 a second.',
    ['delayed', 'skipped'],
    () => ({ delayed: stratum.counters.workDelayed, skipped: stratum.counters.workSkipped }),
  )
  new Gauge({
    name: 'headframe_source_up',
    help: 'Job source health: 1 healthy, 0 not (a source without health() is up while it made the current job).',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      const active = stratum.currentJob()?.work.source
      for (const s of sources) this.set({ source: s.name }, (s.health?.().healthy ?? s.name === active) ? 1 : 0)
    },
  })
  new Gauge({
    name: 'headframe_source_healthy',
    help: 'Job source health as the failover judges it (its own report, start failures, no-work timeout, hold-down): 1 usable, 0 not.',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      const judged = ctx.failover?.status().sources
      const active = stratum.currentJob()?.work.source
      for (const s of sources) {
        const verdict = judged?.find((j) => j.name === s.name)?.healthy ?? s.health?.().healthy ?? s.name === active
        this.set({ source: s.name }, verdict ? 1 : 0)
      }
    },
  })
  new Gauge({
    name: 'headframe_source_active',
    help: 'The job source miners get work from: 1 for it, 0 for the others.',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      const active = ctx.failover !== undefined ? ctx.failover.status().active : stratum.currentJob()?.work.source
      for (const s of sources) this.set({ source: s.name }, s.name === active ? 1 : 0)
    },
  })
  const seenSwitches = new Map<string, number>()
  new Counter({
    name: 'headframe_source_switches_total',
    help: 'Failover switches of the active job source, by from (none for the first choice), to and reason (initial, unhealthy, failback, manual).',
    labelNames: ['from', 'to', 'reason'] as const,
    registers: [registry],
    collect() {
      for (const c of ctx.failover?.status().switchCounts ?? []) {
        const key = `${c.from}\u0000${c.to}\u0000${c.reason}`
        const delta = c.count - (seenSwitches.get(key) ?? 0)
        if (delta > 0) this.inc({ from: c.from, to: c.to, reason: c.reason }, delta)
        seenSwitches.set(key, c.count)
      }
    },
  })
  new Gauge({
    name: 'headframe_hasher_info',
    help: 'The share hasher in use (always 1).',
    labelNames: ['backend', 'implementation'] as const,
    registers: [registry],
  }).set({ backend: hasher.backend, implementation: hasher.implementation }, 1)
  new Gauge({
    name: 'headframe_ledger_queued',
    help: 'Accepted shares waiting for the ledger group commit.',
    registers: [registry],
    collect() {
      this.set(ledger.stats.queued)
    },
  })
  let seenUnrecorded = 0
  new Counter({
    name: 'headframe_shares_unrecorded_total',
    help: 'Valid shares the ledger could not record (disk full or read-only): the miner was told to resubmit, never "accepted".',
    registers: [registry],
    collect() {
      const n = stratum.counters.unrecorded
      this.inc(Math.max(0, n - seenUnrecorded))
      seenUnrecorded = n
    },
  })

  // Latency histograms (seconds; buckets from 0.5 ms to 10 s).
  const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]
  const submitLatency = new Histogram({
    name: 'headframe_submit_latency_seconds',
    help: 'Accepted shares: from the mining.submit line read to the share committed in the ledger and answered.',
    buckets,
    registers: [registry],
  })
  const fanout = new Histogram({
    name: 'headframe_notify_fanout_seconds',
    help: 'New work: time to hand the mining.notify to every authorized session.',
    buckets,
    registers: [registry],
  })
  const commitWrite = new Histogram({
    name: 'headframe_ledger_commit_seconds',
    help: 'Share group commits: the LevelDB write of one group.',
    buckets,
    registers: [registry],
  })

  const onShare = (share: ShareRecord): void => {
    shares.inc({ result: 'accepted', reason: 'none' })
    difficulty.inc({ account: accountLabel(share.account) }, share.difficulty)
    submitLatency.observe(Math.max(0, stratum.now() - share.time) / 1000)
  }
  const onJob = (_job: Job, _sent: number, fanoutMs: number): void => fanout.observe(fanoutMs / 1000)
  stratum.on('share', onShare)
  stratum.on('job', onJob)
  const stopCommits = ledger.onCommit((writeMs) => commitWrite.observe(writeMs / 1000))
  return {
    registry,
    close() {
      stratum.off('share', onShare)
      stratum.off('job', onJob)
      stopCommits()
    },
  }
}
