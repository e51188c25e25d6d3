/**
 * Input generators (fast-check arbitraries) shared by the fuzz targets:
 * what a hostile or broken miner, bitcoind or caller can send. Everything
 * generated is plain JSON (strings, numbers, arrays, objects), so a failing
 * case can be written to a regression file and replayed exactly.
 *
 * Real data comes first: lines of the recorded miner sessions in
 * test/fixtures/stratum and the regtest templates in test/fixtures/regtest,
 * mutated byte by byte or field by field. Fixtures are found from the
 * package root, so the same code runs from `scripts/` under tap and from
 * `dist/scripts/` under plain Node.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { PACKAGE_ROOT } from '../src/package-info.js'

/** A file under test/fixtures. */
export function fixtureText(name: string): string {
  return readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', name), 'utf8')
}

/** What miners sent in the recorded sessions (cpuminer, bfgminer against ckpool). */
export const MINER_LINES: readonly string[] = ['stratum/cpuminer-ckpool.jsonl', 'stratum/bfgminer-ckpool.jsonl'].flatMap((name) =>
  fixtureText(name)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { dir: string; line: string })
    .filter((l) => l.dir === 'miner->pool')
    .map((l) => l.line),
)

export const METHODS = [
  'mining.configure',
  'mining.subscribe',
  'mining.authorize',
  'mining.submit',
  'mining.extranonce.subscribe',
  'mining.suggest_difficulty',
  'mining.suggest_target',
  'mining.multi_version',
  'mining.get_transactions',
  'mining.ping',
  'client.get_version',
] as const

/** Number literals JSON.stringify never writes: huge, negative zero, exponents, beyond 2^53 and 2^64. */
const ODD_NUMBERS = [
  '0',
  '-0',
  '-1',
  '1.5',
  '1e400',
  '-1e400',
  '1E+2',
  '4294967295',
  '4294967296',
  '9007199254740993',
  '18446744073709551616',
  '123456789012345678901234567890123456789',
  '0.0000000000000000000001',
  '1e-400',
]

const HEX_STRINGS = ['', '0x', '0X', 'ffffffff', 'FFFFFFFF', '6b09bced', '0x6b09bced', '100000000', 'zz', '0g', '00000000', 'deadbeefdeadbeef', ' 1', '1 ', '-1', '+1']

const KEYS = ['id', 'method', 'params', 'result', 'error', 'jsonrpc', 'version-rolling.mask', 'version-rolling.min-bit-count', 'minimum-difficulty.value', 'info.hw-id', '__proto__', '\\u005f_proto__', 'constructor', 'x']

/** A JSON string literal (quoted, escaped) of any Unicode text, lone surrogates included. */
const rawString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.constantFrom(...HEX_STRINGS).map((s) => JSON.stringify(s)),
  fc.constantFrom('"$JOB"', '"acct.rig"', '"acct.rig1"', '"x"', '"\\ud800"', '"矿工.🚀"', '"a\\u0000b"', '"\\"'),
  fc.stringMatching(/^[0-9a-fA-F]{0,40}$/).map((s) => JSON.stringify(s)),
)

/**
 * Raw JSON text: any value, including number literals JSON.stringify would
 * never produce and nesting far past the decoder's depth limit.
 */
export const rawJson: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...ODD_NUMBERS),
    fc.double().map((n) => (Number.isFinite(n) ? String(n) : '1e999')),
    fc.integer().map(String),
    rawString,
    fc.constantFrom('true', 'false', 'null'),
    fc.array(tie('value'), { maxLength: 6 }).map((a) => `[${a.join(',')}]`),
    fc
      .array(fc.tuple(fc.constantFrom(...KEYS), tie('value')), { maxLength: 4 })
      .map((kv) => `{${kv.map(([k, v]) => `"${k}":${v}`).join(',')}}`),
    fc.integer({ min: 1, max: 3000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
    fc.integer({ min: 1, max: 200 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  ),
})).value

/** Params shaped like each method's, with wrong types slipped into any field. */
const rawParams: fc.Arbitrary<string> = fc.oneof(
  fc.array(rawJson, { maxLength: 8 }).map((a) => `[${a.join(',')}]`),
  // A plausible submit with one field swapped for anything.
  fc
    .tuple(fc.integer({ min: 0, max: 5 }), rawJson)
    .map(([at, bad]) => {
      const fields = ['"acct.rig"', '"$JOB"', '"00000000"', '"6b09bced"', '"2a3b4c5d"', '"00000000"']
      fields[at] = bad
      return `[${fields.join(',')}]`
    }),
  // A configure with bad extension options.
  fc.tuple(rawJson, rawJson).map(([a, b]) => `[["version-rolling","minimum-difficulty"],{"version-rolling.mask":${a},"minimum-difficulty.value":${b}}]`),
  rawJson,
)

