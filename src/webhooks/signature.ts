/**
 * Webhook signatures: `X-Headframe-Signature: sha256=<hex>`, the
 * HMAC-SHA256 of the exact request body bytes under the endpoint's secret
 * (lowercase hex, 64 digits). The receiver recomputes it over the raw body
 * it read, before parsing the JSON, and compares in constant time
 * (`verifySignature` does exactly that and is exported for receivers
 * written in TypeScript). docs/webhooks.md has the same in other words.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** The header carrying the signature. */
export const SIGNATURE_HEADER = 'x-headframe-signature'

/** `sha256=<hex>` of `body` under `secret`. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** True when `header` is the signature of `body` under `secret` (constant-time compare). */
export function verifySignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (typeof header !== 'string') return false
  const expected = Buffer.from(signBody(secret, body), 'utf8')
  const given = Buffer.from(header, 'utf8')
  return given.length === expected.length && timingSafeEqual(given, expected)
}
