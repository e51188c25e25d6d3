/**
 * Decode one line from a miner into a typed request, once, at the edge.
 *
 * Tolerant where real firmware varies (STRATUM-NOTES): ids are numbers,
 * strings or null (missing = null); params may be missing or null; hex may
 * carry `0x` and either case; ntime, nonce and version bits may be JSON
 * numbers; a job id may be a number. Strict about everything else: wrong
 * types, wrong counts, bad hex, out-of-range numbers, hostile JSON (too
 * deep, `__proto__`, too many params) all give a `DecodeFailure` value whose
 * message names the method, the field and the bad value. Nothing here
 * throws to the caller.
 */
import { detachString, parseFlatRequest } from './flat-request.js'
import { scanJson } from './json-guard.js'
import type {
  AuthorizeRequest,
  ConfigureInfo,
  ConfigureRequest,
  DecodeFailure,
  DecodeFailureReason,
  DecodeResult,
  StratumRequest,
  SubmitRequest,
  SubscribeRequest,
} from './requests.js'
import { isUint32, parseHexBytes, parseHexUint32, stripHexPrefix, type JsonRpcId } from './wire-format.js'

/** Deepest JSON nesting accepted (a configure request nests 3 levels). */
export const MAX_JSON_DEPTH = 16
/** Most params accepted in one request (mining.submit has 6). */
export const MAX_PARAMS = 16
/** Most extension names accepted in one mining.configure. */
export const MAX_EXTENSIONS = 16
/** Longest user agent kept; longer ones are cut (they are for display and stats). */
export const MAX_USER_AGENT_LENGTH = 256
/** Longest user or worker name accepted (an address of 62 characters plus a worker suffix fits with room). */
export const MAX_WORKER_NAME_LENGTH = 256

/** Limits, for tests and for a config that wants them tighter. */
export interface DecodeOptions {
  /** Default `MAX_JSON_DEPTH`. */
  readonly maxDepth?: number
  /** Default `MAX_PARAMS`. */
  readonly maxParams?: number
  /** Read flat lines without `JSON.parse` (flat-request.ts); default true. False forces the full path (tests compare the two). */
  readonly fastPath?: boolean
}

/**
 * A param that cannot be decoded; thrown by the field readers and caught in
 * `decodeRequest`, so it never leaves this module (the caller gets a value).
 */
class BadParam extends Error {}

const NO_PARAMS: readonly unknown[] = Object.freeze([])
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/
const SESSION_ID = /^[0-9a-fA-F]{1,32}$/
const INTEGER_TEXT = /^-?\d+$/

/** A value as it appears in an error message: strings quoted and cut at 40 characters. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  return Array.isArray(value) ? 'an array' : 'an object'
}

function failure(id: JsonRpcId, reason: DecodeFailureReason, message: string): DecodeFailure {
  return { ok: false, id, reason, error: { code: 20, message } }
}

/** The id, or `undefined` when it is of a type that cannot be echoed. */
function readId(value: unknown, rawId: string | undefined): JsonRpcId | undefined {
  if (value === undefined || value === null) return null // a missing id is treated as null
  if (typeof value === 'string') return value
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined
  // Beyond 2^53 the number has been rounded; the raw digits have not.
  if (Number.isInteger(value) && !Number.isSafeInteger(value) && rawId !== undefined && INTEGER_TEXT.test(rawId)) return BigInt(rawId)
  return value
}

function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined
}

/** A string of at most `max` characters. */
function text(method: string, field: string, value: unknown, max: number): string {
  if (typeof value !== 'string') throw new BadParam(`${method}: ${field} must be a string, got ${describe(value)}`)
  if (value.length > max) throw new BadParam(`${method}: ${field} must be at most ${max} characters, got ${value.length}`)
  return value
}

/** A string, or '' when missing or null. */
function optionalText(method: string, field: string, value: unknown, max: number): string {
  return value === undefined || value === null ? '' : text(method, field, value, max)
}

/** A job id: a string, or a non-negative integer turned into its decimal string. */
function jobId(method: string, value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value)
  throw new BadParam(`${method}: job_id must be a string or a non-negative integer, got ${describe(value)}`)
}

