/**
 * The one table from a reject reason to the Stratum `[code, message]` a
 * miner sees in `error` (sent as `[code, message, null]`).
 *
 * Codes are the de facto Stratum V1 set (slush's original spec, kept by
 * cgminer-family firmware, ckpool, NOMP; see STRATUM-NOTES "Reject codes"):
 * 20 other, 21 job not found (stale), 22 duplicate share, 23 low difficulty
 * share, 24 unauthorized worker, 25 not subscribed. Firmware keys on the
 * code only loosely (Bitaxe shows the message, cgminer counts rejects), so
 * every reason without a code of its own is 20 with a clear message.
 * docs/stratum.md lists the same table; a test keeps the two in step.
 */

/** The Stratum V1 error codes. */
export type StratumErrorCode = 20 | 21 | 22 | 23 | 24 | 25

/** Every reject reason and its `[code, message]`. */
export const REJECT_CODES = {
  /** Anything without a better reason. */
  other: [20, 'Other/Unknown'],
  /** The share's job id was never sent to this session, or has been forgotten. */
  'job-not-found': [21, 'Job not found'],
  /** The job is known but built on an older previous block. */
  stale: [21, 'Stale share'],
  /** Same job, extranonce1, extranonce2, ntime, nonce and version already submitted. */
  duplicate: [22, 'Duplicate share'],
  /** The hash is above the session's share target. */
  'low-difficulty': [23, 'Low difficulty share'],
  /** The worker was not authorized on this session. */
  unauthorized: [24, 'Unauthorized worker'],
  /** A submit (or authorize, by policy) before mining.subscribe. */
  'not-subscribed': [25, 'Not subscribed'],
  /** extranonce2 is not exactly extranonce2_size bytes. */
  'bad-extranonce2': [20, 'Invalid extranonce2 size'],
  /** ntime before the job's time or too far in the future. */
  'bad-ntime': [20, 'Ntime out of range'],
  /** Version bits outside the granted mask, or sent without version rolling negotiated. */
  'bad-version-bits': [20, 'Invalid version bits'],
  /** A method Headframe does not implement; the session stays up. */
  'method-not-found': [20, 'Method not found'],
  /** Not a JSON-RPC request: not an object, no method, an id of the wrong type, too deep. */
  'invalid-request': [20, 'Invalid request'],
  /** The params of a known method have the wrong count, types or encodings. */
  'invalid-params': [20, 'Invalid params'],
  /** The line is not JSON. */
  'parse-error': [20, 'Parse error'],
  /** The line is longer than `stratum.max_line_bytes`; the session is closed after the answer. */
  'line-too-long': [20, 'Line too long'],
} as const satisfies Record<string, readonly [StratumErrorCode, string]>

/** Why a request or share was refused. */
export type RejectReason = keyof typeof REJECT_CODES

/** Every reject reason, in table order. */
export const REJECT_REASONS = Object.freeze(Object.keys(REJECT_CODES)) as readonly RejectReason[]

/** The Stratum error code of a reason. */
export function rejectCode(reason: RejectReason): StratumErrorCode {
  return REJECT_CODES[reason][0]
}

/** The standard message of a reason. */
export function rejectMessage(reason: RejectReason): string {
  return REJECT_CODES[reason][1]
}
