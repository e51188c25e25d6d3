/**
 * The fuzz targets: each is an input generator and a property that must
 * hold for every input. The CI tests (test/fuzz/) run each a fixed number
 * of cases from a fixed seed; `npm run fuzz` runs them for minutes from
 * fresh seeds and saves any failing input as a regression file, which the
 * CI tests then replay forever.
 *
 * A property "fails" by throwing: `check` throws a `PropertyViolation`
 * describing what went wrong (or the unexpected error itself escapes).
 * Pure-function targets are cheap (tens of thousands of cases a second);
 * the session target drives a real server's sessions and is slower.
 */
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import { decodeRequest, encodeError, encodeReject, encodeResult, LineFramer, REJECT_REASONS, type DecodeResult, type JsonRpcId } from '../src/stratum/index.js'
import { interpretAnswer, transportError } from '../src/bitcoind/rpc-answer.js'
import { blockchainInfoSchema, blockHeaderInfoSchema, blockTemplateSchema, parseAnswer, submitBlockSchema } from '../src/bitcoind/answers.js'
import { BitcoindError } from '../src/errors.js'
import { loadNativeAddon, type NativeImpl } from '../src/shares/native-addon.js'
import { anyLine, fixtureText, jsonMutation, mutateJson, rawJson, type JsonMutation } from './fuzz-inputs.js'

/** A broken property: the message says which and why. */
export class PropertyViolation extends Error {}

function violated(message: string): never {
  throw new PropertyViolation(message)
}

/** One fuzz target. `T` is plain JSON, so an input can be saved and replayed. */
export interface FuzzTarget<T = unknown> {
  readonly name: string
  /** Cases the CI test runs. */
  readonly ciRuns: number
  readonly arbitrary: fc.Arbitrary<T>
  /** `check` returns a promise. */
  readonly async?: boolean
  /** Throws when the property does not hold for `input`. */
  check(input: T): void | Promise<void>
  /** Releases what the target holds (servers, sockets); called once at the end. */
  close?(): Promise<void>
}

// ---- Stratum codec ---------------------------------------------------------

const KINDS = new Set(['configure', 'subscribe', 'authorize', 'submit', 'extranonce-subscribe', 'suggest-difficulty', 'suggest-target', 'multi-version', 'get-transactions', 'ping', 'response', 'unknown'])

function isId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || typeof id === 'bigint' || (typeof id === 'number' && Number.isFinite(id))
}

/** Checks a decode result is well-formed (throws otherwise). */
export function checkDecoded(r: DecodeResult): void {
  if (r.ok) {
    const req = r.request
    if (!KINDS.has(req.kind)) violated(`unknown kind ${req.kind}`)
    if (!isId(req.id)) violated(`bad id ${String(req.id)}`)
    if (req.kind === 'submit') {
      for (const n of [req.ntime, req.nonce, req.versionBits ?? 0]) if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) violated(`not a uint32: ${n}`)
      if (!Buffer.isBuffer(req.extranonce2)) violated('extranonce2 not a Buffer')
      if (typeof req.worker !== 'string' || typeof req.jobId !== 'string') violated('worker or job id not a string')
    }
    if (req.kind === 'authorize' && (typeof req.user !== 'string' || typeof req.password !== 'string')) violated('user or password not a string')
    if ((req.kind === 'suggest-difficulty') && !(Number.isFinite(req.difficulty) && req.difficulty >= 0)) violated(`difficulty ${req.difficulty}`)
    return
  }
  if (!isId(r.id)) violated(`bad id on a failure: ${String(r.id)}`)
  if (r.error.code !== 20 || typeof r.error.message !== 'string' || r.error.message === '') violated(`bad error ${JSON.stringify(r.error)}`)
  if (!(REJECT_REASONS as readonly string[]).includes(r.reason)) violated(`reason ${r.reason} not in the reject table`)
}

/** One outgoing line: a single JSON object and one LF at the end. */
export function checkOutgoingLine(line: string): Record<string, unknown> {
  if (!line.endsWith('\n') || line.indexOf('\n') !== line.length - 1) violated(`not one line: ${JSON.stringify(line.slice(0, 200))}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch (err) {
    violated(`not JSON (${String(err)}): ${line.slice(0, 200)}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) violated(`not an object: ${line.slice(0, 200)}`)
  return parsed as Record<string, unknown>
}

const decodeTarget: FuzzTarget<string> = {
  name: 'stratum-decode',
  ciRuns: 40_000,
  arbitrary: anyLine,
  check(line) {
    const r = decodeRequest(line)
    checkDecoded(r)
    if (!r.ok) {
      // The error the session would send back is itself a valid line echoing the id.
      const reply = checkOutgoingLine(encodeError(r.id, r.error.code, r.error.message))
      if (typeof r.id !== 'bigint' && JSON.stringify(reply.id) !== JSON.stringify(r.id)) violated(`id not echoed: ${JSON.stringify(reply.id)} for ${String(r.id)}`)
    }
  },
}

