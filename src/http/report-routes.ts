/**
 * Report downloads, `GET /api/reports/<name>.csv|json?from=&to=[&account=]`
 * (the same reports as `headframe report`, built by src/reports), and the
 * admin route that records upstream revenue, `POST /api/admin/revenue`
 * (the same as `headframe ledger add-revenue`), which the CLI uses while
 * the pool holds the ledger's lock.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { MAX_MONEY_SATS } from '../payouts/amount.js'
import { REPORT_CONTENT_TYPES, ReportQueryError, buildReport, parseReportTime, renderReport, reportQuery, type ReportFormat } from '../reports/index.js'
import type { HttpContext } from './deps.js'

interface ReportQueryString {
  from?: string
  to?: string
  account?: string
}

const badRequest = (reply: FastifyReply, message: string): FastifyReply => reply.code(400).send({ error: 'bad-request', message })

/** `GET /api/reports/:file`, read-only like the rest of the API. */
export function reportRoutes(ctx: HttpContext) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { file: string }; Querystring: ReportQueryString }>('/api/reports/:file', async (request, reply) => {
      const match = /^([a-z]+)\.(csv|json)$/.exec(request.params.file)
      if (match === null) return reply.code(404).send({ error: 'not-found', message: 'reports are /api/reports/<payouts|workers|blocks|shares>.<csv|json>' })
      const { from, to, account } = request.query
      if (typeof from !== 'string' || typeof to !== 'string') return badRequest(reply, 'from and to are required (YYYY-MM-DD or ISO 8601)')
      const format = match[2] as ReportFormat
      try {
        const query = reportQuery({ name: match[1] as string, from, to, account: typeof account === 'string' ? account : undefined })
        const text = renderReport(await buildReport(ctx.ledger, query), format)
        const file = `headframe-${query.name}-${new Date(query.from).toISOString().slice(0, 10)}-${new Date(query.to).toISOString().slice(0, 10)}.${format}`
        return reply.type(REPORT_CONTENT_TYPES[format]).header('content-disposition', `attachment; filename="${file}"`).send(text)
      } catch (err) {
        if (err instanceof ReportQueryError) return badRequest(reply, err.message)
        throw err
      }
    })
  }
}

interface RevenueBody {
  amount_sats: string | number
  from: string
  to: string
  note?: string
}

const revenueBody = {
  type: 'object',
  required: ['amount_sats', 'from', 'to'],
  additionalProperties: false,
  properties: {
    amount_sats: { anyOf: [{ type: 'string', pattern: '^[1-9][0-9]{0,15}$' }, { type: 'integer', minimum: 1 }] },
    from: { type: 'string', maxLength: 40 },
    to: { type: 'string', maxLength: 40 },
    note: { type: 'string', maxLength: 1000 },
  },
} as const

/** Registers `POST /revenue` inside the admin plugin (bearer token checked there). */
export function registerRevenueRoute(app: FastifyInstance, ctx: HttpContext): void {
  const log = ctx.log.child({ component: 'http-admin' })
  app.post<{ Body: RevenueBody }>('/revenue', { schema: { body: revenueBody } }, async (request, reply) => {
    const body = request.body
    let input: { amountSats: bigint; from: number; to: number; note?: string }
    try {
      const amountSats = BigInt(body.amount_sats)
      if (amountSats < 1n || amountSats > MAX_MONEY_SATS) throw new ReportQueryError(`amount_sats must be 1 to ${MAX_MONEY_SATS}`)
      input = { amountSats, from: parseReportTime(body.from, 'from'), to: parseReportTime(body.to, 'to'), ...(body.note === undefined ? {} : { note: body.note }) }
      if (input.to <= input.from) throw new ReportQueryError('to must be after from')
    } catch (err) {
      // The schema admits only digits and strings, so only the checks above can fail here.
      return badRequest(reply, (err as Error).message)
    }
    // Validated above: only a write failure can throw now (500, logged).
    const record = await ctx.ledger.addUpstreamRevenue(input)
    log.info({ id: record.id, amountSats: record.amountSats.toString(), from: input.from, to: input.to }, 'upstream revenue recorded')
    return { id: record.id, amount_sats: record.amountSats.toString(), from: new Date(record.from).toISOString(), to: new Date(record.to).toISOString(), note: record.note ?? null, recorded_at: new Date(record.recordedAt).toISOString() }
  })
}
