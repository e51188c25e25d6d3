/**
 * The floor for `bench-load --bare` (scripts/bench-load.ts): a bare Node
 * Stratum responder in place of the pool. It speaks just enough of the
 * handshake for the load generator (configure, subscribe, authorize, one
 * set_difficulty and notify), then answers every `mining.submit` with
 * `true` at once: no decode beyond the id, no share check, no vardiff, no
 * ledger. One write per socket per read, as the pool's answers go out one
 * write per session per tick.
 *
 * What it measures is what Node's socket I/O costs on this machine at the
 * generator's rate (reads, framing, one write per answer on loopback), so
 * that the pool's numbers can be read against it: the pool's CPU above this
 * floor is its own work. Same IPC protocol as scripts/bench-pool.ts (ready,
 * block, stats, exit; no heap snapshot); not meant to be run by hand.
 */
import { createServer, type Socket } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { randomBytes } from 'node:crypto'
import type { FromPool, PoolRunnerOptions, PoolStats, ToPool } from './bench-pool.js'

const HARD_LIMIT_MS = 20 * 60_000

/** Reads `"id":<digits>` at the start of a request line; -1 when it is not there. */
function leadingId(line: string): number {
  if (!line.startsWith('{"id":')) return -1
  let id = 0
  let i = 6
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i) - 48
    if (c < 0 || c > 9) break
    id = id * 10 + c
  }
  return i === 6 ? -1 : id
}

/** The answer to one request line of the load generator, and whether it was an authorize (work follows). */
function answerTo(line: string, extranonce1: string): { reply: string; authorized: boolean } | undefined {
  const id = leadingId(line)
  if (id < 0) return undefined
  if (line.includes('"mining.submit"')) return { reply: `{"id":${id},"result":true,"error":null}\n`, authorized: false }
  if (line.includes('"mining.configure"')) {
    return { reply: `{"id":${id},"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}\n`, authorized: false }
  }
  if (line.includes('"mining.subscribe"')) {
    return { reply: `{"id":${id},"result":[[["mining.set_difficulty","b"],["mining.notify","b"]],"${extranonce1}",8],"error":null}\n`, authorized: false }
  }
  if (line.includes('"mining.authorize"')) return { reply: `{"id":${id},"result":true,"error":null}\n`, authorized: true }
  return { reply: `{"id":${id},"result":true,"error":null}\n`, authorized: false }
}

/** A notify of the size of the pool's (12 branch levels, a coinbase of about 100 bytes). */
function notifyLine(jobId: number, prevHash: string, clean: boolean, branch: number): string {
  const branches = Array.from({ length: branch }, () => `"${randomBytes(32).toString('hex')}"`)
  const coinb1 = '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1703'
  const coinb2 = 'ffffffff0100f2052a010000001976a914000000000000000000000000000000000000000088ac00000000'
  return `{"id":null,"method":"mining.notify","params":["${jobId.toString(16)}","${prevHash}","${coinb1}","${coinb2}",[${branches.join(',')}],"20000000","1d00ffff","${Math.floor(Date.now() / 1000).toString(16)}",${clean}]}\n`
}

async function main(options: PoolRunnerOptions): Promise<void> {
  setTimeout(() => process.exit(2), HARD_LIMIT_MS).unref()
  const sockets = new Set<Socket>()
  let nextSession = 0
  let answered = 0
  let jobId = 1
  let notify = notifyLine(jobId, randomBytes(32).toString('hex'), true, options.branch)
  const difficulty = `{"id":null,"method":"mining.set_difficulty","params":[${options.difficulty}]}\n`
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    const extranonce1 = (nextSession++ >>> 0).toString(16).padStart(8, '0')
    let rest = ''
    socket.on('data', (chunk: Buffer) => {
      const text = rest + chunk.toString('latin1')
      let out = ''
      let start = 0
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        const a = answerTo(text.slice(start, nl), extranonce1)
        start = nl + 1
        if (a === undefined) continue
        out += a.reply
        if (a.authorized) out += difficulty + notify
        else answered++
      }
      rest = text.slice(start)
      if (out !== '') socket.write(out)
    })
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const send = (m: FromPool): void => void process.send?.(m)
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  process.on('message', (m: ToPool) => {
    if (m.type === 'exit') {
      for (const s of sockets) s.destroy()
      server.close()
      return void process.exit(0)
    }
    if (m.type === 'block') {
      notify = notifyLine(++jobId, randomBytes(32).toString('hex'), true, options.branch)
      for (const s of sockets) s.write(notify)
      return send({ type: 'block-done', jobId: jobId.toString(16) })
    }
    if (m.type === 'heap-snapshot') return send({ type: 'error', message: 'bench-bare: no heap snapshot' })
    const mem = process.memoryUsage()
    const stats: PoolStats = {
      type: 'stats',
      pid: process.pid,
      sessions: sockets.size,
      authorized: sockets.size,
      accepted: answered,
      rejected: {},
      closed: {},
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      externalBytes: mem.external + mem.arrayBuffers,
      groups: 0,
      groupItems: 0,
      events: 0,
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
      commitWriteMaxMs: 0,
      commitWaitMaxMs: 0,
      commitWriteP50Ms: 0,
      commitWriteP99Ms: 0,
      recordedP50Ms: 0,
      recordedP99Ms: 0,
    }
    send(stats)
    loop.reset()
  })
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready', port, pid: process.pid, hasher: 'none (bare responder)' })
}

main(JSON.parse(process.argv[2] ?? '{}') as PoolRunnerOptions).catch((err: unknown) => {
  process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromPool)
  process.exit(1)
})