/** The framer's contract, the slow and obvious way (LF ends a line, CR before it dropped, blank lines skipped). */
export function referenceLines(stream: Buffer, max: number): { lines: string[]; overflow: boolean } {
  const lines: string[] = []
  let start = 0
  for (;;) {
    const nl = stream.indexOf(0x0a, start)
    const end = nl < 0 ? stream.length : nl
    let line = stream.subarray(start, end)
    if (nl >= 0 && line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1)
    const cr = nl < 0 && line.length > 0 && line[line.length - 1] === 0x0d ? 1 : 0
    if (line.length - cr > max) return { lines, overflow: true }
    if (nl < 0) return { lines, overflow: false }
    const text = line.toString('utf8')
    if (!/^[ \t\r\v\f]*$/.test(text)) lines.push(text)
    start = nl + 1
  }
}

interface FramerInput {
  readonly max: number
  /** Chunks as arrays of byte values. */
  readonly chunks: number[][]
}

const framerByte = fc.oneof({ arbitrary: fc.constantFrom(0x0a, 0x0d, 0x20, 0x7b, 0xc3, 0xa9, 0xf0), weight: 1 }, { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 2 })

const framerTarget: FuzzTarget<FramerInput> = {
  name: 'stratum-framer',
  ciRuns: 10_000,
  arbitrary: fc.record({ max: fc.integer({ min: 1, max: 64 }), chunks: fc.array(fc.array(framerByte, { maxLength: 40 }), { maxLength: 12 }) }),
  check({ max, chunks }) {
    const framer = new LineFramer({ maxLineBytes: max })
    const got = { lines: [] as string[], overflow: false }
    for (const chunk of chunks) {
      const out = framer.push(Buffer.from(chunk))
      got.lines.push(...out.lines)
      got.overflow = out.overflow
      // Memory: never more than one line's worth held.
      if (framer.bufferedBytes > max + 1) violated(`holds ${framer.bufferedBytes} bytes with a limit of ${max}`)
      if (got.overflow) break
    }
    const want = referenceLines(Buffer.concat(chunks.map((c) => Buffer.from(c))), max)
    if (JSON.stringify(got) !== JSON.stringify(want)) violated(`${JSON.stringify(got)} != ${JSON.stringify(want)}`)
  },
}

interface EncodeInput {
  readonly id: string | number | null
  readonly bigId: string | undefined
  readonly text: string
  readonly result: unknown
}

const encodeTarget: FuzzTarget<EncodeInput> = {
  name: 'stratum-encode',
  ciRuns: 10_000,
  arbitrary: fc.record({
    id: fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null)),
    bigId: fc.option(fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }).map(String), { nil: undefined }),
    text: fc.string({ unit: 'binary', maxLength: 100 }),
    result: fc.jsonValue({ maxDepth: 3 }),
  }),
  check({ id, bigId, text, result }) {
    const rpcId: JsonRpcId = bigId !== undefined ? BigInt(bigId) : id
    for (const line of [encodeResult(rpcId, result), encodeError(rpcId, 20, text), encodeReject(rpcId, 'stale', text)]) {
      const reply = checkOutgoingLine(line)
      // The id is echoed exactly, a bigint's digits included (past 2^53).
      if (bigId !== undefined ? !line.includes(`"id":${bigId}`) : JSON.stringify(reply.id) !== JSON.stringify(id)) violated(`id ${String(rpcId)} echoed as ${JSON.stringify(reply.id)}: ${line}`)
    }
  },
}

// ---- bitcoind answers -----------------------------------------------------

const CTX = { url: 'http://127.0.0.1:8332', method: 'getblocktemplate', id: 7, credentials: 'cookie file /data/.cookie' }

interface AnswerInput {
  readonly status: number
  readonly body: string
}

const envelope = fc
  .record({ jsonrpc: fc.constantFrom('"2.0"', '"1.0"', 'null', '2'), result: rawJson, error: rawJson, id: fc.oneof(fc.constant('7'), rawJson) }, { requiredKeys: [] })
  .map((r) => `{${Object.entries(r).map(([k, v]) => `"${k}":${v}`).join(',')}}`)

function assertBitcoindError(err: unknown, codes?: readonly string[]): void {
  if (!(err instanceof BitcoindError)) violated(`threw something that is not a BitcoindError: ${String(err)}`)
  if (codes !== undefined && !codes.includes(err.code)) violated(`code ${err.code}, expected one of ${codes.join(', ')}: ${err.message}`)
  if (err.message.includes('rpcpassword') || err.message.length > 2000) violated(`message: ${err.message.slice(0, 300)}`)
}

