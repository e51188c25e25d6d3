/**
 * The whole pool (`startPool`) with every secret the config can hold: the
 * bitcoind RPC user and password, the Stratum auth password, the admin
 * token. Every admin route refuses a missing, wrong, mis-schemed,
 * lower-cased or query-string token (and does nothing); and no response
 * of any route, admin ones with the right token included, nor the
 * metrics, ever contains a secret. (http-server.test.ts checks the admin
 * token against the bare HTTP server; this is the assembled pool.)
 */
import t from 'tap'
import { join } from 'node:path'
import { request } from 'undici'
import { startPool } from '../../src/app.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/log.js'
import { FakeBitcoind } from '../helpers/fake-bitcoind.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { freePort } from '../helpers/free-port.js'
import { until } from '../helpers/until.js'

const TOKEN = 'admin-token-that-must-never-show-0123456789'
const RPC_USER = 'rpc-user-secret-name'
const RPC_PASSWORD = 'rpc-password-that-must-never-show-987654321'
const STRATUM_PASSWORD = 'stratum-password-that-must-never-show-42'
const SECRETS = [TOKEN, RPC_PASSWORD, STRATUM_PASSWORD]

const ADMIN_ROUTES: [string, string, unknown][] = [
  ['POST', '/api/admin/ban', { address: '127.0.0.9' }],
  ['POST', '/api/admin/unban', { address: '127.0.0.9' }],
  ['GET', '/api/admin/bans', undefined],
  ['POST', '/api/admin/disconnect', { worker: 'acct.rig1' }],
  ['POST', '/api/admin/sources/switch', { name: 'node' }],
  ['POST', '/api/admin/revenue', { amount_sats: '1000', from: '2026-01-01', to: '2026-01-02' }],
]
const BAD_AUTH: [string, Record<string, string>, string][] = [
  ['no header', {}, ''],
  ['wrong token', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }, ''],
  ['token with a suffix', { authorization: `Bearer ${TOKEN}0` }, ''],
  ['empty bearer', { authorization: 'Bearer ' }, ''],
  ['no scheme', { authorization: TOKEN }, ''],
  ['Basic scheme', { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }, ''],
  ['the token in the query string', {}, `?token=${TOKEN}&access_token=${TOKEN}`],
  ['the token in another header', { 'x-admin-token': TOKEN, cookie: `token=${TOKEN}` }, ''],
]

t.test('admin routes refuse every wrong way to send the token; no response holds a secret', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool', auth: { user: RPC_USER, password: RPC_PASSWORD } })
  const [stratumPort, httpPort] = [await freePort(), await freePort()]
  const config = parseConfig({
    stratum: { host: '127.0.0.1', port: stratumPort, auth: { mode: 'password', password: STRATUM_PASSWORD } },
    vardiff: { fixed_difficulty: 0.001, min_difficulty: 0.0001, start_difficulty: 0.001 },
    http: { host: '127.0.0.1', port: httpPort, admin_token: TOKEN },
    ledger: { path: join(t.testdir({}), 'ledger') },
    sources: [
      {
        type: 'bitcoind',
        name: 'node',
        network: 'regtest',
        payout_address: 'bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g',
        longpoll: false,
        nodes: [{ url: fake.url, user: RPC_USER, password: RPC_PASSWORD }],
      },
    ],
  })
  const pool = await startPool({ config, origin: { kind: 'defaults' }, log: createLogger({ level: 'silent' }) })
  t.teardown(() => pool.stop())
  const base = `http://127.0.0.1:${httpPort}`
  const bodies: string[] = []
  const call = async (method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> => {
    const res = await request(`${base}${path}`, {
      method: method as 'GET' | 'POST',
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.body.text()
    // What came back only (the request itself may carry the token on purpose).
    bodies.push(`${res.statusCode} ${JSON.stringify(res.headers)} ${text}`)
    return { status: res.statusCode, text }
  }

  // A miner with the right password, one with a wrong one.
  const miner = await FakeMiner.connect(stratumPort)
  t.teardown(() => miner.close())
  await miner.request('mining.subscribe', [])
  t.equal((await miner.request('mining.authorize', ['acct.rig1', STRATUM_PASSWORD])).result, true)
  const intruder = await FakeMiner.connect(stratumPort)
  t.teardown(() => intruder.close())
  await intruder.request('mining.subscribe', [])
  const refused = await intruder.request('mining.authorize', ['acct.rig2', `${STRATUM_PASSWORD}x`])
  t.equal(refused.result ?? null, null, 'a wrong Stratum password is refused')
  for (const secret of SECRETS) t.notOk(JSON.stringify(refused).includes(secret), 'the refusal does not echo the password')
  await until(() => pool.stratum.currentJob() !== undefined)

  for (const [method, path, body] of ADMIN_ROUTES) {
    for (const [what, headers, query] of BAD_AUTH) {
      const res = await call(method, path + query, body, headers)
      t.equal(res.status, 401, `${method} ${path}: ${what} → 401`)
    }
  }
  t.equal(pool.stratum.access.isBanned('127.0.0.9', Date.now()), false, 'no refused call had an effect')
  t.equal(pool.stratum.sessions.size, 2, 'nobody was disconnected')

  // With the token, and every read-only route: nothing secret anywhere.
  const auth = { authorization: `Bearer ${TOKEN}` }
  t.equal((await call('GET', '/api/admin/bans', undefined, auth)).status, 200, 'the right token works')
  const reads = ['/healthz', '/readyz', '/api/pool', '/api/pool/history', '/api/workers', '/api/workers/acct.rig1', '/api/blocks', '/api/sources', '/metrics', '/', '/dashboard', '/dashboard/app.js', '/api/reports/payouts.csv', '/api/nothing']
  for (const path of reads) {
    const res = await call('GET', path, undefined)
    t.ok(res.status < 500, `GET ${path}: ${res.status}`)
  }
  // Errors too: a bitcoind that refuses the credentials must not have them echoed in /api/sources.
  fake.inject('unauthorized')
  await until(() => pool.stratum.currentJob() !== undefined)
  await new Promise((r) => setTimeout(r, 1500))
  await call('GET', '/api/sources', undefined)
  await call('GET', '/readyz', undefined)
  fake.clearFaults()

  t.ok(bodies.length > 60, `${bodies.length} responses checked`)
  for (const secret of SECRETS) {
    const leaks = bodies.filter((b) => b.includes(secret))
    t.same(leaks.map((b) => b.slice(0, 80)), [], `no response contains the secret ${secret.slice(0, 12)}...`)
  }
  t.same(bodies.filter((b) => b.includes(Buffer.from(`${RPC_USER}:${RPC_PASSWORD}`).toString('base64'))), [], 'nor the RPC credentials as Basic auth')
})
