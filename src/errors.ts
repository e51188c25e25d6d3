/**
 * The one error catalogue. Every error Headframe raises on purpose is a
 * `HeadframeError` with a stable `code` from `ERROR_CODES` and, where it wraps
 * another failure, a `cause`. `docs/errors.md` lists the same codes; a test
 * keeps the two in step.
 *
 * Rejected shares are not errors: they are values (see CONVENTIONS.md §3).
 * Errors are for what ends a session, a command or the process.
 */

/** Stable codes and what each means. Add here, then to docs/errors.md. */
export const ERROR_CODES = {
  HF_CONFIG_READ: 'The config file could not be read (missing, unreadable).',
  HF_CONFIG_PARSE: 'The config file is not valid TOML.',
  HF_CONFIG_INVALID: 'The config has unknown keys or values of the wrong type or range.',
  HF_STRATUM_LISTEN: 'The Stratum listener could not bind its address and port.',
  HF_HTTP_LISTEN: 'The HTTP API could not bind its address and port.',
  HF_STRATUM_TLS: 'The TLS certificate or key for the Stratum TLS listener could not be read or used.',
  HF_HASHER_UNAVAILABLE: 'The hasher backend asked for (native addon or one of its implementations) cannot run here.',
  HF_HASHER_ENV: '`HEADFRAME_HASHER` or `HEADFRAME_SHA256` holds a value that is not one of the accepted names.',
  HF_BITCOIND_UNREACHABLE: 'bitcoind could not be reached: connection refused or reset, host not found, or the connection closed before an answer.',
  HF_BITCOIND_AUTH: "bitcoind rejected the RPC credentials (HTTP 401), or refused this client's address (HTTP 403).",
  HF_BITCOIND_COOKIE: 'The bitcoind cookie file could not be read or holds no `user:password` line.',
  HF_BITCOIND_TIMEOUT: 'A bitcoind RPC call got no complete answer within its timeout.',
  HF_BITCOIND_WARMING_UP: 'bitcoind is starting (RPC error -28: loading the block index, verifying blocks, ...) and answers no calls yet.',
  HF_BITCOIND_IBD: 'bitcoind is in initial block download: it cannot serve work for the current chain tip yet.',
  HF_BITCOIND_WRONG_NETWORK: 'bitcoind runs a different chain than the configured `network`.',
  HF_BITCOIND_BAD_RESPONSE: 'bitcoind answered with something that is not the expected JSON-RPC answer (garbage, truncated or malformed JSON, a missing or mistyped field).',
  HF_BITCOIND_HTTP: 'bitcoind answered with an HTTP error status and no JSON-RPC body (e.g. 503 when its RPC work queue is full).',
  HF_BITCOIND_RPC: 'bitcoind answered a call with a JSON-RPC error; its code and message are kept on the error.',
  HF_BITCOIND_CLOSED: 'A call was made on, or was still running when, the bitcoind RPC client was closed.',
  HF_LEDGER_OPEN: 'The ledger database could not be opened or created at its path (not a directory, not writable, an I/O error).',
  HF_LEDGER_LOCKED: 'The ledger database is in use by another process: LevelDB lets one process open a database at a time.',
  HF_LEDGER_CORRUPT: 'The ledger database is damaged: LevelDB reports corruption, or a stored record does not parse.',
  HF_LEDGER_VERSION: 'The ledger folder holds a schema version this build cannot read (written by a newer Headframe), or a database that is not a Headframe ledger.',
  HF_LEDGER_WRITE: 'A ledger write failed (disk full, read-only file system, I/O error): the shares or entries of that write were not recorded.',
  HF_LEDGER_READ: 'A ledger query failed on an I/O error.',
  HF_LEDGER_CLOSED: 'A ledger operation was made after the ledger was closed.',
  HF_LEDGER_INVALID: 'A value handed to the ledger is malformed or out of range (a difficulty that is not a positive finite number, a name with `/` or spaces, an amount that is not a positive integer, an unknown block).',
  HF_LEDGER_BALANCE: 'A debit would make an account balance negative; nothing was written.',
  HF_LEDGER_CONFLICT: 'A journal posting reused an idempotency reference with different entries, or a block hash was added again with a different height or finder; nothing was written.',
  HF_REPORT_INVALID: 'A report or upstream revenue request has a bad argument (an unknown report name, a date that is not YYYY-MM-DD or ISO 8601, an empty range, an amount out of range).',
  HF_POOL_API: "The ledger is held by the running pool and its HTTP API could not do the request (not reachable, HTTP turned off, no admin token, or it answered an error).",
  HF_PAYOUT_SEND: 'The payout sender (the bitcoind wallet) refused a payout batch with an answer: nothing was paid; the batch is marked failed and its amounts are credited back.',
  HF_PAYOUT_UNKNOWN: 'A payout send got no answer (timeout, connection lost): the batch may or may not have been paid. It stays pending and is reconciled against the wallet, by the batch id in the transaction comment, before anything is sent again.',
  HF_WEBHOOK_DELIVERY: 'A webhook endpoint did not accept an event (connection failed, timeout, or an HTTP status other than 2xx); the event stays in the outbox and is retried with backoff.',
} as const satisfies Record<string, string>

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES

