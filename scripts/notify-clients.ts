/**
 * The Stratum client generator of `bench-notify` (a child process: the
 * 10,000 client sockets cannot share the server's open-file limit).
 *
 * Forked by scripts/bench-notify.ts with an IPC channel; not meant to be run
 * by hand. Each client connects over TCP, sends `mining.subscribe` and
 * `mining.authorize` back to back and is ready once its first job arrived.
 * From then on it only remembers, per socket, the id of the latest clean
 * `mining.notify` and when it arrived (`process.hrtime.bigint()`, Linux's
 * CLOCK_MONOTONIC, the same clock in every process of the machine, so the
 * parent's publish time can be subtracted directly).
 *
 * Messages (parent -> child):
 * - `{ type: 'resize', port, count, addresses }`: open or close clients until
 *   `count` are connected and authorized, then `{ type: 'ready', count }`.
 *   New clients take their source address round robin from `addresses`
 *   (127.0.0.x), so no address runs out of ephemeral ports.
 * - `{ type: 'collect', jobId, since, timeoutMs }`: waits until every client
 *   has the clean notify `jobId` (or the timeout), then answers
 *   `{ type: 'collected', ... }` with the receipt times in ms after `since`
 *   (a hrtime in ns, as a string).
 * - `{ type: 'exit' }`: closes everything and exits.
 *
 * It exits by itself when the parent goes away (IPC disconnect) and after
 * `HARD_LIMIT_MS` whatever happens.
 */
import { connect, type Socket } from 'node:net'

const HARD_LIMIT_MS = 10 * 60_000
/** Connections in flight at once while growing (keeps the server's accept backlog and SYN queue calm). */
const CONNECT_CONCURRENCY = 256
const NOTIFY_PREFIX = '{"id":null,"method":"mining.notify","params":["'

export type ToClients =
  | { type: 'resize'; port: number; count: number; addresses: string[] }
  | { type: 'collect'; jobId: string; since: string; timeoutMs: number }
  | { type: 'exit' }

export type FromClients =
  | { type: 'ready'; count: number }
  | { type: 'collected'; jobId: string; received: number; missing: number; firstMs: number; medianMs: number; lastMs: number }
  | { type: 'error'; message: string }

interface Client {
  socket: Socket
  buffer: string
  authorized: boolean
  hasJob: boolean
  cleanJob: string
  cleanAt: bigint
  ready: Promise<void>
}

const clients: Client[] = []
let nextAddress = 0
/** Called after each clean notify while a collect waits. */
let onClean: (() => void) | undefined

function send(message: FromClients): void {
  process.send?.(message)
}

function openClient(port: number, localAddress: string | undefined): Client {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true, ...(localAddress === undefined ? {} : { localAddress }) })
  let resolveReady!: () => void
  let rejectReady!: (err: Error) => void
  const client: Client = {
    socket,
    buffer: '',
    authorized: false,
    hasJob: false,
    cleanJob: '',
    cleanAt: 0n,
    ready: new Promise<void>((resolve, reject) => {
      resolveReady = resolve
      rejectReady = reject
    }),
  }
  socket.once('connect', () => {
    socket.write('{"id":1,"method":"mining.subscribe","params":["bench-notify/1.0"]}\n{"id":2,"method":"mining.authorize","params":["bench.c","x"]}\n')
  })
  socket.on('data', (chunk: Buffer) => {
    // The time first: everything below is this process's own work.
    const at = process.hrtime.bigint()
    client.buffer += chunk.toString('latin1')
    let nl: number
    while ((nl = client.buffer.indexOf('\n')) >= 0) {
      const line = client.buffer.slice(0, nl)
      client.buffer = client.buffer.slice(nl + 1)
      if (line.startsWith(NOTIFY_PREFIX)) {
        if (line.endsWith('true]}')) {
          client.cleanJob = line.slice(NOTIFY_PREFIX.length, line.indexOf('"', NOTIFY_PREFIX.length))
          client.cleanAt = at
        }
        if (!client.hasJob && client.authorized) {
          client.hasJob = true
          resolveReady()
        }
        if (onClean !== undefined) onClean()
      } else if (!client.authorized && line.includes('"id":2')) {
        const reply = JSON.parse(line) as { result?: unknown; error?: unknown }
        if (reply.result !== true) rejectReady(new Error(`authorize refused: ${JSON.stringify(reply.error)}`))
        client.authorized = true
      }
    }
  })
  socket.on('error', (err) => rejectReady(err))
  socket.on('close', () => rejectReady(new Error('connection closed before the first job')))
  return client
}

async function resize(port: number, count: number, addresses: string[]): Promise<void> {
  while (clients.length > count) clients.pop()?.socket.destroy()
  const added: Client[] = []
  while (clients.length + added.length < count) {
    // Bounded concurrency: at most CONNECT_CONCURRENCY clients handshaking at once.
    const batch = Math.min(CONNECT_CONCURRENCY, count - clients.length - added.length)
    const opened: Client[] = []
    for (let i = 0; i < batch; i++) {
      const address = addresses.length === 0 ? undefined : addresses[nextAddress++ % addresses.length]
      opened.push(openClient(port, address))
    }
    await Promise.all(opened.map((c) => c.ready))
    added.push(...opened)
  }
  clients.push(...added)
}

function quantile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN
}

function collect(jobId: string, since: bigint, timeoutMs: number): Promise<FromClients> {
  return new Promise((resolve) => {
    const missing = (): number => {
      let n = 0
      for (const c of clients) if (c.cleanJob !== jobId) n++
      return n
    }
    let waiting = missing()
    const finish = (): void => {
      clearTimeout(timer)
      onClean = undefined
      const times: number[] = []
      for (const c of clients) if (c.cleanJob === jobId) times.push(Number(c.cleanAt - since) / 1e6)
      times.sort((a, b) => a - b)
      resolve({
        type: 'collected',
        jobId,
        received: times.length,
        missing: clients.length - times.length,
        firstMs: times[0] ?? NaN,
        medianMs: quantile(times, 0.5),
        lastMs: times[times.length - 1] ?? NaN,
      })
    }
    const timer = setTimeout(finish, timeoutMs)
    if (waiting === 0) return finish()
    // Recount only now and then: a full scan per notify would be quadratic.
    let seen = 0
    onClean = () => {
      if (++seen < waiting) return
      seen = 0
      waiting = missing()
      if (waiting === 0) finish()
    }
  })
}

process.on('message', (message: ToClients) => {
  switch (message.type) {
    case 'resize':
      resize(message.port, message.count, message.addresses).then(
        () => send({ type: 'ready', count: clients.length }),
        (err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
      )
      break
    case 'collect':
      void collect(message.jobId, BigInt(message.since), message.timeoutMs).then(send)
      break
    case 'exit':
      for (const c of clients) c.socket.destroy()
      process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))
setTimeout(() => process.exit(2), HARD_LIMIT_MS).unref()
