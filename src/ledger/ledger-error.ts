/**
 * The ledger's error: a `HeadframeError` whose code is one of the
 * `HF_LEDGER_*` codes, carrying the database path so an operator reading a
 * log line knows which folder is meant.
 */
import { HeadframeError, type ErrorCode } from '../errors.js'

/** The codes a `LedgerError` carries. */
export type LedgerErrorCode = Extract<ErrorCode, `HF_LEDGER_${string}`>

/** Something the ledger refused or could not do; see docs/errors.md for each code. */
export class LedgerError extends HeadframeError {
  declare readonly code: LedgerErrorCode
  /** The ledger folder, when the error belongs to one database. */
  readonly path: string | undefined

  constructor(code: LedgerErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(code, message, options)
    this.path = options?.path
  }
}
