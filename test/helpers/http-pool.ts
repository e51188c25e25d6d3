/**
 * A pool with its HTTP side for the HTTP tests that only read: a real
 * Stratum server (test/helpers/server.ts) writing to a real ledger in the
 * test's folder, and the HTTP server on a free port over both, with no
 * admin token. Everything is closed at the end of the test.
 */
import type { Test } from 'tap'
import { request } from 'undici'
import { createHttpServer } from '../../src/http/index.js'
import { Ledger } from '../../src/ledger/index.js'
import { createLogger } from '../../src/log.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { startServer, type TestServer } from './server.js'

export interface HttpPool extends TestServer {
  ledger: Ledger
  /** GET on the HTTP server: status, headers and the body as text. */
  get(path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }>
}

export async function serveHttpPool(t: Test): Promise<HttpPool> {
  const ledger = await Ledger.open({ path: t.testdir(), sync: false, retentionDays: 90 })
  t.teardown(() => ledger.close())
  const pool = await startServer(t, { sink: ledger })
  const http = createHttpServer({
    stratum: pool.server,
    ledger,
    hasher: selectHasher({}),
    sources: [{ name: pool.source.name }],
    config: { host: '127.0.0.1', port: 0, admin_token: '' },
    log: createLogger({ level: 'silent' }),
    clock: () => pool.clock.now,
    startedAt: pool.clock.now,
  })
  const { port } = await http.listen()
  t.teardown(() => http.close())
  return {
    ...pool,
    ledger,
    async get(path) {
      const res = await request(`http://127.0.0.1:${port}${path}`)
      return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
    },
  }
}