/**
 * A 32-bit header word: a hex string of `minDigits`-8 digits (optional
 * `0x`), or a JSON integer 0..2^32-1 (some software sends numbers).
 */
function uint32(method: string, field: string, value: unknown, minDigits: number): number {
  const parsed = typeof value === 'string' ? parseHexUint32(value, minDigits) : isUint32(value) ? value : undefined
  if (parsed !== undefined) return parsed
  const digits = minDigits === 8 ? '8 hex digits' : `${minDigits}-8 hex digits`
  throw new BadParam(`${method}: ${field} must be ${digits} or an integer 0-4294967295, got ${describe(value)}`)
}

/** A difficulty: a JSON number or a decimal string, finite, > 0 (or >= 0). */
function difficulty(method: string, field: string, value: unknown, allowZero: boolean): number {
  const d = typeof value === 'number' ? value : typeof value === 'string' && DECIMAL.test(value) ? Number(value) : NaN
  if (Number.isFinite(d) && (d > 0 || (allowZero && d === 0))) return d
  throw new BadParam(`${method}: ${field} must be a number ${allowZero ? '>= 0' : '> 0'}, got ${describe(value)}`)
}

const CONFIGURE = 'mining.configure'

/** version-rolling.min-bit-count: an integer 0-32; also as a decimal string or, as BIP 310's table types it, an 8-digit hex TMask. */
function minBitCount(value: unknown): number {
  let n: number | undefined
  if (typeof value === 'number') n = value
  else if (typeof value === 'string') n = value.length === 8 ? parseHexUint32(value, 8) : /^\d{1,2}$/.test(value) ? Number(value) : undefined
  if (n !== undefined && Number.isInteger(n) && n >= 0 && n <= 32) return n
  throw new BadParam(`${CONFIGURE}: version-rolling.min-bit-count must be an integer 0-32, got ${describe(value)}`)
}

function configureInfo(params: Record<string, unknown>): ConfigureInfo {
  const info: { connectionUrl?: string; hwVersion?: string; swVersion?: string; hwId?: string } = {}
  const fields = [
    ['connectionUrl', 'info.connection-url'],
    ['hwVersion', 'info.hw-version'],
    ['swVersion', 'info.sw-version'],
    ['hwId', 'info.hw-id'],
  ] as const
  for (const [name, key] of fields) {
    const value = own(params, key)
    if (value !== undefined && value !== null) info[name] = text(CONFIGURE, key, value, 1024)
  }
  return info
}

function decodeConfigure(id: JsonRpcId, params: readonly unknown[]): ConfigureRequest {
  const [extensions, extensionParams] = params
  const names = extensions === undefined || extensions === null ? NO_PARAMS : extensions
  if (!Array.isArray(names)) throw new BadParam(`${CONFIGURE}: extensions must be an array of names, got ${describe(extensions)}`)
  if (names.length > MAX_EXTENSIONS) throw new BadParam(`${CONFIGURE}: at most ${MAX_EXTENSIONS} extensions, got ${names.length}`)
  const requested: string[] = []
  for (const name of names as unknown[]) {
    if (typeof name !== 'string' || name.length === 0 || name.length > 64) {
      throw new BadParam(`${CONFIGURE}: extension names must be strings of 1-64 characters, got ${describe(name)}`)
    }
    if (!requested.includes(name)) requested.push(name)
  }
  let p: Record<string, unknown> = {}
  if (extensionParams !== undefined && extensionParams !== null) {
    if (typeof extensionParams !== 'object' || Array.isArray(extensionParams)) {
      throw new BadParam(`${CONFIGURE}: extension parameters must be an object, got ${describe(extensionParams)}`)
    }
    p = extensionParams as Record<string, unknown>
  }
  const request: { -readonly [K in keyof ConfigureRequest]: ConfigureRequest[K] } = {
    kind: 'configure',
    id,
    requested,
    subscribeExtranonce: requested.includes('subscribe-extranonce'),
  }
  // Parameters are read only for extensions asked for: Bitaxe sends a mask
  // alone, others send parameters of extensions they did not list.
  if (requested.includes('version-rolling')) {
    const rawMask = own(p, 'version-rolling.mask')
    // BIP 310: the mask is optional and defaults to "ffffffff".
    const mask = rawMask === undefined || rawMask === null ? 0xffffffff : uint32(CONFIGURE, 'version-rolling.mask', rawMask, 1)
    const rawCount = own(p, 'version-rolling.min-bit-count')
    request.versionRolling = { mask, minBitCount: rawCount === undefined || rawCount === null ? 0 : minBitCount(rawCount) }
  }
  if (requested.includes('minimum-difficulty')) {
    const value = own(p, 'minimum-difficulty.value')
    if (value !== undefined && value !== null) request.minimumDifficulty = { value: difficulty(CONFIGURE, 'minimum-difficulty.value', value, true) }
  }
  if (requested.includes('info')) request.info = configureInfo(p)
  return request
}

