/**
 * The dashboard: one page at `/` (and `/dashboard`) with its script and
 * style sheet, uPlot served from the installed npm package (no CDN: a
 * farm's pool host often has no Internet, and the operator's browser
 * should not fetch code from elsewhere), and `/api/pool/history`, the
 * hashrate series the chart starts from.
 *
 * Files are read once, at the first request, from the package root
 * (`src/http/dashboard/`, shipped as it is: tsc does not copy non-TS
 * files, so the same path serves under tap from `src/` and in production
 * from `dist/`). Every dashboard response carries a strict Content
 * Security Policy: scripts and styles only from this origin, no inline
 * code, no frames, requests only back to this origin.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { PACKAGE_ROOT } from '../package-info.js'
import type { HttpContext } from './deps.js'
import { hashrate } from './hashrate.js'

/** The dashboard's own files (HTML, script, styles). */
export const DASHBOARD_DIR = join(PACKAGE_ROOT, 'src', 'http', 'dashboard')
/** uPlot's built files, wherever npm installed the package. */
export const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'))

/** The policy of every dashboard response. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** URL path → file and content type. */
const ASSETS: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  '/dashboard/app.js': { file: join(DASHBOARD_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: join(DASHBOARD_DIR, 'app.css'), type: 'text/css; charset=utf-8' },
  '/dashboard/uPlot.iife.min.js': { file: join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/uPlot.min.css': { file: join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
}
const PAGE = { file: join(DASHBOARD_DIR, 'index.html'), type: 'text/html; charset=utf-8' }

/** History windows the chart offers: length and bucket. */
export const HISTORY_WINDOWS = {
  '1h': { seconds: 3600, resolution: 'm' },
  '6h': { seconds: 6 * 3600, resolution: 'm' },
  '24h': { seconds: 86_400, resolution: 'm' },
  '7d': { seconds: 7 * 86_400, resolution: 'h' },
} as const satisfies Record<string, { seconds: number; resolution: 'm' | 'h' }>
export type HistoryWindow = keyof typeof HISTORY_WINDOWS

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cache-control', 'no-cache')
}

export function dashboardRoutes(ctx: HttpContext) {
  const { ledger, clock } = ctx
  const log = ctx.log.child({ component: 'dashboard' })
  const cache = new Map<string, Promise<Buffer>>()
  const load = (file: string): Promise<Buffer> => {
    let body = cache.get(file)
    if (body === undefined) {
      body = readFile(file)
      // A failed read is retried on the next request (a package being reinstalled).
      body.catch(() => cache.delete(file))
      cache.set(file, body)
    }
    return body
  }
  const send = async (reply: FastifyReply, asset: { file: string; type: string }) => {
    let body: Buffer
    try {
      body = await load(asset.file)
    } catch (err) {
      log.error({ err, file: asset.file }, 'a dashboard file is missing: is the package complete?')
      return reply.code(500).send({ error: 'internal', message: 'dashboard file missing (logged)' })
    }
    return securityHeaders(reply).type(asset.type).send(body)
  }

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/', (_request, reply) => send(reply, PAGE))
    app.get('/dashboard', (_request, reply) => send(reply, PAGE))
    for (const [path, asset] of Object.entries(ASSETS)) app.get(path, (_request, reply) => send(reply, asset))

    app.get<{ Querystring: { window?: HistoryWindow } }>(
      '/api/pool/history',
      { schema: { querystring: { type: 'object', additionalProperties: false, properties: { window: { type: 'string', enum: Object.keys(HISTORY_WINDOWS) } } } } },
      async (request) => {
        const window = request.query.window ?? '1h'
        const { seconds, resolution } = HISTORY_WINDOWS[window]
        const now = clock()
        const bucketSeconds = resolution === 'm' ? 60 : 3600
        // Whole buckets, the last one being the current (partial) one.
        const current = now - (now % (bucketSeconds * 1000))
        const points = await ledger.difficultySeries({ from: current - (seconds - bucketSeconds) * 1000, to: now + 1, resolution })
        const last = points.length - 1
        return {
          time: now,
          window,
          bucketSeconds,
          points: points.map((p, i) => {
            // The current bucket is not over: its rate is over the part elapsed (at least a second).
            const elapsed = i === last ? Math.max(1, (now - p.start) / 1000) : bucketSeconds
            return { time: p.start, shares: p.shares, difficulty: p.difficulty, hashrate: hashrate(p.difficulty, Math.min(elapsed, bucketSeconds)), partial: i === last }
          }),
        }
      },
    )
  }
}
