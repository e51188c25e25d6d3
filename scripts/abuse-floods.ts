/**
 * Hostile clients for the flood tests (test/server/floods.test.ts) and the
 * abuse benchmark (scripts/bench-abuse.ts): each flood runs from its own
 * loopback address (127.0.0.x, so per-address limits apply to it and not to
 * the legitimate miner), speaks raw TCP, and stops cleanly.
 *
 * - `connections`: opens sockets as fast as it can, reopening refused ones;
 * - `slowloris`: many connections, each sending a never-ending line one
 *   byte at a time;
 * - `huge-line`: 10 MB without a newline, again and again;
 * - `idle`: connects and says nothing;
 * - `share-flood`: a subscribed, authorized session sending submits as
 *   fast as the socket takes them, for a job that does not exist (the
 *   cheapest refusal; the submit-rate limit is what must stop it);
 * - `invalid-shares`: the same for the current job with nonces that fail
 *   the share check (each one hashed; the invalid-ratio limit stops it);
 * - `authorize-flood`: connections sending authorize with random names,
 *   hanging up after 20 and reconnecting (new names each time).
 */
import { connect, type Socket } from 'node:net'

export const FLOOD_KINDS = ['connections', 'slowloris', 'huge-line', 'idle', 'share-flood', 'invalid-shares', 'authorize-flood'] as const
export type FloodKind = (typeof FLOOD_KINDS)[number]

export interface FloodOptions {
  readonly port: number
  /** Source address (127.0.0.x). */
  readonly localAddress: string
  /** Connections to keep (connections, slowloris, idle, authorize-flood). Default 200. */
  readonly connections?: number
}

/** What a running flood did so far. */
export interface FloodStats {
  connects: number
  /** Connections that ended (by the server, or by the flood itself to come back). */
  closed: number
  bytesSent: number
  linesSent: number
}

export interface Flood {
  readonly kind: FloodKind
  readonly stats: FloodStats
  stop(): Promise<void>
}

const SUBMIT_WORKER = 'flood.rig'

/** Starts a flood of `kind`. */
export function startFlood(kind: FloodKind, options: FloodOptions): Flood {
  const stats: FloodStats = { connects: 0, closed: 0, bytesSent: 0, linesSent: 0 }
  const sockets = new Set<Socket>()
  let stopped = false
  const timers: NodeJS.Timeout[] = []
  const want = options.connections ?? 200

  const open = (onConnect: (s: Socket) => void, reopen: boolean): void => {
    if (stopped) return
    const socket = connect({ port: options.port, host: '127.0.0.1', localAddress: options.localAddress })
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('data', () => {}) // read what the server says, so its FIN is seen
    socket.on('connect', () => {
      stats.connects++
      onConnect(socket)
    })
    socket.on('close', () => {
      sockets.delete(socket)
      if (stopped) return
      stats.closed++
      // Come back (a little later: a refused connect is instant and would spin).
      if (reopen) timers.push(setTimeout(() => open(onConnect, reopen), 5))
    })
  }
  const write = (socket: Socket, text: string | Buffer): boolean => {
    if (socket.destroyed) return false
    stats.bytesSent += text.length
    return socket.write(text)
  }

  switch (kind) {
    case 'connections':
      for (let i = 0; i < want; i++) open(() => {}, true)
      break
    case 'idle':
      for (let i = 0; i < want; i++) open(() => {}, false)
      break
    case 'slowloris': {
      const line = `{"id":1,"method":"mining.subscribe","params":["${'s'.repeat(100_000)}`
      const at = new Map<Socket, number>()
      for (let i = 0; i < want; i++) open((s) => at.set(s, 0), true)
      const drip = setInterval(() => {
        for (const [s, i] of at) {
          if (s.destroyed) {
            at.delete(s)
            continue
          }
          write(s, line[i % line.length] as string)
          at.set(s, i + 1)
        }
      }, 10)
      timers.push(drip)
      break
    }
    case 'huge-line': {
      const chunk = Buffer.alloc(64 * 1024, 0x61)
      const pump = (s: Socket): void => {
        let sent = 0
        const more = (): void => {
          while (sent < 10 * 1024 * 1024 && !s.destroyed) {
            sent += chunk.length
            if (!write(s, chunk)) return void s.once('drain', more)
          }
        }
        more()
      }
      for (let i = 0; i < Math.min(want, 4); i++) open(pump, true)
      break
    }
    case 'share-flood':
    case 'invalid-shares': {
      const pump = (s: Socket): void => {
        write(s, `{"id":1,"method":"mining.subscribe","params":["flood/1"]}\n{"id":2,"method":"mining.authorize","params":["${SUBMIT_WORKER}","x"]}\n`)
        let n = 0
        let job = 'unknown'
        // invalid-shares: the current job (found in the notify); share-flood: a job id that never existed.
        if (kind === 'invalid-shares') {
          s.on('data', (d: Buffer) => {
            const m = /"method":"mining\.notify","params":\["([^"]+)"/.exec(d.toString())
            if (m?.[1] !== undefined) job = m[1]
          })
        }
        const more = (): void => {
          while (!s.destroyed && !stopped) {
            n++
            const nonce = (n >>> 0).toString(16).padStart(8, '0')
            stats.linesSent++
            if (!write(s, `{"id":${n + 2},"method":"mining.submit","params":["${SUBMIT_WORKER}","${job}","00000000000000000000000000000000","6b09bced","${nonce}"]}\n`)) {
              return void s.once('drain', more)
            }
            if (n % 256 === 0) return void setImmediate(more)
          }
        }
        setImmediate(more)
      }
      open(pump, true)
      break
    }
    case 'authorize-flood': {
      const pump = (s: Socket): void => {
        let n = 0
        const more = (): void => {
          if (s.destroyed || stopped) return
          const name = `${Math.random().toString(36).slice(2)}.${Math.random().toString(36).slice(2)}`
          stats.linesSent++
          write(s, `{"id":${++n},"method":"mining.authorize","params":["${name}","${Math.random()}"]}\n`)
          // A connection may authorize 16 workers: hang up after 20 and come back with new names.
          if (n % 20 === 0) return void setTimeout(() => s.destroy(), 5)
          setImmediate(more)
        }
        write(s, '{"id":0,"method":"mining.subscribe","params":[]}\n')
        more()
      }
      for (let i = 0; i < Math.min(want, 20); i++) open(pump, true)
      break
    }
  }

  return {
    kind,
    stats,
    async stop() {
      stopped = true
      for (const timer of timers) clearTimeout(timer)
      const closing = [...sockets].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : (s.once('close', () => resolve()), s.destroy()))))
      await Promise.all(closing)
    },
  }
}
