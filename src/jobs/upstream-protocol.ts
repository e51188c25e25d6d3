/**
 * The client side of Stratum V1, pure: lines from an upstream pool in,
 * typed messages out, and the lines Headframe sends it. No sockets here, so
 * the decoder is tested line by line against real pool transcripts
 * (test/fixtures/stratum) and against garbage.
 *
 * Strict on purpose: a miner's quirks are tolerated at the server's edge,
 * but an upstream pool that sends a job we cannot parse exactly is not
 * trusted with the farm's hashrate. Every failure is a value naming what
 * was wrong; the client disconnects on it.
 */
import { scanJson } from '../stratum/json-guard.js'
import { parseHexBytes, parseHexUint32 } from '../stratum/wire-format.js'
import { MAX_UPSTREAM_EXTRANONCE1, MAX_UPSTREAM_EXTRANONCE2 } from './upstream-extranonce.js'

/** Deepest JSON nesting a pool message needs (a notify's branch is 3 levels). */
const MAX_DEPTH = 8
/** Longest job id taken (ckpool: 16 hex digits; others use short counters). */
const MAX_JOB_ID_LENGTH = 128
/** Most merkle branch entries (2^32 transactions). */
const MAX_BRANCH = 32
/** Longest coinbase half taken (bytes); a coinbase is at most a block's size in theory, a few hundred bytes in practice. */
const MAX_COINBASE_PART = 100_000
/** Longest `client.show_message` text logged. */
const MAX_MESSAGE = 512

/** A job as the upstream sent it, fields decoded to bytes and numbers. */
export interface UpstreamJob {
  readonly jobId: string
  /** Previous block hash in internal (header) byte order (the notify's words swapped back). */
  readonly prevHash: Buffer
  readonly coinb1: Buffer
  readonly coinb2: Buffer
  readonly merkleBranch: readonly Buffer[]
  readonly version: number
  readonly nbits: number
  readonly ntime: number
  readonly cleanJobs: boolean
}

/** What a line from the pool is. */
export type PoolMessage =
  | { readonly kind: 'response'; readonly id: number | string | null; readonly result: unknown; readonly error: unknown }
  | { readonly kind: 'notify'; readonly job: UpstreamJob }
  | { readonly kind: 'set-difficulty'; readonly difficulty: number }
  | { readonly kind: 'set-extranonce'; readonly extranonce1: Buffer; readonly extranonce2Size: number }
  | { readonly kind: 'set-version-mask'; readonly mask: number }
  | { readonly kind: 'reconnect'; readonly host: string | undefined; readonly port: number | undefined; readonly waitSeconds: number }
  | { readonly kind: 'show-message'; readonly message: string }
  | { readonly kind: 'ping'; readonly id: number | string | null }
  | { readonly kind: 'get-version'; readonly id: number | string | null }
  | { readonly kind: 'unknown'; readonly method: string; readonly id: number | string | null }

export type PoolDecode = { readonly ok: true; readonly message: PoolMessage } | { readonly ok: false; readonly error: string }

const fail = (error: string): PoolDecode => ({ ok: false, error })
const ok = (message: PoolMessage): PoolDecode => ({ ok: true, message })

