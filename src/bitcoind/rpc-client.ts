/**
 * A JSON-RPC-over-HTTP client to one bitcoind, on an undici keep-alive
 * `Pool`. Each call has a timeout; calls that only read are retried with
 * exponential backoff after a transport failure; every failure is a
 * `BitcoindError` (never a crash, never a credential in a message).
 *
 * Retries: only the methods in `IDEMPOTENT_METHODS` (reads), only after a
 * failure to get an answer (unreachable, reset, HTTP 5xx without a body,
 * unreadable JSON), never after a timeout (the timeout is the caller's
 * budget for one try) nor after an RPC error. `submitblock` is never retried
 * here: its caller decides, with `err.transport` telling "no answer" from
 * "bitcoind said no".
 */
import { Pool } from 'undici'
import { BitcoindError } from '../errors.js'
import type { Logger } from '../log.js'
import { RpcCredentials, type RpcAuth } from './auth.js'
import { interpretAnswer, transportError, type CallContext } from './rpc-answer.js'
import { abortableSleep } from '../abortable-sleep.js'

/** Methods that change nothing on the node, so a retry is always safe. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'getblocktemplate',
  'getblockchaininfo',
  'getbestblockhash',
  'getblockheader',
  'getblock',
  'getblockhash',
  'getblockcount',
  'getnetworkinfo',
  'getmininginfo',
  'getmempoolinfo',
  'uptime',
])

/** Backoff between retries: `minDelayMs * 2^n`, capped, with ±50 % jitter. */
export interface RetryOptions {
  /** Retries after the first try (default 3). */
  readonly retries?: number
  /** First delay (default 250 ms). */
  readonly minDelayMs?: number
  /** Largest delay (default 2000 ms). */
  readonly maxDelayMs?: number
}

export interface RpcClientOptions {
  /** `http://host:port[/path]`. Credentials in the URL are used as user/password (when `auth` is absent) and stripped. */
  readonly url: string
  /** Cookie file or user/password; required unless the URL carries credentials. */
  readonly auth?: RpcAuth
  /** Default per-call timeout (ms); default 10 000. */
  readonly timeoutMs?: number
  readonly retry?: RetryOptions
  /** Keep-alive connections to the node (default 4: a long poll holds one). */
  readonly connections?: number
  /** JSON-RPC version sent (default '2.0', Bitcoin Core 28+; '1.0' for older nodes: both answers are understood). */
  readonly jsonRpcVersion?: '1.0' | '2.0'
  /** Largest answer accepted (default 64 MiB; a full mainnet template is a few MB). */
  readonly maxResponseBytes?: number
  /** Waits between retries (tests inject a fast one). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  readonly log?: Logger
}

/** Per-call options. */
export interface CallOptions {
  /** This call's timeout (ms): e.g. minutes for a long-poll getblocktemplate. */
  readonly timeoutMs?: number
  /** Overrides the retry count (default: `retry.retries` for idempotent methods, 0 otherwise). */
  readonly retries?: number
  /** Aborts the call; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

export const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_RETRY = { retries: 3, minDelayMs: 250, maxDelayMs: 2000 }
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

/** Marks our own timer's abort, to tell it from the caller's. */
class CallTimeout extends Error {}
/** Marks close(). */
class ClientClosing extends Error {}

export class RpcClient {
  /** The node URL without credentials (safe for logs and messages). */
  readonly url: string
  private readonly path: string
  private readonly pool: Pool
  private readonly credentials: RpcCredentials
  private readonly timeoutMs: number
  private readonly retry: Required<RetryOptions>
  private readonly jsonRpcVersion: '1.0' | '2.0'
  private readonly maxResponseBytes: number
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>
  private readonly log: Logger | undefined
  private readonly closing = new AbortController()
  private nextId = 1

