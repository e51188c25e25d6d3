/**
 * A copy of the config safe to log or print: every secret (the keys that
 * `SECRET_ENV` may set) is replaced by "(set)" or "(not set)".
 */
import { SECRET_ENV, type Config } from './schema.js'

export function redactConfig(config: Config): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {}
  for (const [section, values] of Object.entries(config)) out[section] = { ...(values as Record<string, unknown>) }
  for (const [section, key] of Object.values(SECRET_ENV)) {
    const table = out[section]
    if (table !== undefined && key in table) table[key] = table[key] === '' ? '(not set)' : '(set)'
  }
  return out
}
