/**
 * Turning what came back from bitcoind into a result or a `BitcoindError`:
 * HTTP status, JSON-RPC envelope (1.0 and 2.0), RPC error codes, and
 * transport failures from undici. Pure functions; the client does the I/O.
 *
 * Bitcoin Core (httprpc.cpp) answers a JSON-RPC 1.0 error with HTTP 500
 * (404 for an unknown method, 400 for a bad request) AND a JSON body; a
 * 2.0 error with HTTP 200. So the body is parsed whatever the status, and
 * only a status without a JSON-RPC body is an HTTP error.
 */
import { BitcoindError } from '../errors.js'

/** RPC error codes with a meaning of their own (Bitcoin Core `rpc/protocol.h`). */
export const RPC_IN_WARMUP = -28
export const RPC_CLIENT_IN_INITIAL_DOWNLOAD = -10
export const RPC_CLIENT_NOT_CONNECTED = -9

/** One HTTP answer: status and body text. */
export interface HttpAnswer {
  readonly status: number
  readonly body: string
}

/** What an error needs to say where it happened. */
export interface CallContext {
  readonly url: string
  readonly method: string
  readonly id: number
  /** Names the credentials for a 401 message (never the secret). */
  readonly credentials: string
}

/** The `result` of a JSON-RPC answer, or the error it amounts to. */
export function interpretAnswer(answer: HttpAnswer, ctx: CallContext): unknown {
  const { status } = answer
  const where = { url: ctx.url, method: ctx.method, httpStatus: status }
  if (status === 401) {
    throw new BitcoindError('HF_BITCOIND_AUTH', `bitcoind rejected the RPC credentials (HTTP 401) at ${ctx.url} (${ctx.credentials})`, where)
  }
  if (status === 403) {
    throw new BitcoindError('HF_BITCOIND_AUTH', `bitcoind at ${ctx.url} refused this client (HTTP 403): check its rpcallowip`, where)
  }
  let parsed: unknown
  let parseError: string | undefined
  try {
    parsed = JSON.parse(answer.body)
  } catch (err) {
    parseError = (err as Error).message
  }
  const envelope = isEnvelope(parsed) ? parsed : undefined
  if (envelope === undefined) {
    if (status < 200 || status > 299) {
      throw new BitcoindError(
        'HF_BITCOIND_HTTP',
        `bitcoind at ${ctx.url} answered ${ctx.method} with HTTP ${status} and no JSON-RPC body${snippet(answer.body)}`,
        { ...where, transport: true, retryable: status >= 500 },
      )
    }
    const what = parseError === undefined ? 'JSON that is not a JSON-RPC answer' : `invalid JSON (${parseError})`
    throw new BitcoindError('HF_BITCOIND_BAD_RESPONSE', `bitcoind at ${ctx.url} answered ${ctx.method} with ${what}${snippet(answer.body)}`, {
      ...where,
      transport: true,
      retryable: true,
    })
  }
  if (envelope.id !== undefined && envelope.id !== null && envelope.id !== ctx.id) {
    throw new BitcoindError('HF_BITCOIND_BAD_RESPONSE', `bitcoind at ${ctx.url} answered ${ctx.method} with id ${cut(JSON.stringify(envelope.id))}, not ${ctx.id}`, {
      ...where,
      transport: true,
      retryable: true,
    })
  }
  const error = envelope.error
  if (error !== undefined && error !== null) {
    if (typeof error !== 'object' || typeof (error as { code?: unknown }).code !== 'number') {
      throw new BitcoindError('HF_BITCOIND_BAD_RESPONSE', `bitcoind at ${ctx.url} answered ${ctx.method} with a malformed error object`, {
        ...where,
        transport: true,
        retryable: true,
      })
    }
    const code = (error as { code: number }).code
    const raw = (error as { message?: unknown }).message
    const message = cut(typeof raw === 'string' ? raw : JSON.stringify(raw ?? ''))
    throw rpcError(code, message, ctx, status)
  }
  if (!('result' in envelope)) {
    throw new BitcoindError('HF_BITCOIND_BAD_RESPONSE', `bitcoind at ${ctx.url} answered ${ctx.method} with neither result nor error`, {
      ...where,
      transport: true,
      retryable: true,
    })
  }
  return envelope.result
}