const answerTarget: FuzzTarget<AnswerInput> = {
  name: 'bitcoind-rpc-answer',
  ciRuns: 15_000,
  arbitrary: fc.record({
    status: fc.oneof(fc.constantFrom(200, 200, 200, 401, 403, 404, 500, 502, 503), fc.integer({ min: 100, max: 599 })),
    body: fc.oneof(envelope, envelope, rawJson, fc.string({ unit: 'binary', maxLength: 200 }), fc.constant('')),
  }),
  check(answer) {
    try {
      interpretAnswer(answer, CTX)
    } catch (err) {
      assertBitcoindError(err)
    }
  },
}

const TEMPLATE: unknown = (JSON.parse(fixtureText('regtest/segwit-txs.json')) as { getblocktemplate: unknown }).getblocktemplate
const BLOCKCHAIN_INFO = { chain: 'regtest', blocks: 101, headers: 101, bestblockhash: '00'.repeat(32), verificationprogress: 1, initialblockdownload: false, warnings: '' }
const HEADER_INFO = { hash: '11'.repeat(32), confirmations: 3, height: 100, version: 536870912, merkleroot: '22'.repeat(32), time: 1700000000, nonce: 5, bits: '207fffff', nTx: 1 }

interface SchemaInput {
  readonly which: 0 | 1 | 2 | 3
  readonly mutations: JsonMutation[]
}

const SCHEMAS = [
  { schema: blockTemplateSchema, base: TEMPLATE },
  { schema: blockchainInfoSchema, base: BLOCKCHAIN_INFO },
  { schema: blockHeaderInfoSchema, base: HEADER_INFO },
  { schema: submitBlockSchema, base: null },
] as const

const MAX_MONEY = 2_100_000_000_000_000n

const schemaTarget: FuzzTarget<SchemaInput> = {
  name: 'bitcoind-answers',
  ciRuns: 10_000,
  arbitrary: fc.record({ which: fc.constantFrom(0, 0, 0, 1, 2, 3), mutations: fc.array(jsonMutation, { maxLength: 4 }) }),
  check({ which, mutations }) {
    const { schema, base } = SCHEMAS[which]
    let parsed: unknown
    try {
      parsed = parseAnswer(schema as Parameters<typeof parseAnswer>[0], mutateJson(base, mutations), CTX)
    } catch (err) {
      assertBitcoindError(err, ['HF_BITCOIND_BAD_RESPONSE'])
      return
    }
    if (which === 0) {
      // What passes is typed as promised: amounts exact bigints within MAX_MONEY, hashes 64 hex digits.
      const t = parsed as { coinbasevalue: unknown; previousblockhash: unknown; transactions: { fee: unknown }[] }
      if (typeof t.coinbasevalue !== 'bigint' || t.coinbasevalue < 0n || t.coinbasevalue > MAX_MONEY) violated(`coinbasevalue ${String(t.coinbasevalue)}`)
      if (typeof t.previousblockhash !== 'string' || !/^[0-9a-f]{64}$/i.test(t.previousblockhash)) violated(`previousblockhash ${String(t.previousblockhash)}`)
      for (const tx of t.transactions) if (typeof tx.fee !== 'bigint' || tx.fee < 0n || tx.fee > MAX_MONEY) violated(`fee ${String(tx.fee)}`)
    }
  },
}

const transportTarget: FuzzTarget<{ code: string; message: string; name: string; plain: boolean }> = {
  name: 'bitcoind-transport-error',
  ciRuns: 2_000,
  arbitrary: fc.record({
    code: fc.oneof(fc.constantFrom('ECONNREFUSED', 'ECONNRESET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ENOTFOUND', 'UND_ERR_SOCKET', 'EPIPE'), fc.string({ maxLength: 20 })),
    message: fc.string({ unit: 'binary', maxLength: 60 }),
    name: fc.constantFrom('Error', 'TypeError', 'AbortError', 'TimeoutError'),
    plain: fc.boolean(),
  }),
  check({ code, message, name, plain }) {
    // undici throws Errors with codes; anything else thrown must be handled too.
    const mapped = transportError(plain ? message : Object.assign(new Error(message), { code, name }), CTX)
    assertBitcoindError(mapped)
  },
}

// ---- native addon ----------------------------------------------------------

/** An argument, described as JSON and built at check time. */
export type ArgSpec =
  | { readonly t: 'u8'; readonly n: number; readonly fill: number }
  | { readonly t: 'num'; readonly v: number | 'NaN' | 'Infinity' | '-Infinity' }
  | { readonly t: 'other'; readonly v: 'undefined' | 'null' | 'string' | 'bigint' | 'array' | 'arraybuffer' | 'dataview' | 'u16' | 'object' | 'u8-subarray' }

const NATIVE_FUNCTIONS = ['sha256', 'sha256d', 'merkleRoot', 'checkHeaders', 'scanNonces'] as const

