/**
 * Loading the config: TOML text → plain object → schema → frozen `Config`.
 * Validation happens once, here; every problem is reported at once, each
 * naming its key path and what was expected.
 */
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse as parseToml, TomlError } from 'smol-toml'
import type { z } from 'zod'
import { ConfigError } from '../errors.js'
import { configSchema, SECRET_ENV, type Config } from './schema.js'

/** Where the config came from, for the start-up log line. */
export type ConfigOrigin = { kind: 'file'; path: string } | { kind: 'defaults' }

/** The config file `npm start` / `headframe run` look for when none is named. */
export const DEFAULT_CONFIG_FILE = 'headframe.toml'

export interface ParseOptions {
  /** Environment to read secrets from (see `SECRET_ENV`); nothing is read when absent. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Name used in error messages (a file path). */
  readonly source?: string
  /**
   * Working directory: relative paths in the config (`ledger.path`) are made
   * absolute against it, as systemd's WorkingDirectory would. Left as they
   * are when absent.
   */
  readonly cwd?: string
}

/** Validates an already-parsed object (e.g. from TOML) and freezes the result. */
export function parseConfig(input: unknown, options: ParseOptions = {}): Config {
  const withSecrets = applySecretEnv(input, options.env)
  const result = configSchema.safeParse(withSecrets, { reportInput: true })
  if (!result.success) {
    throw new ConfigError('HF_CONFIG_INVALID', result.error.issues.flatMap(describeIssue), { source: options.source })
  }
  const problems = resolvePasswordEnv(result.data, options.env ?? {})
  if (problems.length > 0) throw new ConfigError('HF_CONFIG_INVALID', problems, { source: options.source })
  if (options.cwd !== undefined) result.data.ledger.path = resolve(options.cwd, result.data.ledger.path)
  return deepFreeze(result.data)
}

/** Parses TOML text and validates it. */
export function parseConfigToml(text: string, options: ParseOptions = {}): Config {
  let raw: unknown
  try {
    raw = parseToml(text)
  } catch (err) {
    const detail = err instanceof TomlError ? `line ${err.line}, column ${err.column}: ${firstLine(err.message)}` : String(err)
    throw new ConfigError('HF_CONFIG_PARSE', [`not valid TOML (${detail})`], { cause: err, source: options.source })
  }
  return parseConfig(raw, options)
}

/** Reads and validates a TOML config file. */
export async function loadConfigFile(path: string, options: Omit<ParseOptions, 'source'> = {}): Promise<Config> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read it (${(err as Error).message})`
    throw new ConfigError('HF_CONFIG_READ', [reason], { cause: err, source: path })
  }
  return parseConfigToml(text, { ...options, source: path })
}

/**
 * Loads the config the way the CLI does: the file named by `--config`, else
 * `./headframe.toml` when it exists, else the built-in defaults.
 */
export async function loadConfig(
  explicitPath: string | undefined,
  options: Omit<ParseOptions, 'source'> & { cwd?: string } = {},
): Promise<{ config: Config; origin: ConfigOrigin }> {
  const cwd = options.cwd ?? process.cwd()
  const path = explicitPath ?? (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE)) ? DEFAULT_CONFIG_FILE : undefined)
  const opts = { ...options, cwd }
  if (path === undefined) return { config: parseConfig({}, opts), origin: { kind: 'defaults' } }
  const full = resolve(cwd, path)
  return { config: await loadConfigFile(full, opts), origin: { kind: 'file', path: full } }
}

function applySecretEnv(input: unknown, env: ParseOptions['env']): unknown {
  if (env === undefined || !isTable(input)) return input
  let out: Record<string, unknown> = input
  for (const [name, path] of Object.entries(SECRET_ENV)) {
    const value = env[name]
    if (value !== undefined && value !== '') out = withValue(out, path, value)
  }
  return out
}

/** A copy of `table` with `path` set, copying only the tables on the path; a non-table on the path is left for the schema to report. */
function withValue(table: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [key, ...rest] = path
  if (key === undefined) return table
  if (rest.length === 0) return { ...table, [key]: value }
  const inner = table[key] ?? {}
  if (!isTable(inner)) return table
  return { ...table, [key]: withValue(inner, rest, value) }
}

/** Fills `password` of every bitcoind node and upstream source that names a `password_env`; lists the variables not set. */
function resolvePasswordEnv(config: z.output<typeof configSchema>, env: NonNullable<ParseOptions['env']>): string[] {
  const problems: string[] = []
  config.sources.forEach((source, i) => {
    if (source.type === 'upstream') {
      if (source.password_env === '') return
      const value = env[source.password_env]
      if (value === undefined || value === '') problems.push(`sources.${i}.password_env: environment variable ${source.password_env} is not set`)
      else source.password = value
      return
    }
    source.nodes.forEach((node, j) => {
      if (node.password_env === '') return
      const value = env[node.password_env]
      if (value === undefined || value === '') problems.push(`sources.${i}.nodes.${j}.password_env: environment variable ${node.password_env} is not set`)
      else node.password = value
    })
  })
  // [payouts.onchain] password_env and [[webhooks]] secret_env, the same way.
  const onchain = config.payouts.onchain
  if (onchain.password_env !== '') {
    const value = env[onchain.password_env]
    if (value === undefined || value === '') problems.push(`payouts.onchain.password_env: environment variable ${onchain.password_env} is not set`)
    else onchain.password = value
  }
  config.webhooks.forEach((hook, i) => {
    if (hook.secret_env === '') return
    const value = env[hook.secret_env]
    if (value === undefined || value === '') problems.push(`webhooks.${i}.secret_env: environment variable ${hook.secret_env} is not set`)
    else hook.secret = value
  })
  return problems
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const path = issue.path.map(String).join('.')
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${path === '' ? key : `${path}.${key}`}: unknown key`)
  }
  const where = path === '' ? '(top level)' : path
  // A union's discriminator issue carries the whole table: show the key's own value.
  const last = issue.path[issue.path.length - 1]
  const input = typeof last === 'string' && isTable(issue.input) && last in issue.input ? issue.input[last] : issue.input
  return [`${where}: expected ${issue.message}, got ${show(input)}`]
}

/** A short, safe rendering of the offending value (strings quoted, tables named). */
function show(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value instanceof Date) return `a date (${value.toISOString()})`
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object' && value !== null) return 'a table'
  if (typeof value === 'bigint') return value.toString()
  const json = JSON.stringify(value)
  return json.length > 80 ? `${json.slice(0, 77)}..."` : json
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