function decodeSubscribe(id: JsonRpcId, params: readonly unknown[]): SubscribeRequest {
  const [agent, session] = params
  const request: { -readonly [K in keyof SubscribeRequest]: SubscribeRequest[K] } = { kind: 'subscribe', id }
  if (agent !== undefined && agent !== null) {
    if (typeof agent !== 'string') throw new BadParam(`mining.subscribe: user agent must be a string, got ${describe(agent)}`)
    // Kept for the session's life: a copy, not a slice holding the line (flat-request.ts).
    if (agent.length > 0) request.userAgent = detachString(agent.length > MAX_USER_AGENT_LENGTH ? agent.slice(0, MAX_USER_AGENT_LENGTH) : agent)
  }
  // cgminer-family and WhatsMiner resend their previous session id; one that
  // is not ours (another pool's format) is ignored, never an error.
  if (typeof session === 'string' && SESSION_ID.test(session)) request.sessionId = session.toLowerCase()
  return request
}

function decodeAuthorize(id: JsonRpcId, params: readonly unknown[]): AuthorizeRequest {
  const M = 'mining.authorize'
  if (params.length === 0) throw new BadParam(`${M}: expected params [user, password], got none`)
  // The worker name is kept for the session's life: a copy, not a slice holding the line (flat-request.ts).
  return { kind: 'authorize', id, user: detachString(text(M, 'user', params[0], MAX_WORKER_NAME_LENGTH)), password: optionalText(M, 'password', params[1], 1024) }
}

function decodeSubmit(id: JsonRpcId, params: readonly unknown[]): SubmitRequest {
  const M = 'mining.submit'
  if (params.length < 5 || params.length > 6) {
    throw new BadParam(`${M}: expected 5 or 6 params (worker, job_id, extranonce2, ntime, nonce[, version_bits]), got ${params.length}`)
  }
  const [worker, job, en2, ntime, nonce, versionBits] = params
  const extranonce2 = typeof en2 === 'string' ? parseHexBytes(en2) : undefined
  if (extranonce2 === undefined) throw new BadParam(`${M}: extranonce2 must be an even number of hex digits, got ${describe(en2)}`)
  const request: { -readonly [K in keyof SubmitRequest]: SubmitRequest[K] } = {
    kind: 'submit',
    id,
    worker: text(M, 'worker', worker, MAX_WORKER_NAME_LENGTH),
    jobId: jobId(M, job),
    extranonce2,
    ntime: uint32(M, 'ntime', ntime, 8),
    // NerdMiner_v2 writes the nonce with String(nonce, HEX): upper case and
    // no leading zeros, so 1 share in 16 has fewer than 8 digits
    // (NerdMiner_v2 issue #822). The value is still exact: accept 1-8.
    nonce: uint32(M, 'nonce', nonce, 1),
  }
  // BIP 310: the 6th param exists once version rolling is configured.
  if (versionBits !== undefined && versionBits !== null) request.versionBits = uint32(M, 'version_bits', versionBits, 8)
  return request
}