/** Base class of every error Headframe raises on purpose. */
export class HeadframeError extends Error {
  /** Stable, documented code (see `ERROR_CODES`, docs/errors.md). */
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** The config could not be loaded; `problems` lists every problem found, one line each. */
export class ConfigError extends HeadframeError {
  readonly problems: readonly string[]

  constructor(
    code: 'HF_CONFIG_READ' | 'HF_CONFIG_PARSE' | 'HF_CONFIG_INVALID',
    problems: readonly string[],
    options?: { cause?: unknown; source?: string },
  ) {
    const where = options?.source === undefined ? 'config' : options.source
    const head = problems.length === 1 ? `${where}: ${problems[0]}` : `${where}: ${problems.length} problems:\n  ${problems.join('\n  ')}`
    super(code, head, options)
    this.problems = Object.freeze([...problems])
  }
}

/** A hasher backend or implementation could not be selected. */
export class HasherError extends HeadframeError {}

/** A Stratum listener could not start. */
export class ListenError extends HeadframeError {}

/** A report or revenue request could not be made (src/reports, src/cli/ledger-commands.ts). */
export class ReportError extends HeadframeError {
  declare readonly code: 'HF_REPORT_INVALID' | 'HF_POOL_API'
}

/** A payout could not be sent, or whether it was is not known (src/payouts/sender.ts). */
export class PayoutError extends HeadframeError {
  declare readonly code: 'HF_PAYOUT_SEND' | 'HF_PAYOUT_UNKNOWN'
}

/** A webhook endpoint did not accept an event (src/webhooks/dispatcher.ts). */
export class WebhookError extends HeadframeError {
  declare readonly code: 'HF_WEBHOOK_DELIVERY'
}

/** The codes a `BitcoindError` carries. */
export type BitcoindErrorCode = Extract<ErrorCode, `HF_BITCOIND_${string}`>

/** What a `BitcoindError` knows beyond its code and message. Never credentials. */
export interface BitcoindErrorDetails {
  /** The node's RPC URL without credentials. */
  readonly url: string
  /** The RPC method called, when the error belongs to one call. */
  readonly method?: string | undefined
  /** The JSON-RPC error code bitcoind answered (e.g. -28, -8, -25). */
  readonly rpcCode?: number | undefined
  /** The JSON-RPC error message bitcoind answered. */
  readonly rpcMessage?: string | undefined
  /** The HTTP status of the answer, when there was one. */
  readonly httpStatus?: number | undefined
  /**
   * True when no JSON-RPC answer came back (unreachable, timeout, a reset,
   * an HTTP error without a JSON body, an unreadable body): the call may or
   * may not have run on the node. A `submitblock` caller retries on these.
   */
  readonly transport?: boolean
  /** True when waiting and calling again may succeed (warming up, IBD, transport failures). */
  readonly retryable?: boolean
}

/**
 * A bitcoind RPC call failed. `code` says how; `transport` tells a failure
 * to get any answer from an answer that said no (see docs/bitcoind.md).
 */
export class BitcoindError extends HeadframeError {
  declare readonly code: BitcoindErrorCode
  readonly url: string
  readonly method: string | undefined
  readonly rpcCode: number | undefined
  readonly rpcMessage: string | undefined
  readonly httpStatus: number | undefined
  readonly transport: boolean
  readonly retryable: boolean

  constructor(code: BitcoindErrorCode, message: string, details: BitcoindErrorDetails, options?: { cause?: unknown }) {
    super(code, message, options)
    this.url = details.url
    this.method = details.method
    this.rpcCode = details.rpcCode
    this.rpcMessage = details.rpcMessage
    this.httpStatus = details.httpStatus
    this.transport = details.transport ?? false
    this.retryable = details.retryable ?? false
  }
}
