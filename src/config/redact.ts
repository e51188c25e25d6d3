/**
 * A copy of the config safe to log or print: every secret is replaced by
 * "(set)" or "(not set)". Secrets are found by key name anywhere in the
 * tree (`password`, `admin_token`), so a new section with a password is
 * covered without a list to keep in step. Masks (`*_mask`) are shown as
 * the 8 hex digits the file holds, so the printed config loads again.
 */
import type { Config } from './schema.js'

/** Keys whose values are secrets, wherever they appear. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'admin_token', 'secret'])

export function redactConfig(config: Config): Record<string, Record<string, unknown>> {
  return redact(config) as Record<string, Record<string, unknown>>
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact)
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    if (SECRET_KEYS.has(key) && typeof inner === 'string') out[key] = inner === '' ? '(not set)' : '(set)'
    else if (key.endsWith('_mask') && typeof inner === 'number') out[key] = (inner >>> 0).toString(16).padStart(8, '0')
    else out[key] = redact(inner)
  }
  return out
}