function decodeSuggestTarget(id: JsonRpcId, params: readonly unknown[]): StratumRequest {
  const value = params[0]
  // bfgminer sends the 256-bit target as 64 hex digits, leading zeros first.
  const target = typeof value === 'string' && stripHexPrefix(value).length === 64 ? parseHexBytes(value) : undefined
  if (target === undefined) throw new BadParam(`mining.suggest_target: target must be 64 hex digits, got ${describe(value)}`)
  return { kind: 'suggest-target', id, target }
}

function decodeMethod(id: JsonRpcId, method: string, params: readonly unknown[]): StratumRequest {
  switch (method) {
    case 'mining.submit':
      return decodeSubmit(id, params)
    case 'mining.configure':
      return decodeConfigure(id, params)
    case 'mining.subscribe':
      return decodeSubscribe(id, params)
    case 'mining.authorize':
      return decodeAuthorize(id, params)
    case 'mining.extranonce.subscribe':
      return { kind: 'extranonce-subscribe', id }
    case 'mining.suggest_difficulty':
      return { kind: 'suggest-difficulty', id, difficulty: difficulty(method, 'difficulty', params[0], false) }
    case 'mining.suggest_target':
      return decodeSuggestTarget(id, params)
    case 'mining.multi_version':
      return { kind: 'multi-version', id }
    case 'mining.get_transactions':
      return { kind: 'get-transactions', id, jobId: jobId(method, params[0]) }
    case 'mining.ping':
      return { kind: 'ping', id }
    default:
      return { kind: 'unknown', id, method }
  }
}

/**
 * Decode one line (without its newline) from a miner. Never throws:
 * malformed input gives `{ ok: false, id, reason, error }`, with the
 * request's id when it could be read.
 */
export function decodeRequest(line: string, options: DecodeOptions = {}): DecodeResult {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH
  const maxParams = options.maxParams ?? MAX_PARAMS
  if (options.fastPath !== false) {
    // The common flat line (every submit): same result as below, without JSON.parse.
    const flat = parseFlatRequest(line)
    if (flat !== undefined) return decodeParams(flat.id, flat.method, flat.params ?? NO_PARAMS, maxParams)
  }
  const scan = scanJson(line, maxDepth)
  if (!scan.ok) return failure(null, 'invalid-request', scan.message)
  let message: unknown
  try {
    message = JSON.parse(line)
  } catch {
    return failure(null, 'parse-error', `not valid JSON: ${describe(line)}`)
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    return failure(null, 'invalid-request', `expected a JSON object, got ${describe(message)}`)
  }
  const object = message as Record<string, unknown>
  const rawIdValue = own(object, 'id')
  const id = readId(rawIdValue, scan.rawId)
  if (id === undefined) return failure(null, 'invalid-request', `id must be a number, a string or null, got ${describe(rawIdValue)}`)

  const method = own(object, 'method')
  if (method === undefined || method === null) {
    if (Object.hasOwn(object, 'result') || Object.hasOwn(object, 'error')) {
      return { ok: true, request: { kind: 'response', id, result: own(object, 'result') ?? null, error: own(object, 'error') ?? null } }
    }
    return failure(id, 'invalid-request', 'missing "method"')
  }
  if (typeof method !== 'string') return failure(id, 'invalid-request', `method must be a string, got ${describe(method)}`)

  const rawParams = own(object, 'params')
  const params = rawParams === undefined || rawParams === null ? NO_PARAMS : rawParams
  if (!Array.isArray(params)) return failure(id, 'invalid-params', `${method}: params must be an array, got ${describe(rawParams)}`)
  return decodeParams(id, method, params as readonly unknown[], maxParams)
}

/** The request of a method and its params (both paths end here). */
function decodeParams(id: JsonRpcId, method: string, params: readonly unknown[], maxParams: number): DecodeResult {
  if (params.length > maxParams) return failure(id, 'invalid-params', `${method}: at most ${maxParams} params, got ${params.length}`)
  try {
    return { ok: true, request: decodeMethod(id, method, params) }
  } catch (err) {
    if (!(err instanceof BadParam)) throw err // a bug in this module, not bad input: let it surface
    return failure(id, 'invalid-params', err.message)
  }
}
