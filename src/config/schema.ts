/**
 * The one config schema. Every key has a documented default
 * (docs/config.md, headframe.example.toml); unknown keys are errors; the
 * parsed result is frozen. Later components add their own section here.
 *
 * Keys are snake_case, as in the TOML file, so a key in an error message,
 * in the docs and in the code is spelled the same way everywhere.
 */
import { z } from 'zod'
import { bool, host, int, oneOf, str } from './fields.js'

/** A TOML table: unknown keys rejected, missing keys take their defaults. */
function table<S extends z.ZodRawShape>(shape: S) {
  // Every key of a section has a default, so an empty table is valid input.
  return z.strictObject(shape, { error: 'a table' }).prefault({} as never)
}

/** `[stratum]`: the miners' side. */
export const stratumSchema = table({
  /** Address to listen on; a farm LAN wants every interface. */
  host: host().default('0.0.0.0'),
  port: int(1, 65535).default(3333),
  /** Longest Stratum line accepted before the session is closed. */
  max_line_bytes: int(1024, 1048576).default(16384),
  /** Bytes of extranonce1 per session (unique per live session). */
  extranonce1_size: int(2, 8).default(4),
  /** Bytes of extranonce2 the miner rolls. */
  extranonce2_size: int(2, 16).default(8),
})

/** `[http]`: stats API, metrics and dashboard. */
export const httpSchema = table({
  enabled: bool().default(true),
  /** Loopback by default: the API is for the operator, not the farm LAN. */
  host: host().default('127.0.0.1'),
  port: int(1, 65535).default(8080),
  /** Bearer token for admin routes; empty turns them off. Env: HEADFRAME_HTTP_ADMIN_TOKEN. */
  admin_token: str(4096).default(''),
})

/** `[ledger]`: the LevelDB accounting store. */
export const ledgerSchema = table({
  /** Folder of the LevelDB database, relative to the working directory. */
  path: str(4096, 1).default('./data/ledger'),
  /** fsync every group commit (power-loss safe, slower accepts). */
  sync: bool().default(false),
  /** Days per-share records are kept; aggregates and blocks are kept forever. */
  retention_days: int(1, 36500).default(90),
})

/** `[log]`: pino JSON lines on stdout (journald picks them up). */
export const logSchema = table({
  level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
})

/** The whole file. */
export const configSchema = z.strictObject(
  {
    stratum: stratumSchema,
    http: httpSchema,
    ledger: ledgerSchema,
    log: logSchema,
  },
  { error: 'a table' },
)

/** The validated, frozen config every module receives a slice of. */
export type Config = DeepReadonly<z.output<typeof configSchema>>
export type StratumConfig = Config['stratum']
export type HttpConfig = Config['http']
export type LedgerConfig = Config['ledger']
export type LogConfig = Config['log']

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T

/**
 * Secrets may come from the environment instead of the file. Each entry maps
 * an environment variable to the key it sets; the environment wins.
 */
export const SECRET_ENV: Readonly<Record<string, readonly [section: string, key: string]>> = Object.freeze({
  HEADFRAME_HTTP_ADMIN_TOKEN: ['http', 'admin_token'],
})
