/**
 * Encoders for everything the pool sends a miner. Each returns the whole
 * line, trailing `\n` included, ready to write as is.
 *
 * Key order is `id`, then `method`/`result`, then `params`/`error`; miners
 * parse JSON, so order does not matter to them, but a fixed one makes the
 * lines testable byte for byte. Numbers never use exponent notation (see
 * `formatJsonNumber`).
 *
 * Inputs are Headframe's own values, so a bad one (odd-length hex, a
 * fraction for a uint32, a non-finite difficulty) is a bug: encoders throw
 * `RangeError` rather than send a line some firmware would choke on.
 */
import { REJECT_CODES, type RejectReason } from './reject-codes.js'
import { encodeId, formatJsonNumber, hex8, isUint32, toHex, toHex8, type JsonRpcId } from './wire-format.js'

/** Hex given as a string (checked, lowercased) or as bytes. */
export type HexInput = string | Uint8Array

/** A successful reply: `{"id":…,"result":…,"error":null}`. `result` must be JSON-serializable. */
export function encodeResult(id: JsonRpcId, result: unknown): string {
  // `true` is every accepted share's answer: no JSON.stringify call for it.
  return `{"id":${encodeId(id)},"result":${result === true ? 'true' : (JSON.stringify(result) ?? 'null')},"error":null}\n`
}

/** An error reply: `{"id":…,"result":null,"error":[code,"message",null]}`. */
export function encodeError(id: JsonRpcId, code: number, message: string): string {
  if (!Number.isSafeInteger(code)) throw new RangeError(`encodeError: code must be an integer, got ${String(code)}`)
  return `{"id":${encodeId(id)},"result":null,"error":[${code},${JSON.stringify(message)},null]}\n`
}

/** An error reply for a reject reason, with its standard message or a more precise one. */
export function encodeReject(id: JsonRpcId, reason: RejectReason, message?: string): string {
  const [code, standard] = REJECT_CODES[reason]
  return encodeError(id, code, message ?? standard)
}

/** What a subscribe reply hands out. */
export interface SubscribeGrant {
  /** The session id; the miner may send it back on its next subscribe to resume. */
  readonly subscriptionId: string
  readonly extranonce1: HexInput
  /** Bytes of extranonce2 the miner rolls. */
  readonly extranonce2Size: number
}

function checkSize(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > 32) throw new RangeError(`${what}: extranonce2 size must be an integer 0-32, got ${String(n)}`)
}

/**
 * The reply to `mining.subscribe`:
 * `[[["mining.set_difficulty",id],["mining.notify",id]],extranonce1,extranonce2Size]`.
 */
export function encodeSubscribeResult(id: JsonRpcId, grant: SubscribeGrant): string {
  checkSize('encodeSubscribeResult', grant.extranonce2Size)
  const sub = JSON.stringify(grant.subscriptionId)
  const en1 = toHex(grant.extranonce1, 'encodeSubscribeResult: extranonce1')
  return `{"id":${encodeId(id)},"result":[[["mining.set_difficulty",${sub}],["mining.notify",${sub}]],"${en1}",${grant.extranonce2Size}],"error":null}\n`
}

/** What the pool grants in reply to `mining.configure`; an extension left out is answered `false`. */
export interface ConfigureGrant {
  /** The granted version-rolling mask (pool mask AND miner mask); absent: `"version-rolling": false`. */
  readonly versionRollingMask?: number
  /** `minimum-difficulty` accepted. */
  readonly minimumDifficulty?: boolean
  /** `subscribe-extranonce` accepted (the session will push `mining.set_extranonce`). */
  readonly subscribeExtranonce?: boolean
  /** `info` accepted. */
  readonly info?: boolean
}

/**
 * The reply to `mining.configure`, answering exactly the extensions
 * requested, in their order. BIP 310: every requested extension gets a
 * value (`false` when unsupported or unknown); nothing else is added,
 * because WhatsMiner reconnects in a loop when the reply has keys it did
 * not ask for. Version rolling adds `"version-rolling.mask"`.
 */
export function encodeConfigureResult(id: JsonRpcId, requested: readonly string[], grant: ConfigureGrant): string {
  const parts: string[] = []
  const seen = new Set<string>()
  for (const name of requested) {
    if (seen.has(name)) continue
    seen.add(name)
    const key = JSON.stringify(name)
    if (name === 'version-rolling') {
      const mask = grant.versionRollingMask
      parts.push(mask === undefined ? `${key}:false` : `${key}:true,"version-rolling.mask":"${hex8(mask)}"`)
    } else if (name === 'minimum-difficulty') {
      parts.push(`${key}:${grant.minimumDifficulty === true}`)
    } else if (name === 'subscribe-extranonce') {
      parts.push(`${key}:${grant.subscribeExtranonce === true}`)
    } else if (name === 'info') {
      parts.push(`${key}:${grant.info === true}`)
    } else {
      parts.push(`${key}:false`)
    }
  }
  return `{"id":${encodeId(id)},"result":{${parts.join(',')}},"error":null}\n`
}

