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
  HF_STRATUM_TLS: 'The TLS certificate or key for the Stratum TLS listener could not be read or used.',
  HF_HASHER_UNAVAILABLE: 'The hasher backend asked for (native addon or one of its implementations) cannot run here.',
  HF_HASHER_ENV: '`HEADFRAME_HASHER` or `HEADFRAME_SHA256` holds a value that is not one of the accepted names.',
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