  constructor(options: RpcClientOptions) {
    let parsed: URL
    try {
      parsed = new URL(options.url)
    } catch {
      throw new TypeError('bitcoind RPC URL is not a valid URL')
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`bitcoind RPC URL must be http:// or https://, not ${parsed.protocol}`)
    let auth = options.auth
    if (parsed.username !== '' || parsed.password !== '') {
      auth ??= { user: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
      parsed.username = ''
      parsed.password = ''
    }
    if (auth === undefined) throw new TypeError('bitcoind RPC client: no credentials (a cookie file, or user and password)')
    this.path = parsed.pathname === '' ? '/' : parsed.pathname
    this.url = parsed.pathname === '/' ? parsed.origin : `${parsed.origin}${parsed.pathname}`
    this.credentials = new RpcCredentials(auth, this.url)
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.retry = { ...DEFAULT_RETRY, ...options.retry }
    this.jsonRpcVersion = options.jsonRpcVersion ?? '2.0'
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
    this.sleep = options.sleep ?? abortableSleep
    this.log = options.log
    this.pool = new Pool(parsed.origin, { connections: options.connections ?? 4, pipelining: 1 })
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.closing.signal.aborted
  }

  /**
   * Calls `method`; resolves with its `result` (unvalidated), rejects with a
   * `BitcoindError` (or the reason of `options.signal` when it aborted).
   */
  async call(method: string, params: readonly unknown[] | Readonly<Record<string, unknown>> = [], options: CallOptions = {}): Promise<unknown> {
    const retries = options.retries ?? (IDEMPOTENT_METHODS.has(method) ? this.retry.retries : 0)
    for (let attempt = 0; ; attempt++) {
      this.throwIfClosed(method)
      try {
        return await this.attempt(method, params, options)
      } catch (err) {
        if (!(err instanceof BitcoindError) || attempt >= retries || !retriesHelp(err) || this.closed) throw err
        const delay = this.backoff(attempt)
        this.log?.debug({ method, attempt: attempt + 1, delayMs: Math.round(delay), code: err.code }, `bitcoind call failed, retrying: ${err.message}`)
        await this.sleep(delay, this.closing.signal)
      }
    }
  }

  /** Ends every call in flight (they reject with HF_BITCOIND_CLOSED) and the connections. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closing.abort(new ClientClosing())
    await this.pool.destroy()
  }

  /** One try, plus one more after a 401 when the cookie file changed (bitcoind restarted). */
  private async attempt(method: string, params: unknown, options: CallOptions): Promise<unknown> {
    for (let authTry = 0; ; authTry++) {
      const id = this.nextId++
      const authorization = await this.credentials.header()
      const ctx: CallContext = { url: this.url, method, id, credentials: this.credentials.describe() }
      const answer = await this.send(ctx, authorization, params, options)
      if (answer.status === 401 && authTry === 0 && (await this.credentials.refresh())) {
        this.log?.info({ method }, 'bitcoind answered 401; re-read its cookie file (it restarted) and trying again')
        continue
      }
      return interpretAnswer(answer, ctx)
    }
  }

  private async send(ctx: CallContext, authorization: string, params: unknown, options: CallOptions): Promise<{ status: number; body: string }> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const timer = new AbortController()
    const handle = setTimeout(() => timer.abort(new CallTimeout()), timeoutMs)
    const signals = [timer.signal, this.closing.signal]
    if (options.signal !== undefined) signals.push(options.signal)
    const signal = AbortSignal.any(signals)
    const body = JSON.stringify({ jsonrpc: this.jsonRpcVersion, id: ctx.id, method: ctx.method, params })
    try {
      const res = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body,
        signal,
        // Our timer ends the call; undici's own timers only back it up
        // (their 300 s defaults would cut a long poll short).
        headersTimeout: timeoutMs + 1000,
        bodyTimeout: timeoutMs + 1000,
      })
      const text = await this.readBody(res.body, ctx)
      return { status: res.statusCode, body: text }
    } catch (err) {
      if (err instanceof BitcoindError) throw err
      if (options.signal?.aborted === true && signal.reason === options.signal.reason) throw options.signal.reason
      if (this.closed) throw this.closedError(ctx.method, err)
      if (timer.signal.aborted) {
        throw new BitcoindError('HF_BITCOIND_TIMEOUT', `bitcoind at ${this.url} did not answer ${ctx.method} within ${timeoutMs} ms`, {
          url: this.url,
          method: ctx.method,
          transport: true,
          retryable: true,
        })
      }
      throw transportError(err, ctx)
    } finally {
      clearTimeout(handle)
    }
  }

  /** The whole body as text, refusing more than `maxResponseBytes`. */
  private async readBody(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, ctx: CallContext): Promise<string> {
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of body) {
      size += chunk.length
      if (size > this.maxResponseBytes) {
        body.destroy()
        throw new BitcoindError('HF_BITCOIND_BAD_RESPONSE', `bitcoind at ${this.url} answered ${ctx.method} with more than ${this.maxResponseBytes} bytes`, {
          url: this.url,
          method: ctx.method,
          transport: true,
        })
      }
      chunks.push(chunk)
    }
    return Buffer.concat(chunks).toString('utf8')
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.retry.maxDelayMs, this.retry.minDelayMs * 2 ** attempt)
    return base * (0.5 + Math.random() / 2)
  }

  private throwIfClosed(method: string): void {
    if (this.closed) throw this.closedError(method)
  }

  private closedError(method: string, cause?: unknown): BitcoindError {
    return new BitcoindError('HF_BITCOIND_CLOSED', `the RPC client of bitcoind at ${this.url} is closed (${method})`, { url: this.url, method }, { cause })
  }
}

/** Transport failures a quick retry may cure; not timeouts, not a missing cookie, not RPC answers. */
const RETRIED_CODES: ReadonlySet<string> = new Set(['HF_BITCOIND_UNREACHABLE', 'HF_BITCOIND_BAD_RESPONSE', 'HF_BITCOIND_HTTP'])

function retriesHelp(err: BitcoindError): boolean {
  return err.retryable && RETRIED_CODES.has(err.code)
}

