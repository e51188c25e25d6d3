/**
 * Field builders for the config schema. Each field carries the words that
 * finish "expected ..." so that every error reads
 * `stratum.port: expected an integer 1-65535, got "abc"`.
 */
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
