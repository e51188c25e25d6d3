/**
 * A copy of the config safe to log or print: every secret (the keys that
 * `SECRET_ENV` may set) is replaced by "(set)" or "(not set)".
 */
import { SECRET_ENV, type Config } from './schema.js'

export function redactConfig(config: Config): Record<string, Record<string, unknown>> {
  const out = structuredClone(config) as unknown as Record<string, Record<string, unknown>>
  for (const path of Object.values(SECRET_ENV)) {
    let table: Record<string, unknown> | undefined = out
    for (const key of path.slice(0, -1)) table = table?.[key] as Record<string, unknown> | undefined
    const last = path[path.length - 1] as string
    if (table !== undefined && last in table) table[last] = table[last] === '' ? '(not set)' : '(set)'
  }
  return out
}