/** A Stratum request line: fields in any order, any missing, any of any type. */
export const stratumLine: fc.Arbitrary<string> = fc
  .record(
    {
      id: fc.oneof(fc.integer({ min: 0, max: 1000 }).map(String), rawJson),
      method: fc.oneof(fc.constantFrom(...METHODS).map((m) => JSON.stringify(m)), rawString, rawJson),
      params: rawParams,
      extra: rawJson,
    },
    { requiredKeys: [] },
  )
  .chain((fields) => fc.shuffledSubarray(Object.entries(fields), { minLength: Object.keys(fields).length }))
  .map((entries) => `{${entries.map(([k, v]) => `"${k === 'extra' ? 'x' : k}":${v}`).join(',')}}`)

/** One mutation of a string: delete, insert, replace, duplicate a slice, rotate. */
const mutation = fc.tuple(fc.nat({ max: 4 }), fc.nat(), fc.nat(), fc.constantFrom(...'{}[]":,\\ 0123456789abcdefxX-+.eE\u0000\u00e9\ud83d\n\r'))

export function applyMutations(line: string, ops: readonly (readonly [number, number, number, string])[]): string {
  let s = line
  for (const [kind, a, b, c] of ops) {
    const at = s.length === 0 ? 0 : a % (s.length + 1)
    const other = s.length === 0 ? 0 : b % (s.length + 1)
    if (kind === 0) s = s.slice(0, at) + s.slice(at + 1)
    else if (kind === 1) s = s.slice(0, at) + c + s.slice(at)
    else if (kind === 2) s = s.slice(0, at) + c + s.slice(at + 1)
    else if (kind === 3) s = s.slice(0, at) + s.slice(Math.min(at, other), Math.max(at, other)) + s.slice(at)
    else s = s.slice(at) + s.slice(0, at)
  }
  return s
}

/** A recorded miner line with a few byte-level mutations. */
export const mutatedTranscriptLine: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...MINER_LINES), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([line, ops]) => applyMutations(line, ops))

/** Random bytes read as UTF-8 (replacement characters included). */
export const randomBytesLine: fc.Arbitrary<string> = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8'))

/** Any line a miner could send (without its terminator; it may still contain CR or LF). */
export const anyLine: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: stratumLine, weight: 4 },
  { arbitrary: mutatedTranscriptLine, weight: 3 },
  { arbitrary: fc.constantFrom(...MINER_LINES), weight: 1 },
  { arbitrary: randomBytesLine, weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 1 },
)

/** A mutation of a JSON value at one path: replace with anything, delete, or wrap. */
export interface JsonMutation {
  /** Which node, counted depth-first, modulo the number of nodes. */
  readonly at: number
  readonly op: 'replace' | 'delete' | 'wrap'
  /** Raw JSON text of the replacement. */
  readonly with: string
}

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('replace', 'delete', 'wrap'),
  with: rawJson,
})

/** `value` with `mutations` applied (a new value; the input is not changed). */
export function mutateJson(value: unknown, mutations: readonly JsonMutation[]): unknown {
  let root = structuredClone(value)
  for (const m of mutations) {
    const nodes: { parent: Record<string, unknown> | unknown[] | undefined; key: string | number }[] = [{ parent: undefined, key: '' }]
    const walk = (v: unknown): void => {
      if (v === null || typeof v !== 'object') return
      for (const [k, child] of Object.entries(v)) {
        nodes.push({ parent: v as Record<string, unknown>, key: Array.isArray(v) ? Number(k) : k })
        walk(child)
      }
    }
    walk(root)
    const node = nodes[m.at % nodes.length] as (typeof nodes)[number]
    let replacement: unknown
    try {
      replacement = JSON.parse(m.with)
    } catch {
      replacement = m.with
    }
    if (node.parent === undefined) {
      root = m.op === 'wrap' ? [root] : replacement
      continue
    }
    const parent = node.parent as Record<string | number, unknown>
    if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(node.key as number, 1)
      else delete parent[node.key]
    } else {
      parent[node.key] = m.op === 'wrap' ? [parent[node.key]] : replacement
    }
  }
  return root
}
