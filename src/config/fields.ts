/**
 * Field builders for the config schema. Each field carries the words that
 * finish "expected ..." so that every error reads
 * `stratum.port: expected an integer 1-65535, got "abc"`.
 */
import { isIP } from 'node:net'
import { z } from 'zod'

/** An integer in [min, max]. */
export function int(min: number, max: number): z.ZodNumber {
  const expected = `an integer ${min}-${max}`
  return z
    .number({ error: expected })
    .int({ error: expected })
    .min(min, { error: expected })
    .max(max, { error: expected })
}

/** A finite number in [min, max] (fractions allowed). */
export function num(min: number, max: number): z.ZodNumber {
  const expected = `a number ${min}-${max}`
  return z.number({ error: expected }).min(min, { error: expected }).max(max, { error: expected })
}

/** A boolean. */
export function bool(): z.ZodBoolean {
  return z.boolean({ error: 'true or false' })
}

/** A string of 0..max characters (secrets, paths, tags). */
export function str(max = 4096, min = 0): z.ZodString {
  const expected = min > 0 ? `a string of ${min}-${max} characters` : `a string of at most ${max} characters`
  return z.string({ error: expected }).min(min, { error: expected }).max(max, { error: expected })
}

/** One of a fixed list of strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodEnum<{ [K in T[number]]: K }> {
  return z.enum(values, { error: `one of ${values.map((v) => `"${v}"`).join(', ')}` })
}

/** An IPv4 or IPv6 address to bind to (or a host name). */
export function host(): z.ZodString {
  const expected = 'an IP address or host name'
  return z
    .string({ error: expected })
    .min(1, { error: expected })
    .max(253, { error: expected })
    .regex(/^[A-Za-z0-9.:_-]+$/, { error: expected })
}

/** A 32-bit mask written as 8 hex digits (e.g. "1fffe000"), parsed to a number. */
export function hexMask() {
  const expected = 'a 32-bit mask as 8 hex digits (e.g. "1fffe000")'
  return z
    .string({ error: expected })
    .regex(/^(0x)?[0-9a-fA-F]{8}$/, { error: expected })
    .transform((v) => Number.parseInt(v.replace(/^0x/, ''), 16) >>> 0)
}

/** A list of IPv4/IPv6 CIDR blocks (or single addresses). */
export function cidrList() {
  const expected = 'CIDR blocks such as "10.0.0.0/8" or "fd00::/8"'
  return z.array(
    z.string({ error: expected }).refine((v) => parseCidr(v) !== undefined, { error: expected }),
    { error: `a list of ${expected}` },
  )
}

/** A CIDR block as [address, prefix, family], or undefined when malformed. */
export function parseCidr(value: string): [string, number, 'ipv4' | 'ipv6'] | undefined {
  const [address, prefixText, ...rest] = value.split('/')
  if (address === undefined || rest.length > 0) return undefined
  const family = isIP(address)
  if (family === 0) return undefined
  const max = family === 4 ? 32 : 128
  const prefix = prefixText === undefined ? max : Number(prefixText)
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return undefined
  return [address, prefix, family === 4 ? 'ipv4' : 'ipv6']
}

/** The name of an environment variable holding a secret (empty: none), so the secret stays out of the file. */
export function envName() {
  return z
    .string({ error: 'an environment variable name' })
    .regex(/^([A-Z_][A-Z0-9_]*)?$/, { error: 'an environment variable name (A-Z, 0-9, _)' })
    .default('')
}