/** One job as `mining.notify` sends it. */
export interface NotifyJob {
  readonly jobId: string
  /**
   * The previous block hash as Stratum sends it: the header's 32 bytes with
   * each 4-byte word byte-swapped (the classic Stratum quirk), 64 hex
   * digits, written as given.
   */
  readonly prevHash: string
  readonly coinb1: HexInput
  readonly coinb2: HexInput
  /** Sibling hashes from the coinbase up, 32 bytes each, in internal byte order. */
  readonly merkleBranch: readonly HexInput[]
  /** Block version: a uint32 or 8 big-endian hex digits. */
  readonly version: number | string
  /** Compact network target: a uint32 or 8 big-endian hex digits. */
  readonly nbits: number | string
  /** Job time: a uint32 or 8 big-endian hex digits. */
  readonly ntime: number | string
  /** Drop all earlier jobs (a new previous block, or a difficulty change that must apply now). */
  readonly cleanJobs: boolean
}

/**
 * `mining.notify` for a job. Build it once per job and write the same string
 * to every session: it is sent to thousands of them.
 */
export function encodeNotify(job: NotifyJob): string {
  const what = 'encodeNotify'
  const prevHash = toHex(job.prevHash, `${what}: prevHash`)
  if (prevHash.length !== 64) throw new RangeError(`${what}: prevHash must be 64 hex digits, got ${prevHash.length}`)
  const branch = job.merkleBranch.map((hash, i) => {
    const hex = toHex(hash, `${what}: merkleBranch[${i}]`)
    if (hex.length !== 64) throw new RangeError(`${what}: merkleBranch[${i}] must be 32 bytes, got ${hex.length / 2}`)
    return `"${hex}"`
  })
  return (
    `{"id":null,"method":"mining.notify","params":[${JSON.stringify(job.jobId)},"${prevHash}",` +
    `"${toHex(job.coinb1, `${what}: coinb1`)}","${toHex(job.coinb2, `${what}: coinb2`)}",[${branch.join(',')}],` +
    `"${toHex8(job.version, `${what}: version`)}","${toHex8(job.nbits, `${what}: nbits`)}","${toHex8(job.ntime, `${what}: ntime`)}",` +
    `${job.cleanJobs}]}\n`
  )
}

/**
 * `mining.set_difficulty`. Fractions are allowed (CPU miners, tests); the
 * number is written without exponent (see `formatJsonNumber`). Note that
 * firmware reading it as an integer (old cgminer forks: `json_integer_value`;
 * ESP-Miner builds reading cJSON `valueint`) truncates a fraction: keep
 * difficulties of such miners integral.
 */
export function encodeSetDifficulty(difficulty: number): string {
  if (!(difficulty > 0) || !Number.isFinite(difficulty)) {
    throw new RangeError(`encodeSetDifficulty: difficulty must be a finite number > 0, got ${String(difficulty)}`)
  }
  return `{"id":null,"method":"mining.set_difficulty","params":[${formatJsonNumber(difficulty)}]}\n`
}

/** `mining.set_version_mask(mask)` (BIP 310): the new mask applies at once. */
export function encodeSetVersionMask(mask: number): string {
  return `{"id":null,"method":"mining.set_version_mask","params":["${hex8(mask)}"]}\n`
}

/** `mining.set_extranonce(extranonce1, extranonce2Size)` (NiceHash extension): applies from the next job. */
export function encodeSetExtranonce(extranonce1: HexInput, extranonce2Size: number): string {
  checkSize('encodeSetExtranonce', extranonce2Size)
  return `{"id":null,"method":"mining.set_extranonce","params":["${toHex(extranonce1, 'encodeSetExtranonce: extranonce1')}",${extranonce2Size}]}\n`
}

/** Where `client.reconnect` sends the miner; all optional, but a port needs a host. */
export interface ReconnectTarget {
  readonly host?: string
  readonly port?: number
  /** Seconds to wait before reconnecting. */
  readonly waitSeconds?: number
}

/**
 * `client.reconnect([host, port[, wait]])`; no params: reconnect to the
 * same pool. The port is sent as a string: cgminer and its descendants
 * (bmminer, WhatsMiner's fork) read it with `json_string_value` and fall
 * back to the old port on a number; bfgminer takes both.
 */
export function encodeReconnect(target: ReconnectTarget = {}): string {
  const { host, port, waitSeconds } = target
  const params: string[] = []
  if (host !== undefined) params.push(JSON.stringify(host))
  if (port !== undefined) {
    if (host === undefined) throw new RangeError('encodeReconnect: a port needs a host')
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`encodeReconnect: port must be an integer 1-65535, got ${String(port)}`)
    params.push(`"${port}"`)
  }
  if (waitSeconds !== undefined) {
    if (port === undefined) throw new RangeError('encodeReconnect: a wait needs a host and a port')
    if (!isUint32(waitSeconds)) throw new RangeError(`encodeReconnect: waitSeconds must be a non-negative integer, got ${String(waitSeconds)}`)
    params.push(String(waitSeconds))
  }
  return `{"id":null,"method":"client.reconnect","params":[${params.join(',')}]}\n`
}

/** `client.show_message(message)`: shown in the miner's log or UI. */
export function encodeShowMessage(message: string): string {
  return `{"id":null,"method":"client.show_message","params":[${JSON.stringify(message)}]}\n`
}

/** `mining.ping` to a miner (Bitaxe, bmminer answer it); the reply decodes as a `response`. */
export function encodePing(id: JsonRpcId): string {
  return `{"id":${encodeId(id)},"method":"mining.ping","params":[]}\n`
}

/** `client.get_version` to a miner; the reply (a string such as "cgminer/4.12.1") decodes as a `response`. */
export function encodeGetVersion(id: JsonRpcId): string {
  return `{"id":${encodeId(id)},"method":"client.get_version","params":[]}\n`
}
