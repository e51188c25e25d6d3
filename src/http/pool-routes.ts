/**
 * Pool-wide read-only routes: `/healthz`, `/readyz`, `/api/pool`,
 * `/api/blocks` and `/api/sources`. Nothing here reads the config beyond
 * what it is handed: no secret (RPC credentials, admin token, miner
 * passwords) is ever in reach of a response.
 */
import type { FastifyInstance } from 'fastify'
import type { LedgerBlock } from '../ledger/index.js'
import { difficultyForTarget, targetFromBits } from '../shares/target.js'
import type { FailoverStatus } from '../jobs/failover-source.js'
import type { HttpContext } from './deps.js'
import { hashrateWindows } from './hashrate.js'

function blockView(block: LedgerBlock) {
  // bigint is not JSON: the reward goes out as a decimal string of satoshis.
  return { ...block, reward: block.reward.toString() }
}

/** `/api/sources` with a failover: its judgement of each source, the active one, the switches. */
function failoverView(status: FailoverStatus) {
  return {
    active: status.active,
    forced: status.forced,
    allUnhealthy: status.allUnhealthy,
    switches: status.switches,
    lastSwitch: status.lastSwitch,
    sources: status.sources.map((s) => ({
      name: s.name,
      priority: s.priority,
      active: s.active,
      healthy: s.healthy,
      state: s.state,
      lastError: s.lastError,
      lastWorkAt: s.lastWorkAt,
      healthySince: s.healthySince,
      unhealthySince: s.unhealthySince,
      reportsHealthy: s.health?.healthy ?? null,
      lastTemplateAt: s.health?.lastTemplateAt ?? null,
      height: s.health?.height ?? null,
    })),
  }
}

export function poolRoutes(ctx: HttpContext) {
  const { stratum, ledger, hasher, sources, failover, clock, startedAt } = ctx

  const ledgerOpen = (): boolean => ledger.database.status === 'open'

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/healthz', async () => ({ status: 'ok' }))

    app.get('/readyz', async (_request, reply) => {
      const reasons: string[] = []
      if (stratum.currentJob() === undefined) reasons.push('no job yet: no source has produced work')
      if (!ledgerOpen()) reasons.push('the ledger is not open')
      const failure = ledger.writeFailure
      if (failure !== undefined) reasons.push(`the ledger refuses writes after an I/O error (${failure}): fix the disk, then restart`)
      const foldError = ledger.stats.foldError
      if (failure === undefined && foldError !== undefined) reasons.push(`the ledger cannot write its tallies (${foldError}): shares are kept, tally reads fail until a fold succeeds`)
      if (reasons.length > 0) return reply.code(503).send({ status: 'not-ready', reasons })
      return { status: 'ready' }
    })

    app.get('/api/pool', async () => {
      const now = clock()
      const { hashrate, shares5m } = await hashrateWindows(ledger, now)
      const job = stratum.currentJob()
      const networkDifficulty = job === undefined ? null : difficultyForTarget(targetFromBits(job.work.nbits))
      const c = stratum.counters
      const rejected = Object.values(c.rejected).reduce((a, b) => a + (b ?? 0), 0)
      const miners = new Set<string>()
      for (const s of stratum.sessions) if (s.state === 'authorized') miners.add(s.address)
      const blocks24h = (await ledger.blocks()).filter((b) => b.time >= now - 86_400_000).length
      return {
        time: now,
        uptimeSeconds: Math.max(0, Math.floor((now - startedAt) / 1000)),
        hashrate,
        connections: stratum.sessions.size,
        miners: miners.size,
        sessions: stratum.sessionStates(),
        workers: [...stratum.workers.values()].filter((w) => w.sessions > 0).length,
        sharesPerMinute: shares5m / 5,
        shares: {
          accepted: c.accepted,
          rejected,
          rejectedByReason: { ...c.rejected },
          rejectPercent: c.accepted + rejected === 0 ? 0 : (100 * rejected) / (c.accepted + rejected),
        },
        network: job === undefined ? null : { height: job.work.height ?? null, difficulty: networkDifficulty, nbits: job.work.nbits.toString(16).padStart(8, '0') },
        // Solo: the expected time to a block at the last hour's hashrate
        // (network difficulty x 2^32 / hashes per second); null without either.
        nextBlockEtaSeconds: networkDifficulty === null || !(hashrate['1h'] > 0) ? null : Math.round((networkDifficulty * 2 ** 32) / hashrate['1h']),
        blocks: { found: c.blocksFound, accepted: c.blocksAccepted, rejected: c.blocksRejected, last24h: blocks24h },
        activeSource: job?.work.source ?? null,
        hasher: { backend: hasher.backend, implementation: hasher.implementation },
        ledger: { open: ledgerOpen(), queued: ledger.stats.queued },
      }
    })

    app.get('/api/blocks', async () => {
      const blocks = await ledger.blocks()
      blocks.sort((a, b) => b.time - a.time)
      return { blocks: blocks.map(blockView) }
    })

    app.get('/api/sources', async () => {
      if (failover !== undefined) return failoverView(failover.status())
      const active = stratum.currentJob()?.work.source ?? null
      return {
        active,
        sources: sources.map((s) => {
          const health = s.health?.()
          return {
            name: s.name,
            active: s.name === active,
            healthy: health?.healthy ?? null,
            lastError: health?.lastError ?? null,
            lastTemplateAt: health?.lastTemplateAt ?? null,
            height: health?.height ?? null,
          }
        }),
      }
    })
  }
}
