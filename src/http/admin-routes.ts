/**
 * Admin routes under `/api/admin/`: ban and unban an address, list bans,
 * disconnect a worker, force a work source. Registered only when `admin_token` is set (else
 * they 404), and every request needs `Authorization: Bearer <token>`.
 */
import { isIP } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { normalizeAddress } from '../server/access-control.js'
import { bearerChecker } from './bearer-auth.js'
import type { HttpContext } from './deps.js'
import { registerRevenueRoute } from './report-routes.js'
import { WORKER_NAME_SCHEMA } from './worker-routes.js'

/** Longest ban the API accepts: a year. */
const MAX_BAN_SECONDS = 365 * 86_400

const addressBody = {
  type: 'object',
  required: ['address'],
  additionalProperties: false,
  properties: {
    address: { type: 'string', minLength: 2, maxLength: 64 },
    seconds: { type: 'integer', minimum: 1, maximum: MAX_BAN_SECONDS },
  },
} as const

interface AddressBody {
  address: string
  seconds?: number
}

export function adminRoutes(ctx: HttpContext) {
  const { stratum, clock } = ctx
  const authorized = bearerChecker(ctx.config.admin_token)
  const log = ctx.log.child({ component: 'http-admin' })

  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', async (request, reply) => {
      if (!authorized(request.headers.authorization)) {
        log.warn({ address: request.ip, url: request.url }, 'admin request refused: missing or wrong bearer token')
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid "Authorization: Bearer <admin_token>" header is required' })
      }
    })

    /** The address as the Stratum server keys it (IPv4, or an IPv6 /64), or a 400 message. */
    const parseAddress = (address: string): string | { message: string } => {
      if (isIP(address) === 0) return { message: `address must be an IPv4 or IPv6 address, got ${JSON.stringify(address)}` }
      return normalizeAddress(address)
    }

    app.post<{ Body: AddressBody }>('/ban', { schema: { body: addressBody } }, async (request, reply) => {
      const address = parseAddress(request.body.address)
      if (typeof address !== 'string') return reply.code(400).send({ error: 'bad-request', ...address })
      const now = clock()
      const seconds = request.body.seconds ?? stratum.limits.ban_seconds
      if (!stratum.access.ban(address, now, seconds)) {
        return reply.code(409).send({ error: 'trusted', message: `${address} is in trusted_cidrs and cannot be banned` })
      }
      let disconnected = 0
      for (const session of [...stratum.sessions]) {
        if (session.address === address) {
          session.close('banned')
          disconnected++
        }
      }
      log.warn({ address, seconds, disconnected }, 'address banned by admin')
      return { address, until: now + seconds * 1000, disconnected }
    })

    app.post<{ Body: AddressBody }>('/unban', { schema: { body: addressBody } }, async (request, reply) => {
      const address = parseAddress(request.body.address)
      if (typeof address !== 'string') return reply.code(400).send({ error: 'bad-request', ...address })
      const unbanned = stratum.access.unban(address)
      log.info({ address, unbanned }, 'address unbanned by admin')
      return { address, unbanned }
    })

    app.get('/bans', async () => ({ bans: stratum.access.bannedAddresses(clock()) }))

    registerRevenueRoute(app, ctx)

    // Forces a work source (docs/failover.md) until cleared with null or until it goes unhealthy.
    app.post<{ Body: { name: string | null } }>(
      '/sources/switch',
      { schema: { body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: ['string', 'null'], minLength: 1, maxLength: 64 } } } } },
      async (request, reply) => {
        if (ctx.failover === undefined) return reply.code(409).send({ error: 'no-failover', message: 'this pool runs no failover between configured sources' })
        const result = ctx.failover.switchTo(request.body.name)
        if (!result.ok) return reply.code(result.error === 'unknown-source' ? 404 : 409).send({ error: result.error, message: result.message })
        log.warn({ forced: result.forced, active: result.active }, result.forced === null ? 'source forcing cleared by admin' : `source ${result.forced} forced by admin`)
        return { active: result.active, forced: result.forced }
      },
    )

    app.post<{ Body: { worker: string } }>(
      '/disconnect',
      { schema: { body: { type: 'object', required: ['worker'], additionalProperties: false, properties: { worker: WORKER_NAME_SCHEMA } } } },
      async (request) => {
        const disconnected = stratum.kick(request.body.worker)
        log.info({ worker: request.body.worker, disconnected }, 'worker disconnected by admin')
        return { worker: request.body.worker, disconnected }
      },
    )
  }
}
