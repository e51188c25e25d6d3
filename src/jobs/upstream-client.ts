/**
 * A Stratum V1 client for one upstream pool (proxy mode): one connection,
 * made again with jittered exponential backoff whenever it drops.
 *
 * Per connection: `mining.configure` (version rolling, asking for the mask
 * Headframe grants its own miners), `mining.subscribe`, `mining.authorize`
 * with the farm's account, then `mining.extranonce.subscribe` (a pool that
 * does not know it answers an error, which is fine). It answers pings,
 * logs `client.show_message`, and follows `client.reconnect` to the same
 * host only unless told otherwise (a hijacked pool must not be able to send
 * the farm's hashrate elsewhere).
 *
 * It defends itself: a line over the size limit, a line that does not
 * decode, a job that does not parse, an impossible extranonce2 size, no
 * line at all for `idleTimeoutMs`, or a handshake that does not finish in
 * `connectTimeoutMs` ends the connection with an error the source reports
 * as its health. Nothing a pool sends can throw out of here.
 *
 * The client knows nothing of extranonce subdivision or of Work: it hands
 * typed events to its owner (src/jobs/upstream-source.ts).
 */
import { connect as netConnect, isIP, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { Logger } from '../log.js'
import { PACKAGE_VERSION } from '../package-info.js'
import { LineFramer } from '../stratum/line-framer.js'
import {
  decodePoolLine,
  encodeReply,
  encodeRequest,
  errorReason,
  parseConfigureResult,
  parseSubscribeResult,
  type PoolMessage,
  type UpstreamJob,
} from './upstream-protocol.js'

/** Longest line taken from a pool (a notify with a large coinbase and a full branch fits many times over). */
export const UPSTREAM_MAX_LINE_BYTES = 65_536
/** The longest `client.reconnect` wait honoured (s): a pool asking for more is reconnected to after this. */
const MAX_RECONNECT_WAIT_S = 300

/** Where the client connects. */
export interface UpstreamEndpoint {
  readonly host: string
  readonly port: number
  readonly tls: boolean
}

/** Parses `stratum+tcp://host:port` / `stratum+ssl://host:port`. */
export function parseStratumUrl(url: string): UpstreamEndpoint | undefined {
  const m = /^stratum\+(tcp|ssl):\/\/([^\s/:]+):(\d{1,5})$/.exec(url)
  if (m === null) return undefined
  const port = Number(m[3])
  if (port < 1 || port > 65535) return undefined
  return { host: m[2] as string, port, tls: m[1] === 'ssl' }
}

export interface UpstreamClientOptions {
  readonly name: string
  readonly endpoint: UpstreamEndpoint
  readonly user: string
  readonly password: string
  /** Version-rolling mask asked for in `mining.configure`; 0 sends no configure. */
  readonly versionMask: number
  readonly followReconnect: boolean
  readonly connectTimeoutMs: number
  readonly responseTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly reconnectMinMs: number
  readonly reconnectMaxMs: number
  /** stratum+ssl: CA certificates to trust (PEM), and whether to skip verification. */
  readonly tlsCa?: Buffer | undefined
  readonly tlsInsecure?: boolean
  readonly log: Logger
  /** Randomness for the backoff jitter (tests seed it). */
  readonly random?: () => number
}

/** What one authorized connection was given. */
export interface UpstreamSession {
  readonly extranonce1: Buffer
  readonly extranonce2Size: number
  /** Granted version-rolling mask; undefined when the pool granted none. */
  readonly versionMask: number | undefined
  /** The difficulty in force (1 until the pool says otherwise). */
  readonly difficulty: number
}

/** Events the client hands its owner, in wire order. */
export interface UpstreamClientEvents {
  /** Subscribed and authorized on a new connection. */
  ready(session: UpstreamSession): void
  job(job: UpstreamJob): void
  difficulty(difficulty: number): void
  extranonce(extranonce1: Buffer, extranonce2Size: number): void
  versionMask(mask: number): void
  /** The connection is gone (or never came up); `reason` says why. */
  down(reason: string): void
}

/** A forwarded share's answer. */
export type SubmitAnswer = { readonly accepted: true } | { readonly accepted: false; readonly reason: string }

interface Pending {
  readonly resolve: (answer: { result: unknown; error: unknown }) => void
  readonly timer: NodeJS.Timeout
}

type Phase = 'idle' | 'connecting' | 'subscribing' | 'authorizing' | 'ready'

export class UpstreamClient {
  readonly name: string
  /** Counters for stats and tests. */
  readonly counters = { connects: 0, disconnects: 0, lines: 0, garbage: 0, reconnectRequests: 0, submits: 0 }

  private readonly options: UpstreamClientOptions
  private readonly log: Logger
  private readonly random: () => number
  private endpoint: UpstreamEndpoint
  private socket: Socket | undefined
  private framer = new LineFramer({ maxLineBytes: UPSTREAM_MAX_LINE_BYTES })
  private phase: Phase = 'idle'
  private stopped = true
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private failures = 0
  private reconnectTimer: NodeJS.Timeout | undefined
  private handshakeTimer: NodeJS.Timeout | undefined
  private idleTimer: NodeJS.Timeout | undefined
  /** Jobs that came before authorize was answered (ckpool sends the first notify first). */
  private early: UpstreamJob | undefined
  private subscribe: { extranonce1: Buffer; extranonce2Size: number } | undefined
  private granted: number | undefined
  private difficulty = 1
  private downReason: string | undefined
  private events: UpstreamClientEvents

  constructor(options: UpstreamClientOptions, events: UpstreamClientEvents) {
    this.options = options
    this.name = options.name
    this.endpoint = options.endpoint
    this.log = options.log
    this.random = options.random ?? Math.random
    this.events = events
  }

  /** True once subscribed and authorized on the current connection. */
  get ready(): boolean {
    return this.phase === 'ready'
  }

  /** Where it connects now (changes when a `client.reconnect` is followed). */
  get target(): UpstreamEndpoint {
    return this.endpoint
  }

  /** Connects (and keeps reconnecting) until `stop`. */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.connect()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.reconnectTimer)
    this.teardown('stopped')
  }

  /** Ends the connection for `reason` (the owner found the pool unusable); reconnects with backoff. */
  disconnect(reason: string): void {
    if (this.socket === undefined) return
    this.log.warn({ upstream: this.name, reason }, 'upstream disconnected')
    this.teardown(reason)
    this.scheduleReconnect(this.backoff())
  }

  /** Sends `mining.submit`; resolves with the pool's answer (a timeout or a drop is a rejection). */
  async submit(params: readonly string[]): Promise<SubmitAnswer> {
    if (this.phase !== 'ready') return { accepted: false, reason: 'not-connected' }
    this.counters.submits++
    const { result, error } = await this.request('mining.submit', params, this.options.responseTimeoutMs)
    if (result === true && (error === null || error === undefined)) return { accepted: true }
    return { accepted: false, reason: errorReason(error ?? 'rejected') }
  }

  private connect(): void {
    if (this.stopped) return
    const { host, port, tls } = this.endpoint
    this.counters.connects++
    this.phase = 'connecting'
    this.framer = new LineFramer({ maxLineBytes: UPSTREAM_MAX_LINE_BYTES })
    this.subscribe = undefined
    this.granted = undefined
    this.early = undefined
    this.difficulty = 1
    this.downReason = undefined
    let socket: Socket
    try {
      socket = tls
        ? tlsConnect({
            host,
            port,
            ...(isIP(host) === 0 ? { servername: host } : {}),
            rejectUnauthorized: this.options.tlsInsecure !== true,
            ...(this.options.tlsCa !== undefined ? { ca: this.options.tlsCa } : {}),
          })
        : netConnect({ host, port })
    } catch (err) {
      this.downReason = `cannot connect to ${host}:${port}: ${(err as Error).message}`
      this.events.down(this.downReason)
      this.phase = 'idle'
      this.scheduleReconnect(this.backoff())
      return
    }
    this.socket = socket
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 30_000)
    this.handshakeTimer = setTimeout(() => this.fail(`no subscribe and authorize within ${this.options.connectTimeoutMs} ms`), this.options.connectTimeoutMs)
    this.handshakeTimer.unref()
    socket.once(tls ? 'secureConnect' : 'connect', () => this.onConnected())
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (err) => {
      this.downReason ??= `${host}:${port}: ${err.message}`
    })
    socket.on('close', () => this.onClose(socket))
  }

  private onConnected(): void {
    this.log.debug({ upstream: this.name, host: this.endpoint.host, port: this.endpoint.port }, 'upstream connected')
    this.touch()
    this.phase = 'subscribing'
    if (this.options.versionMask !== 0) {
      const mask = this.options.versionMask.toString(16).padStart(8, '0')
      void this.request('mining.configure', [['version-rolling'], { 'version-rolling.mask': mask, 'version-rolling.min-bit-count': 2 }], this.options.connectTimeoutMs).then(
        ({ result }) => {
          this.granted = parseConfigureResult(result)
          if (this.phase === 'ready' && this.granted !== undefined) this.events.versionMask(this.granted)
        },
      )
    }
    void this.request('mining.subscribe', [`headframe/${PACKAGE_VERSION}`], this.options.connectTimeoutMs).then(({ result, error }) => this.onSubscribed(result, error))
  }

  private onSubscribed(result: unknown, error: unknown): void {
    if (this.phase !== 'subscribing') return
    if (error !== null && error !== undefined) return this.fail(`mining.subscribe refused: ${errorReason(error)}`)
    const answer = parseSubscribeResult(result)
    if (typeof answer === 'string') return this.fail(answer)
    this.subscribe = answer
    this.phase = 'authorizing'
    void this.request('mining.authorize', [this.options.user, this.options.password], this.options.connectTimeoutMs).then(({ result: ok, error: err }) => {
      if (this.phase !== 'authorizing') return
      if (ok !== true) return this.fail(`mining.authorize refused for ${this.options.user}: ${errorReason(err ?? 'false')}`)
      this.onReady()
    })
  }

  private onReady(): void {
    const subscribe = this.subscribe as { extranonce1: Buffer; extranonce2Size: number }
    clearTimeout(this.handshakeTimer)
    this.phase = 'ready'
    this.failures = 0
    this.log.info(
      { upstream: this.name, extranonce1: subscribe.extranonce1.toString('hex'), extranonce2Size: subscribe.extranonce2Size, versionMask: this.granted },
      'upstream ready',
    )
    // Not every pool knows it; an error answer is fine.
    void this.request('mining.extranonce.subscribe', [], this.options.responseTimeoutMs)
    this.events.ready({ ...subscribe, versionMask: this.granted, difficulty: this.difficulty })
    const early = this.early
    this.early = undefined
    if (early !== undefined && this.phase === 'ready') this.events.job(early)
  }

  private onData(chunk: Buffer): void {
    if (this.socket === undefined) return
    const { lines, overflow } = this.framer.push(chunk)
    if (lines.length > 0) this.touch()
    for (const line of lines) {
      if (this.socket === undefined) return
      this.counters.lines++
      const decoded = decodePoolLine(line)
      if (!decoded.ok) {
        this.counters.garbage++
        return this.fail(`garbage from the pool: ${decoded.error}`)
      }
      this.handle(decoded.message)
    }
    if (overflow && this.socket !== undefined) this.fail(`a line longer than ${UPSTREAM_MAX_LINE_BYTES} bytes`)
  }

  private handle(msg: PoolMessage): void {
    switch (msg.kind) {
      case 'response': {
        const pending = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined
        if (pending === undefined) return
        this.pending.delete(msg.id as number)
        clearTimeout(pending.timer)
        return pending.resolve({ result: msg.result, error: msg.error })
      }
      case 'notify':
        if (this.phase === 'ready') return this.events.job(msg.job)
        this.early = msg.job
        return
      case 'set-difficulty':
        this.difficulty = msg.difficulty
        if (this.phase === 'ready') this.events.difficulty(msg.difficulty)
        return
      case 'set-extranonce':
        this.subscribe = { extranonce1: msg.extranonce1, extranonce2Size: msg.extranonce2Size }
        if (this.phase === 'ready') this.events.extranonce(msg.extranonce1, msg.extranonce2Size)
        return
      case 'set-version-mask':
        this.granted = msg.mask
        if (this.phase === 'ready') this.events.versionMask(msg.mask)
        return
      case 'reconnect':
        return this.onReconnectRequest(msg.host, msg.port, msg.waitSeconds)
      case 'show-message':
        this.log.info({ upstream: this.name, message: msg.message }, 'message from the upstream pool')
        return
      case 'ping':
        return this.write(encodeReply(msg.id, 'pong'))
      case 'get-version':
        return this.write(encodeReply(msg.id, `headframe/${PACKAGE_VERSION}`))
      case 'unknown':
        this.log.debug({ upstream: this.name, method: msg.method }, 'unknown method from the upstream pool')
        if (msg.id !== null) this.write(`${JSON.stringify({ id: msg.id, result: null, error: [-3, 'Method not found', null] })}\n`)
        return
    }
  }

  private onReconnectRequest(host: string | undefined, port: number | undefined, waitSeconds: number): void {
    this.counters.reconnectRequests++
    const sameHost = host === undefined || host.toLowerCase() === this.endpoint.host.toLowerCase()
    if (!sameHost && !this.options.followReconnect) {
      this.log.warn({ upstream: this.name, host, port }, 'client.reconnect to another host ignored (follow_reconnect = false)')
      return
    }
    this.endpoint = { ...this.endpoint, host: host ?? this.endpoint.host, port: port ?? this.endpoint.port }
    const wait = Math.min(waitSeconds, MAX_RECONNECT_WAIT_S) * 1000
    this.log.info({ upstream: this.name, host: this.endpoint.host, port: this.endpoint.port, waitSeconds }, 'upstream asked to reconnect')
    this.teardown(`the pool asked to reconnect to ${this.endpoint.host}:${this.endpoint.port}`)
    this.scheduleReconnect(wait)
  }

  private request(method: string, params: readonly unknown[], timeoutMs: number): Promise<{ result: unknown; error: unknown }> {
    const id = this.nextId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        resolve({ result: null, error: 'timeout' })
      }, timeoutMs)
      timer.unref()
      this.pending.set(id, { resolve, timer })
      this.write(encodeRequest(id, method, params))
    })
  }

  private write(line: string): void {
    this.socket?.write(line)
  }

  /** Any line from the pool re-arms the idle timer. */
  private touch(): void {
    if (this.idleTimer === undefined) {
      this.idleTimer = setTimeout(() => this.fail(`no line from the pool for ${this.options.idleTimeoutMs / 1000} s`), this.options.idleTimeoutMs)
      this.idleTimer.unref()
    } else {
      this.idleTimer.refresh()
    }
  }

  /** A protocol failure: log, drop the connection, come back with backoff. */
  private fail(reason: string): void {
    if (this.socket === undefined) return
    this.log.error({ upstream: this.name, reason }, 'upstream connection failed')
    this.teardown(reason)
    this.scheduleReconnect(this.backoff())
  }

  private onClose(socket: Socket): void {
    if (this.socket !== socket) return // already torn down by us
    const reason = this.downReason ?? `${this.endpoint.host}:${this.endpoint.port} closed the connection`
    this.log.warn({ upstream: this.name, reason }, 'upstream connection lost')
    this.teardown(reason)
    this.scheduleReconnect(this.backoff())
  }

  /** Forgets the connection: timers, pending requests (answered "disconnected"), the socket. */
  private teardown(reason: string): void {
    const socket = this.socket
    this.socket = undefined
    clearTimeout(this.handshakeTimer)
    clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    const wasUp = this.phase !== 'idle'
    this.phase = 'idle'
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      this.pending.delete(id)
      p.resolve({ result: null, error: 'disconnected' })
    }
    if (socket !== undefined) {
      this.counters.disconnects++
      socket.destroy()
    }
    if (wasUp || socket !== undefined) this.events.down(reason)
  }

  /** The next backoff delay: min · 2^failures, capped, jittered by ±50 %. */
  private backoff(): number {
    const { reconnectMinMs, reconnectMaxMs } = this.options
    const base = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(this.failures, 30))
    this.failures++
    return Math.round(base * (0.5 + this.random()))
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs)
    this.reconnectTimer.unref()
  }
}
