/**
 * The typed messages a miner sends, as `decodeRequest` returns them: one
 * discriminated union on `kind`. Past the decoder only these types
 * circulate; every wire encoding a miner may use (hex or number, `0x` or
 * not, upper or lower case, missing or null params) has been resolved.
 */
import type { JsonRpcId } from './wire-format.js'

/** `mining.configure` (BIP 310) extension parameters of `info`. */
export interface ConfigureInfo {
  readonly connectionUrl?: string
  readonly hwVersion?: string
  readonly swVersion?: string
  readonly hwId?: string
}

/** `mining.configure(extensions, params)` (BIP 310). */
export interface ConfigureRequest {
  readonly kind: 'configure'
  readonly id: JsonRpcId
  /**
   * The extension names asked for, without repeats, in the order sent. The
   * reply must answer exactly these (BIP 310: each one gets a value;
   * WhatsMiner reconnects in a loop on extra keys).
   */
  readonly requested: readonly string[]
  /**
   * Present when `version-rolling` was requested. `mask` defaults to
   * `0xffffffff` (BIP 310) and `minBitCount` to 0 (Bitaxe sends no
   * min-bit-count).
   */
  readonly versionRolling?: { readonly mask: number; readonly minBitCount: number }
  /** Present when `minimum-difficulty` was requested with a value (>= 0; 0 turns the floor off). */
  readonly minimumDifficulty?: { readonly value: number }
  /** `subscribe-extranonce` was requested: the miner takes `mining.set_extranonce`. */
  readonly subscribeExtranonce: boolean
  /** Present when `info` was requested. */
  readonly info?: ConfigureInfo
}

/** `mining.subscribe([userAgent[, sessionId[, host, port]]])`. */
export interface SubscribeRequest {
  readonly kind: 'subscribe'
  readonly id: JsonRpcId
  /** At most 256 characters (longer agents are cut: it is for display and stats). */
  readonly userAgent?: string
  /**
   * The session id the miner had before (cgminer family, WhatsMiner), in
   * lowercase hex, to resume its extranonce1. Absent when not sent, null,
   * empty, or not 1-32 hex digits (an id from another pool is ignored, not
   * an error).
   */
  readonly sessionId?: string
}

/** `mining.authorize(user[, password])`. */
export interface AuthorizeRequest {
  readonly kind: 'authorize'
  readonly id: JsonRpcId
  readonly user: string
  /** `''` when missing or null. */
  readonly password: string
}

/** `mining.submit(worker, jobId, extranonce2, ntime, nonce[, versionBits])`. */
export interface SubmitRequest {
  readonly kind: 'submit'
  readonly id: JsonRpcId
  readonly worker: string
  /** As sent; a numeric job id becomes its decimal string. */
  readonly jobId: string
  /** Any even number of bytes; the session checks it against extranonce2_size. */
  readonly extranonce2: Buffer
  /** uint32, the value the 8 big-endian hex digits spell. */
  readonly ntime: number
  /** uint32. */
  readonly nonce: number
  /** uint32, present only when a 6th param was sent (and not null). */
  readonly versionBits?: number
}

/** `mining.extranonce.subscribe()` (NiceHash extension). */
export interface ExtranonceSubscribeRequest {
  readonly kind: 'extranonce-subscribe'
  readonly id: JsonRpcId
}

/** `mining.suggest_difficulty(difficulty)`. */
export interface SuggestDifficultyRequest {
  readonly kind: 'suggest-difficulty'
  readonly id: JsonRpcId
  /** Finite and > 0. */
  readonly difficulty: number
}

/** `mining.suggest_target(target)`. */
export interface SuggestTargetRequest {
  readonly kind: 'suggest-target'
  readonly id: JsonRpcId
  /** 32 bytes, big-endian as sent (bfgminer writes leading zeros first). */
  readonly target: Buffer
}

/** `mining.multi_version(n)` (old Bitmain AsicBoost handshake; answer `true`). */
export interface MultiVersionRequest {
  readonly kind: 'multi-version'
  readonly id: JsonRpcId
}

/** `mining.get_transactions(jobId)` (bfgminer, after every authorize). */
export interface GetTransactionsRequest {
  readonly kind: 'get-transactions'
  readonly id: JsonRpcId
  readonly jobId: string
}

/** `mining.ping()` from a miner (answer `"pong"`). */
export interface PingRequest {
  readonly kind: 'ping'
  readonly id: JsonRpcId
}

/** A miner's reply to a request of ours (`client.get_version`, `mining.ping`): no method, a result or an error. */
export interface ResponseMessage {
  readonly kind: 'response'
  readonly id: JsonRpcId
  /** As parsed; null when absent. */
  readonly result: unknown
  /** As parsed; null when absent. */
  readonly error: unknown
}

/** Any other method: answer `method-not-found` (error 20) and stay up. */
export interface UnknownRequest {
  readonly kind: 'unknown'
  readonly id: JsonRpcId
  readonly method: string
}

/** Every message a miner can send, decoded. */
export type StratumRequest =
  | ConfigureRequest
  | SubscribeRequest
  | AuthorizeRequest
  | SubmitRequest
  | ExtranonceSubscribeRequest
  | SuggestDifficultyRequest
  | SuggestTargetRequest
  | MultiVersionRequest
  | GetTransactionsRequest
  | PingRequest
  | ResponseMessage
  | UnknownRequest

/** Which kind of malformed input (a subset of `RejectReason`). */
export type DecodeFailureReason = 'parse-error' | 'invalid-request' | 'invalid-params'

/** A line that could not be decoded: answer `error` to `id` and keep the session. */
export interface DecodeFailure {
  readonly ok: false
  /** The request's id when it could be read, else null. */
  readonly id: JsonRpcId
  readonly reason: DecodeFailureReason
  /** Ready for `encodeError(id, code, message)`; the message names the method, the field and the bad value. */
  readonly error: { readonly code: 20; readonly message: string }
}

/** What `decodeRequest` returns: never throws. */
export type DecodeResult = { readonly ok: true; readonly request: StratumRequest } | DecodeFailure
