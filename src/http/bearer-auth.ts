/**
 * Bearer-token check for admin routes. Both sides are hashed to SHA-256
 * first so `timingSafeEqual` compares equal lengths and the time taken
 * says nothing about the token, not even its length.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest()

/** A checker for `Authorization` header values against `token` (non-empty). */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  if (token === '') throw new RangeError('an empty admin token turns admin routes off; do not build a checker for it')
  const expected = digest(token)
  return (header) => {
    if (header === undefined) return false
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
    // Still hash something on a malformed header, so it costs the same.
    const given = digest(match?.[1] ?? '')
    return timingSafeEqual(given, expected) && match !== null
  }
}