/** Decodes one line from an upstream pool. */
export function decodePoolLine(line: string): PoolDecode {
  const scan = scanJson(line, MAX_DEPTH)
  if (!scan.ok) return fail(scan.message)
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return fail(`not JSON: ${JSON.stringify(line.slice(0, 64))}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object')
  const msg = value as Record<string, unknown>
  const rawId = msg.id
  const id = typeof rawId === 'number' || typeof rawId === 'string' ? rawId : null
  if (rawId !== undefined && rawId !== null && id === null) return fail('an id that is neither a number nor a string')
  if (msg.method === undefined || msg.method === null) {
    if (!('result' in msg) && !('error' in msg)) return fail('neither a method nor a result')
    return ok({ kind: 'response', id, result: msg.result, error: msg.error ?? null })
  }
  if (typeof msg.method !== 'string') return fail('method is not a string')
  const raw = msg.params ?? []
  if (!Array.isArray(raw)) return fail(`${msg.method}: params is not a list`)
  const params = raw as unknown[]
  switch (msg.method) {
    case 'mining.notify':
      return decodeNotify(params)
    case 'mining.set_difficulty': {
      const d = params[0]
      if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0) return fail('mining.set_difficulty: difficulty is not a positive number')
      return ok({ kind: 'set-difficulty', difficulty: d })
    }
    case 'mining.set_extranonce': {
      const en1 = typeof params[0] === 'string' ? parseHexBytes(params[0]) : undefined
      if (en1 === undefined || en1.length > MAX_UPSTREAM_EXTRANONCE1) return fail('mining.set_extranonce: extranonce1 is not hex of at most 32 bytes')
      const size = params[1]
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > MAX_UPSTREAM_EXTRANONCE2) {
        return fail(`mining.set_extranonce: impossible extranonce2 size ${JSON.stringify(size)}`)
      }
      return ok({ kind: 'set-extranonce', extranonce1: en1, extranonce2Size: size })
    }
    case 'mining.set_version_mask': {
      const mask = typeof params[0] === 'string' ? parseHexUint32(params[0], 1) : undefined
      if (mask === undefined) return fail('mining.set_version_mask: mask is not 1-8 hex digits')
      return ok({ kind: 'set-version-mask', mask })
    }
    case 'client.reconnect': {
      const [host, port, wait] = params
      if (host !== undefined && (typeof host !== 'string' || host.length > 253 || /[\s/]/.test(host))) return fail('client.reconnect: host is not a host name')
      const portNumber = port === undefined ? undefined : Number(port)
      if (portNumber !== undefined && (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535)) return fail('client.reconnect: port is not 1-65535')
      const waitSeconds = wait === undefined ? 0 : Number(wait)
      if (!Number.isFinite(waitSeconds) || waitSeconds < 0) return fail('client.reconnect: wait is not a non-negative number')
      return ok({ kind: 'reconnect', host: host === '' ? undefined : host, port: portNumber, waitSeconds })
    }
    case 'client.show_message':
      return ok({ kind: 'show-message', message: (typeof params[0] === 'string' ? params[0] : JSON.stringify(params[0] ?? '')).slice(0, MAX_MESSAGE) })
    case 'mining.ping':
    case 'client.ping':
      return ok({ kind: 'ping', id })
    case 'client.get_version':
      return ok({ kind: 'get-version', id })
    default:
      return ok({ kind: 'unknown', method: msg.method.slice(0, 64), id })
  }
}

function decodeNotify(p: unknown[]): PoolDecode {
  const what = 'mining.notify'
  if (p.length < 9) return fail(`${what}: ${p.length} params, expected 9`)
  const [jobId, prev, c1, c2, branch, version, nbits, ntime, clean] = p
  if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > MAX_JOB_ID_LENGTH || /[\s"\\]/.test(jobId)) {
    return fail(`${what}: job id is not a short string`)
  }
  const prevHash = typeof prev === 'string' && prev.length === 64 ? parseHexBytes(prev) : undefined
  if (prevHash === undefined) return fail(`${what}: previous hash is not 64 hex digits`)
  prevHash.swap32() // Stratum swaps each 4-byte word; back to header order
  const coinb1 = typeof c1 === 'string' && c1.length <= 2 * MAX_COINBASE_PART ? parseHexBytes(c1) : undefined
  const coinb2 = typeof c2 === 'string' && c2.length <= 2 * MAX_COINBASE_PART ? parseHexBytes(c2) : undefined
  if (coinb1 === undefined || coinb1.length === 0) return fail(`${what}: coinb1 is not hex`)
  if (coinb2 === undefined || coinb2.length === 0) return fail(`${what}: coinb2 is not hex`)
  if (!Array.isArray(branch) || branch.length > MAX_BRANCH) return fail(`${what}: merkle branch is not a list of at most ${MAX_BRANCH} hashes`)
  const merkleBranch: Buffer[] = []
  for (const h of branch) {
    const bytes = typeof h === 'string' && h.length === 64 ? parseHexBytes(h) : undefined
    if (bytes === undefined) return fail(`${what}: a merkle branch entry is not 64 hex digits`)
    merkleBranch.push(bytes)
  }
  const words = [version, nbits, ntime].map((w) => (typeof w === 'string' && w.length === 8 ? parseHexUint32(w, 8) : undefined))
  const [v, b, t] = words
  if (v === undefined || b === undefined || t === undefined) return fail(`${what}: version, nbits and ntime must be 8 hex digits each`)
  if (typeof clean !== 'boolean') return fail(`${what}: clean_jobs is not a boolean`)
  return ok({ kind: 'notify', job: { jobId, prevHash, coinb1, coinb2, merkleBranch, version: v, nbits: b, ntime: t, cleanJobs: clean } })
}

/** What a `mining.subscribe` answer gives. */
export interface SubscribeAnswer {
  readonly extranonce1: Buffer
  readonly extranonce2Size: number
}

/** Reads a `mining.subscribe` result: `[subscriptions, extranonce1, extranonce2Size]`. */
export function parseSubscribeResult(result: unknown): SubscribeAnswer | string {
  if (!Array.isArray(result) || result.length < 3) return 'mining.subscribe: the result is not [subscriptions, extranonce1, extranonce2_size]'
  const list = result as unknown[]
  const en1 = typeof list[1] === 'string' ? parseHexBytes(list[1]) : undefined
  if (en1 === undefined || en1.length > MAX_UPSTREAM_EXTRANONCE1) return 'mining.subscribe: extranonce1 is not hex of at most 32 bytes'
  const size = list[2]
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > MAX_UPSTREAM_EXTRANONCE2) {
    return `mining.subscribe: impossible extranonce2 size ${JSON.stringify(size)}`
  }
  return { extranonce1: en1, extranonce2Size: size }
}

/** Reads a `mining.configure` result: the granted version-rolling mask, or undefined when refused or not answered. */
export function parseConfigureResult(result: unknown): number | undefined {
  if (typeof result !== 'object' || result === null) return undefined
  const r = result as Record<string, unknown>
  if (r['version-rolling'] !== true) return undefined
  const mask = r['version-rolling.mask']
  return typeof mask === 'string' ? parseHexUint32(mask, 1) : undefined
}

/** An error as a reject reason: the message of `[code, message, data]`, or a short text of whatever came. */
export function errorReason(error: unknown): string {
  if (Array.isArray(error) && typeof error[1] === 'string') return error[1].slice(0, 128)
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return ((error as { message: string }).message).slice(0, 128)
  }
  if (typeof error === 'string') return error.slice(0, 128)
  return 'rejected'
}

/** A request line to the pool. */
export function encodeRequest(id: number, method: string, params: readonly unknown[]): string {
  return `${JSON.stringify({ id, method, params })}\n`
}

/** A reply line to the pool (ping, get_version). */
export function encodeReply(id: number | string | null, result: unknown): string {
  return `${JSON.stringify({ id, result, error: null })}\n`
}

/** The params of `mining.submit`. */
export function submitParams(user: string, jobId: string, extranonce2: Buffer, ntime: number, nonce: number, versionBits: number | undefined): string[] {
  const params = [user, jobId, extranonce2.toString('hex'), hex8(ntime), hex8(nonce)]
  if (versionBits !== undefined) params.push(hex8(versionBits))
  return params
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}
