/**
 * The HTTP side of the pool: a fastify app with the read-only JSON API,
 * `/metrics`, and (with an admin token) the admin routes. It binds to
 * `[http] host` (loopback by default): the API is for the operator.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import { adminRoutes } from './admin-routes.js'
import { dashboardRoutes } from './dashboard-routes.js'
import type { HttpContext, HttpDeps } from './deps.js'
import { createMetrics } from './metrics.js'
import { poolRoutes } from './pool-routes.js'
import { reportRoutes } from './report-routes.js'
import { workerRoutes } from './worker-routes.js'

export interface HttpServer {
  /** Starts listening on `config.host:config.port` (0 picks a free port). */
  listen(): Promise<{ port: number }>
  /** Stops listening and stops following the Stratum server. */
  close(): Promise<void>
  readonly app: FastifyInstance
}

/** Builds the HTTP server over the running pool parts; call `listen()` to serve. */
export function createHttpServer(deps: HttpDeps): HttpServer {
  const ctx: HttpContext = { ...deps, clock: deps.clock ?? Date.now }
  const log = deps.log.child({ component: 'http' })
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024, return503OnClosing: true })
  const metrics = createMetrics(ctx)

  // One error shape: { error, message }. Validation failures are the client's: 400 with ajv's message.
  app.setErrorHandler((err: FastifyError, _request, reply) => {
    if (err.validation !== undefined) return reply.code(400).send({ error: 'bad-request', message: err.message })
    const status = err.statusCode ?? 500
    if (status >= 500) {
      log.error({ err }, 'HTTP request failed')
      return reply.code(status).send({ error: 'internal', message: 'internal error (logged)' })
    }
    return reply.code(status).send({ error: err.code ?? 'error', message: err.message })
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not-found', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` }))

  void app.register(poolRoutes(ctx))
  void app.register(workerRoutes(ctx))
  void app.register(reportRoutes(ctx))
  void app.register(dashboardRoutes(ctx))
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics()
    return reply.type(metrics.registry.contentType).send(text)
  })
  if (deps.config.admin_token !== '') void app.register(adminRoutes(ctx), { prefix: '/api/admin' })

  let closed: Promise<void> | undefined
  return {
    app,
    async listen() {
      await app.listen({ host: deps.config.host, port: deps.config.port })
      const port = (app.server.address() as AddressInfo).port
      return { port }
    },
    close() {
      closed ??= (async () => {
        metrics.close()
        await app.close()
      })()
      return closed
    },
  }
}
