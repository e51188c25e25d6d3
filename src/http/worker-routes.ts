/**
 * `/api/workers` and `/api/workers/:name`: per-worker hashrate windows
 * (from the ledger), live stats from the Stratum server (difficulty, last
 * share, rejects by reason, sessions with user agent and address). Worker
 * passwords are never kept by the server, so none can leak here.
 */
import type { FastifyInstance } from 'fastify'
import type { WorkerStats } from '../server/stratum-server.js'
import type { Session } from '../server/session.js'
import { parseWorkerName } from '../server/worker-name.js'
import type { HttpContext } from './deps.js'
import { HASHRATE_WINDOWS, hashrate, hashrateWindows, type HashrateWindow, type HashrateWindows } from './hashrate.js'

/** JSON schema of a worker name, as `mining.authorize` accepts it (`account[.worker]`). */
export const WORKER_NAME_SCHEMA = { type: 'string', minLength: 1, maxLength: 129, pattern: '^[A-Za-z0-9_@:-]{1,64}(\\.[A-Za-z0-9_.@:-]{1,64})?$' } as const

/** One session of a worker, as the API shows it. */
function sessionView(session: Session) {
  return {
    id: session.id,
    address: session.address,
    state: session.state,
    userAgent: session.userAgent,
    difficulty: session.difficulty,
    connectedAt: session.connectedAt,
    lastShareAt: session.lastShareAt === 0 ? null : session.lastShareAt,
    accepted: session.counters.accepted,
    rejected: session.counters.rejected,
  }
}

function rejectView(stats: WorkerStats | undefined) {
  const byReason = { ...(stats?.rejected ?? {}) }
  const rejected = Object.values(byReason).reduce((a, b) => a + (b ?? 0), 0)
  const total = rejected + (stats?.accepted ?? 0)
  return { accepted: stats?.accepted ?? 0, rejected, rejectedByReason: byReason, rejectPercent: total === 0 ? 0 : (100 * rejected) / total, upstream: upstreamView(stats) }
}

/** Proxy mode: what the upstream pool answered for this worker's forwarded shares (zeros otherwise). */
function upstreamView(stats: WorkerStats | undefined) {
  const byReason = { ...(stats?.upstreamRejected ?? {}) }
  return {
    accepted: stats?.upstreamAccepted ?? 0,
    acceptedDifficulty: stats?.upstreamAcceptedDifficulty ?? 0,
    rejected: Object.values(byReason).reduce((a, b) => a + b, 0),
    rejectedByReason: byReason,
  }
}

export function workerRoutes(ctx: HttpContext) {
  const { stratum, ledger, clock } = ctx

  const sessionsOf = (full: string): Session[] => [...stratum.sessions].filter((s) => s.worker(full) !== undefined)

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/api/workers', async () => {
      const now = clock()
      const rows = new Map<string, { account: string; worker: string; hashrate: HashrateWindows; lastShareAt: number }>()
      const row = (account: string, worker: string) => {
        const name = worker === 'default' && !stratum.workers.has(`${account}.default`) ? account : `${account}.${worker}`
        let r = rows.get(name)
        if (r === undefined) rows.set(name, (r = { account, worker, hashrate: { '5m': 0, '1h': 0, '24h': 0 }, lastShareAt: 0 }))
        return r
      }
      for (const [window, seconds] of Object.entries(HASHRATE_WINDOWS) as [HashrateWindow, number][]) {
        const { workers } = await ledger.workers({ from: now - seconds * 1000, to: now + 1 })
        for (const w of workers) {
          const r = row(w.account, w.worker)
          r.hashrate[window] = hashrate(w.difficulty, seconds)
          r.lastShareAt = Math.max(r.lastShareAt, w.lastShareAt)
        }
      }
      for (const stats of stratum.workers.values()) row(stats.account, stats.worker)
      const workers = [...rows].map(([name, r]) => {
        const stats = stratum.workers.get(name)
        const sessions = sessionsOf(name)
        const lastShareAt = Math.max(r.lastShareAt, stats?.lastShareAt ?? 0)
        return {
          name,
          account: r.account,
          worker: r.worker,
          online: sessions.length > 0,
          sessions: sessions.length,
          hashrate: r.hashrate,
          difficulty: sessions[0]?.difficulty ?? null,
          lastShareAt: lastShareAt === 0 ? null : lastShareAt,
          userAgent: sessions[0]?.userAgent ?? null,
          ...rejectView(stats),
        }
      })
      workers.sort((a, b) => a.name.localeCompare(b.name))
      return { time: now, workers }
    })

    app.get<{ Params: { name: string } }>(
      '/api/workers/:name',
      { schema: { params: { type: 'object', required: ['name'], properties: { name: WORKER_NAME_SCHEMA } } } },
      async (request, reply) => {
        const name = parseWorkerName(request.params.name)
        if (name === undefined) return reply.code(400).send({ error: 'bad-request', message: 'name must be account[.worker]' })
        const now = clock()
        const stats = stratum.workers.get(name.full)
        const { hashrate: windows, shares5m } = await hashrateWindows(ledger, now, { account: name.account, worker: name.worker })
        const sessions = sessionsOf(name.full)
        if (stats === undefined && sessions.length === 0 && windows['24h'] === 0) {
          return reply.code(404).send({ error: 'not-found', message: `no worker ${name.full} connected or seen in the last 24 h` })
        }
        return {
          time: now,
          name: name.full,
          account: name.account,
          worker: name.worker,
          online: sessions.length > 0,
          hashrate: windows,
          sharesPerMinute: shares5m / 5,
          difficulty: sessions[0]?.difficulty ?? null,
          lastShareAt: stats === undefined || stats.lastShareAt === 0 ? null : stats.lastShareAt,
          acceptedDifficulty: stats?.acceptedDifficulty ?? 0,
          blocks: stats?.blocks ?? 0,
          ...rejectView(stats),
          sessions: sessions.map(sessionView),
        }
      },
    )
  }
}