function buildArg(spec: ArgSpec): unknown {
  if (spec.t === 'u8') return Buffer.alloc(spec.n, spec.fill)
  if (spec.t === 'num') return typeof spec.v === 'number' ? spec.v : Number(spec.v)
  switch (spec.v) {
    case 'undefined':
      return undefined
    case 'null':
      return null
    case 'string':
      return 'x'.repeat(80)
    case 'bigint':
      return 5n
    case 'array':
      return new Array(80).fill(0)
    case 'arraybuffer':
      return new ArrayBuffer(80)
    case 'dataview':
      return new DataView(new ArrayBuffer(80))
    case 'u16':
      return new Uint16Array(40)
    case 'object':
      return { length: 80 }
    case 'u8-subarray':
      return Buffer.alloc(200, 7).subarray(3, 83)
  }
}

// Lengths near each function's valid sizes, so wrong-by-one and multiples are tried often.
const argSpec: fc.Arbitrary<ArgSpec> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('u8' as const), n: fc.oneof(fc.constantFrom(0, 1, 31, 32, 33, 64, 79, 80, 81, 160, 240), fc.nat({ max: 400 })), fill: fc.nat({ max: 255 }) }), weight: 4 },
  {
    arbitrary: fc.record({
      t: fc.constant('num' as const),
      // No large valid counts: a scan of 2^32 nonces is legal and would block for minutes.
      v: fc.oneof(fc.constantFrom<number | 'NaN' | 'Infinity' | '-Infinity'>(-1, 0.5, 1.5, 'NaN', 'Infinity', '-Infinity', 2 ** 32, 2 ** 32 + 1, 2 ** 53, -(2 ** 53), 4294967295), fc.nat({ max: 2000 })),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ t: fc.constant('other' as const), v: fc.constantFrom('undefined', 'null', 'string', 'bigint', 'array', 'arraybuffer', 'dataview', 'u16', 'object', 'u8-subarray') }), weight: 1 },
)

interface NativeInput {
  readonly impl: number
  readonly fn: (typeof NATIVE_FUNCTIONS)[number]
  readonly args: ArgSpec[]
}

let implementations: NativeImpl[] | undefined

function nativeImpls(): NativeImpl[] {
  implementations ??= Object.values(loadNativeAddon().implementations)
  return implementations
}

const nativeTarget: FuzzTarget<NativeInput> = {
  name: 'native-addon',
  ciRuns: 10_000,
  arbitrary: fc.record({ impl: fc.nat(), fn: fc.constantFrom(...NATIVE_FUNCTIONS), args: fc.array(argSpec, { minLength: 0, maxLength: 6 }) }),
  check({ impl, fn, args }) {
    const impls = nativeImpls()
    const chosen = impls[impl % impls.length] as NativeImpl
    const built = args.map(buildArg)
    // Guard the one legal but slow call: a long scan.
    if (fn === 'scanNonces' && typeof built[2] === 'number' && built[2] > 2000) return
    let result: unknown
    try {
      result = (chosen[fn] as (...a: unknown[]) => unknown)(...built)
    } catch (err) {
      if (!(err instanceof TypeError || err instanceof RangeError)) violated(`${chosen.name}.${fn} threw ${String(err)}`)
      if (!err.message.startsWith(`${fn}:`)) violated(`${chosen.name}.${fn} error does not name the function: ${err.message}`)
      return
    }
    // It returned: the arguments were valid, so the answer must be right.
    if (fn === 'sha256' || fn === 'sha256d') {
      const data = built[0] as Buffer
      let want = createHash('sha256').update(data).digest()
      if (fn === 'sha256d') want = createHash('sha256').update(want).digest()
      if (!Buffer.isBuffer(result) || !result.equals(want)) violated(`${chosen.name}.${fn} of ${data.length} bytes differs from node:crypto`)
    } else if (fn === 'merkleRoot') {
      if (!Buffer.isBuffer(result) || result.length !== 32) violated(`${chosen.name}.merkleRoot returned ${String(result)}`)
    } else if (fn === 'checkHeaders') {
      const n = (built[0] as Buffer).length / 80
      if (typeof result !== 'number' || !Number.isInteger(result) || result < 0 || result > n) violated(`${chosen.name}.checkHeaders returned ${String(result)} for ${n} headers`)
    } else if (!Array.isArray(result) || result.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff)) {
      violated(`${chosen.name}.scanNonces returned ${JSON.stringify(result)}`)
    }
  },
}

/** Every pure-function target (the session target lives in fuzz-session.ts). */
export const PURE_TARGETS: readonly FuzzTarget[] = [decodeTarget, framerTarget, encodeTarget, answerTarget, schemaTarget, transportTarget, nativeTarget] as FuzzTarget[]
