/**
 * The demo's CPU miner against a scripted Stratum pool (real TCP, the wire
 * format written by hand): its shares are real (the pool side recomputes
 * each header hash), difficulty applies from the next job, rejects and bad
 * lines are reported, not thrown.
 */
import t, { type Test } from 'tap'
import { createServer, type Socket } from 'node:net'
import { selectHasher } from '../../src/shares/hasher.js'
import { hashDifficulty } from '../../src/shares/target.js'
import { CpuMiner } from '../../src/demo/cpu-miner.js'
import { regtestCase } from '../helpers/regtest.js'
import { until } from '../helpers/until.js'

const hasher = selectHasher({})
const job = regtestCase('empty-mempool').stratum

interface Pool {
  port: number
  lines: { method: string; params: unknown[]; id: unknown }[]
  socket: () => Socket | undefined
}

/** A scripted pool: answers subscribe/authorize as told, then lets the test drive the session. */
async function scriptedPool(t: Test, answers: { subscribe?: unknown; authorize?: unknown; submit?: (params: unknown[]) => unknown }): Promise<Pool> {
  const lines: Pool['lines'] = []
  let current: Socket | undefined
  const server = createServer((socket) => {
    current = socket
    let buffer = ''
    socket.setEncoding('utf8')
    socket.on('error', () => {})
    socket.on('data', (chunk: string) => {
      buffer += chunk
      let nl: number
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffer.slice(0, nl)) as { id: unknown; method: string; params: unknown[] }
        buffer = buffer.slice(nl + 1)
        lines.push(msg)
        const reply = (result: unknown, error: unknown = null): boolean => socket.write(`${JSON.stringify({ id: msg.id, result, error })}\n`)
        if (msg.method === 'mining.subscribe') reply(answers.subscribe ?? [[['mining.notify', '1']], job.extranonce1, job.extranonce2.length / 2])
        else if (msg.method === 'mining.authorize') reply(answers.authorize ?? true)
        else if (msg.method === 'mining.submit') {
          const answer = answers.submit?.(msg.params) ?? true
          if (answer === true) reply(true)
          else reply(null, answer)
        }
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    current?.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { port: (server.address() as { port: number }).port, lines, socket: () => current }
}

const notify = (id: string, clean = true): string =>
  `${JSON.stringify({ id: null, method: 'mining.notify', params: [id, job.stratum_prevhash, job.coinb1, job.coinb2, job.merkle_branch, job.version, job.nbits, job.ntime, clean] })}\n`
const setDifficulty = (d: number): string => `${JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [d] })}\n`

/** The header a submit describes, hashed the way a pool checks it. */
function shareDifficulty(params: unknown[]): number {
  const [, , en2, ntime, nonce] = params as string[]
  const coinbase = Buffer.from(job.coinb1 + job.extranonce1 + en2 + job.coinb2, 'hex')
  const root = hasher.merkleRoot(hasher.sha256d(coinbase), Buffer.concat(job.merkle_branch.map((b) => Buffer.from(b, 'hex'))))
  const header = Buffer.alloc(80)
  header.writeUInt32LE(Number.parseInt(job.version, 16), 0)
  Buffer.from(job.stratum_prevhash, 'hex').swap32().copy(header, 4)
  root.copy(header, 36)
  header.writeUInt32LE(Number.parseInt(ntime as string, 16), 68)
  header.writeUInt32LE(Number.parseInt(job.nbits, 16), 72)
  header.writeUInt32LE(Number.parseInt(nonce as string, 16), 76)
  return hashDifficulty(hasher.sha256d(header))
}

t.test('mines real shares at the difficulty of the job, reports accepted and rejected ones', async (t) => {
  let submits = 0
  const pool = await scriptedPool(t, { submit: () => (++submits % 2 === 0 ? [23, 'Low difficulty share', null] : true) })
  const miner = new CpuMiner({ host: '127.0.0.1', port: pool.port, user: 'alice.cpu1', hashrate: 100_000, hasher, seed: 5 })
  t.teardown(() => miner.stop())
  const changes: [number, number][] = []
  const problems: Error[] = []
  const rejected: string[] = []
  miner.on('difficulty', (next: number, old: number) => changes.push([next, old]))
  miner.on('problem', (err: Error) => problems.push(err))
  miner.on('rejected', (reason: string) => rejected.push(reason))
  await miner.start()
  t.same(pool.lines.map((l) => l.method), ['mining.subscribe', 'mining.authorize'])
  t.same(pool.lines[1]?.params, ['alice.cpu1', 'x'])

  const socket = pool.socket()!
  socket.write(setDifficulty(0.00001))
  socket.write(notify('j1'))
  await until(() => miner.accepted >= 2 && miner.rejected >= 1, 30_000)
  t.same(changes, [], 'the first set_difficulty is the start, not a change')
  t.same(rejected[0], 'Low difficulty share')
  const shares = pool.lines.filter((l) => l.method === 'mining.submit')
  for (const share of shares) {
    t.equal(share.params[0], 'alice.cpu1')
    t.equal(share.params[1], 'j1')
    t.ok(shareDifficulty(share.params) >= 0.00001, 'the share really meets its difficulty')
  }
  t.equal(new Set(shares.map((s) => `${String(s.params[2])}:${String(s.params[4])}`)).size, shares.length, 'no share sent twice')

  // A new difficulty applies from the next job (here the same work re-sent under a new id).
  socket.write(setDifficulty(0.00002))
  const before = pool.lines.length
  socket.write(notify('j2', false))
  await until(() => pool.lines.slice(before).some((l) => l.method === 'mining.submit' && l.params[1] === 'j2'), 30_000)
  t.same(changes, [[0.00002, 0.00001]])
  for (const share of pool.lines.slice(before).filter((l) => l.method === 'mining.submit' && l.params[1] === 'j2')) {
    t.ok(shareDifficulty(share.params) >= 0.00002, 'j2 shares meet the new difficulty')
  }
  t.ok(miner.hashes > 0)

  socket.write('this is not json\n')
  socket.write(setDifficulty(-1))
  socket.write(`${JSON.stringify({ id: 999, result: true, error: null })}\n`)
  socket.write(`${JSON.stringify({ id: null, method: 'mining.notify', params: ['bad', 'abcd'] })}\n`)
  await until(() => problems.length === 1)
  t.match(problems[0]?.message, /not JSON/)
  t.equal(miner.difficulty, 0.00002, 'a bad difficulty is ignored')

  const closed = new Promise((resolve) => miner.once('close', resolve))
  socket.destroy()
  await closed
  t.pass('the miner notices the pool closing')
})

t.test('refused subscribe or authorize fails the start', async (t) => {
  const badSub = await scriptedPool(t, { subscribe: false })
  const a = new CpuMiner({ host: '127.0.0.1', port: badSub.port, user: 'a.b', hashrate: 1000, hasher })
  t.teardown(() => a.stop())
  await t.rejects(a.start(), /mining\.subscribe failed/)
  const badAuth = await scriptedPool(t, { authorize: false })
  const b = new CpuMiner({ host: '127.0.0.1', port: badAuth.port, user: 'a.b', hashrate: 1000, hasher })
  t.teardown(() => b.stop())
  await t.rejects(b.start(), /mining\.authorize a\.b failed/)
  t.throws(() => new CpuMiner({ host: '127.0.0.1', port: 1, user: 'a.b', hashrate: 0, hasher }), RangeError)
})