/** The `BitcoindError` of a JSON-RPC error answer. */
export function rpcError(code: number, message: string, ctx: CallContext, httpStatus?: number): BitcoindError {
  const details = { url: ctx.url, method: ctx.method, rpcCode: code, rpcMessage: message, httpStatus }
  if (code === RPC_IN_WARMUP) {
    return new BitcoindError('HF_BITCOIND_WARMING_UP', `bitcoind at ${ctx.url} is warming up: ${message}`, { ...details, retryable: true })
  }
  if (code === RPC_CLIENT_IN_INITIAL_DOWNLOAD) {
    return new BitcoindError('HF_BITCOIND_IBD', `bitcoind at ${ctx.url} is in initial block download: ${message}`, { ...details, retryable: true })
  }
  return new BitcoindError('HF_BITCOIND_RPC', `bitcoind at ${ctx.url} answered ${ctx.method} with RPC error ${code}: ${message}`, {
    ...details,
    retryable: code === RPC_CLIENT_NOT_CONNECTED,
  })
}

/** Why the request got no answer, in words, from an undici or socket error code. */
const TRANSPORT_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ETIMEDOUT: 'connect timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_SOCKET: 'the connection closed before an answer',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the answer was cut short',
}

/** The `BitcoindError` of a request that got no HTTP answer (undici threw). */
export function transportError(err: unknown, ctx: Pick<CallContext, 'url' | 'method'>): BitcoindError {
  const code = errorCode(err)
  const details = { url: ctx.url, method: ctx.method, transport: true, retryable: true }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new BitcoindError('HF_BITCOIND_TIMEOUT', `bitcoind at ${ctx.url} did not answer ${ctx.method} in time`, details, { cause: err })
  }
  if (code !== undefined && code.startsWith('HPE_')) {
    return new BitcoindError('HF_BITCOIND_BAD_RESPONSE', `bitcoind at ${ctx.url} answered ${ctx.method} with a malformed HTTP response (${code})`, details, {
      cause: err,
    })
  }
  const reason = (code === undefined ? undefined : TRANSPORT_REASONS[code]) ?? (err instanceof Error ? err.message : String(err))
  return new BitcoindError('HF_BITCOIND_UNREACHABLE', `bitcoind not reachable at ${ctx.url}: ${reason}`, details, { cause: err })
}

/** The error code of a socket or undici error; an AggregateError (happy eyeballs) gives its first inner code. */
function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') return code
  if (err instanceof AggregateError) for (const inner of err.errors) {
    const c = errorCode(inner)
    if (c !== undefined) return c
  }
  const cause = (err as { cause?: unknown }).cause
  return cause === undefined || cause === err ? undefined : errorCode(cause)
}

interface Envelope {
  readonly result?: unknown
  readonly error?: unknown
  readonly id?: unknown
}

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && ('result' in value || 'error' in value)
}

/** A short, printable excerpt of a body for a message (never request data). */
/**
 * A value from the answer as it goes into an error message, at most 200
 * characters: an id or error message is bitcoind's to choose, and a huge
 * one must not become a huge log line (found by the bitcoind-rpc-answer
 * fuzz target).
 */
function cut(text: string): string {
  return text.length > 200 ? `${text.slice(0, 197)}...` : text
}

function snippet(body: string): string {
  const text = body.replace(/[^\x20-\x7e]+/g, ' ').trim()
  if (text === '') return ''
  return `: "${text.length > 80 ? `${text.slice(0, 77)}...` : text}"`
}
