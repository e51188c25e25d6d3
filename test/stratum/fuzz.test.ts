/**
 * Property tests with a seeded generator (no fast-check here): random and
 * mutated input never makes the codec throw, and what it returns is
 * well-formed. Each property prints its seed; a failure can be replayed.
 */
import t from 'tap'
import { decodeRequest, formatJsonNumber, LineFramer, REJECT_REASONS, type DecodeResult } from '../../src/stratum/index.js'
import { prng, randomInt, transcript } from '../fixtures/stratum/index.js'

const SEED = 0x5eed_2b1d
const KINDS = new Set([
  'configure',
  'subscribe',
  'authorize',
  'submit',
  'extranonce-subscribe',
  'suggest-difficulty',
  'suggest-target',
  'multi-version',
  'get-transactions',
  'ping',
  'response',
  'unknown',
])
const METHODS = [
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
]
const MINER_LINES = [...transcript('cpuminer-ckpool.jsonl'), ...transcript('bfgminer-ckpool.jsonl')].filter((l) => l.dir === 'miner->pool').map((l) => l.line)

/** The problem with a decode result, or '' when it is well-formed. */
function malformed(r: DecodeResult): string {
  if (r.ok) {
    if (!KINDS.has(r.request.kind)) return `unknown kind ${r.request.kind}`
    const id = r.request.id
    if (!(id === null || typeof id === 'string' || typeof id === 'bigint' || (typeof id === 'number' && Number.isFinite(id)))) return 'bad id'
    if (r.request.kind === 'submit') {
      const { ntime, nonce, versionBits, extranonce2 } = r.request
      for (const n of [ntime, nonce, versionBits ?? 0]) if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) return `not a uint32: ${n}`
      if (!Buffer.isBuffer(extranonce2)) return 'extranonce2 not a Buffer'
    }
    return ''
  }
  if (r.error.code !== 20 || typeof r.error.message !== 'string' || r.error.message === '') return 'bad error'
  if (!(REJECT_REASONS as readonly string[]).includes(r.reason)) return `reason ${r.reason} not in the reject table`
  return ''
}

/** Decode, catching what must never be thrown. */
function check(line: string): string {
  try {
    return malformed(decodeRequest(line))
  } catch (err) {
    return `threw ${String(err)}`
  }
}

function randomJson(random: () => number, depth: number): unknown {
  const pick = randomInt(random, depth > 6 ? 6 : 9)
  switch (pick) {
    case 0:
      return null
    case 1:
      return random() < 0.5
    case 2:
      return [0, -1, 1.5, 2 ** 32, 2 ** 53 + 1, 1e300, -0, 0xffffffff][randomInt(random, 8)]
    case 3:
      return ['', '0x', 'ffffffff', '6b09bced', 'A8F450', 'zz', '00'.repeat(randomInt(random, 20)), '矿', '\u0000', '__proto__'][randomInt(random, 10)]
    case 4:
      return METHODS[randomInt(random, METHODS.length)]
    case 5:
      return randomInt(random, 0x100000000).toString(16)
    case 6:
    case 7:
      return Array.from({ length: randomInt(random, 8) }, () => randomJson(random, depth + 1))
    default: {
      const keys = ['id', 'method', 'params', 'result', 'error', 'version-rolling.mask', 'version-rolling.min-bit-count', 'minimum-difficulty.value', 'info.hw-id', 'x']
      return Object.fromEntries(Array.from({ length: randomInt(random, 5) }, () => [keys[randomInt(random, keys.length)] as string, randomJson(random, depth + 1)]))
    }
  }
}

function mutate(random: () => number, line: string): string {
  const ALPHABET = '{}[]":,\\ 0123456789abcdefxX-+.eE\u0000\u00e9\ud83d'
  let s = line
  for (let n = 1 + randomInt(random, 4); n > 0; n--) {
    const at = randomInt(random, s.length + 1)
    const c = ALPHABET[randomInt(random, ALPHABET.length)] as string
    switch (randomInt(random, 5)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + 1)
        break
      case 1:
        s = s.slice(0, at) + c + s.slice(at)
        break
      case 2:
        s = s.slice(0, at) + c + s.slice(at + 1)
        break
      case 3:
        s = s.slice(0, at) + s.slice(randomInt(random, s.length), randomInt(random, s.length)) + s.slice(at)
        break
      default:
        s = s.slice(at) + s.slice(0, at)
    }
  }
  return s
}

t.test('random bytes never throw out of decode', async (t) => {
  const random = prng(SEED)
  let bad = ''
  for (let i = 0; i < 4000 && bad === ''; i++) {
    const bytes = Buffer.from(Array.from({ length: randomInt(random, 200) }, () => randomInt(random, 256)))
    const line = bytes.toString('utf8')
    const problem = check(line)
    if (problem !== '') bad = `seed ${SEED} case ${i}: ${problem}: ${JSON.stringify(line)}`
  }
  t.equal(bad, '')
})

t.test('random JSON shaped like Stratum never throws and decodes to well-formed values', async (t) => {
  const random = prng(SEED + 1)
  let bad = ''
  let ok = 0
  for (let i = 0; i < 8000 && bad === ''; i++) {
    const message: Record<string, unknown> = { id: randomJson(random, 5), method: METHODS[randomInt(random, METHODS.length)], params: randomJson(random, 1) }
    if (random() < 0.3) message.params = Array.from({ length: randomInt(random, 7) }, () => randomJson(random, 2))
    const line = JSON.stringify(message)
    const problem = check(line)
    if (problem !== '') bad = `seed ${SEED + 1} case ${i}: ${problem}: ${line}`
    if (decodeRequest(line).ok) ok++
  }
  t.equal(bad, '')
  t.ok(ok > 100, `some random messages are valid too (${ok})`)
})

t.test('mutated transcript lines never throw', async (t) => {
  const random = prng(SEED + 2)
  let bad = ''
  for (let i = 0; i < 8000 && bad === ''; i++) {
    const line = mutate(random, MINER_LINES[randomInt(random, MINER_LINES.length)] as string)
    const problem = check(line)
    if (problem !== '') bad = `seed ${SEED + 2} case ${i}: ${problem}: ${JSON.stringify(line)}`
  }
  t.equal(bad, '')
})

t.test('submit round trip: every tolerated encoding decodes to the same values', async (t) => {
  const random = prng(SEED + 3)
  const hex = (n: number, digits: number): string => {
    let s = n.toString(16).padStart(digits, '0')
    if (random() < 0.5) s = s.toUpperCase()
    return random() < 0.3 ? `0x${s}` : s
  }
  const encodings = (n: number, minDigits: number): unknown => (random() < 0.3 ? n : hex(n, minDigits === 8 ? 8 : randomInt(random, 9)))
  let bad = ''
  for (let i = 0; i < 3000 && bad === ''; i++) {
    const ntime = randomInt(random, 0x100000000)
    const nonce = randomInt(random, 2 ** (1 + randomInt(random, 32))) // all magnitudes: short hex too
    const versionBits = random() < 0.5 ? undefined : randomInt(random, 0x100000000)
    const en2 = Buffer.from(Array.from({ length: randomInt(random, 17) }, () => randomInt(random, 256)))
    const en2Hex = random() < 0.5 ? en2.toString('hex').toUpperCase() : en2.toString('hex')
    const params: unknown[] = ['acct.rig', random() < 0.2 ? i : `job${i}`, (random() < 0.3 ? '0x' : '') + en2Hex, encodings(ntime, 8), encodings(nonce, 1)]
    if (versionBits !== undefined) params.push(encodings(versionBits, 8))
    const line = JSON.stringify({ id: i, method: 'mining.submit', params })
    const r = decodeRequest(line)
    const want = JSON.stringify({ ntime, nonce, versionBits, en2: en2.toString('hex') })
    const got = r.ok && r.request.kind === 'submit' ? JSON.stringify({ ntime: r.request.ntime, nonce: r.request.nonce, versionBits: r.request.versionBits, en2: r.request.extranonce2.toString('hex') }) : JSON.stringify(r)
    if (got !== want) bad = `seed ${SEED + 3} case ${i}: ${line} -> ${got}, want ${want}`
  }
  t.equal(bad, '')
})

/** The framer's contract, written the slow and obvious way. */
function referenceLines(stream: Buffer, max: number): { lines: string[]; overflow: boolean } {
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

t.test('framing: any chunking of any stream gives the reference lines', async (t) => {
  const random = prng(SEED + 4)
  let bad = ''
  for (let i = 0; i < 1500 && bad === ''; i++) {
    const max = 1 + randomInt(random, 40)
    const pieces = ['\n', '\r\n', '\r', ' ', '{', '}', 'é', '🚀', 'x'.repeat(randomInt(random, 50))]
    const stream = Buffer.from(Array.from({ length: randomInt(random, 30) }, () => pieces[randomInt(random, pieces.length)]).join(''))
    const want = referenceLines(stream, max)
    const framer = new LineFramer({ maxLineBytes: max })
    const got = { lines: [] as string[], overflow: false }
    for (let at = 0; at < stream.length && !got.overflow; ) {
      const size = 1 + randomInt(random, 12)
      const out = framer.push(stream.subarray(at, at + size))
      got.lines.push(...out.lines)
      got.overflow = out.overflow
      at += size
    }
    if (JSON.stringify(got) !== JSON.stringify(want)) bad = `seed ${SEED + 4} case ${i}: max ${max}, ${JSON.stringify(stream.toString())}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`
  }
  t.equal(bad, '')
})

t.test('formatJsonNumber: any finite double, no exponent, parses back exactly', async (t) => {
  const random = prng(SEED + 5)
  const view = new DataView(new ArrayBuffer(8))
  let bad = ''
  for (let i = 0; i < 20000 && bad === ''; i++) {
    view.setUint32(0, randomInt(random, 0x100000000))
    view.setUint32(4, randomInt(random, 0x100000000))
    const n = i % 2 === 0 ? view.getFloat64(0) : random() * 10 ** (randomInt(random, 40) - 20)
    if (!Number.isFinite(n)) continue
    const text = formatJsonNumber(n)
    if (/[eE]/.test(text) || JSON.parse(text) !== (Object.is(n, -0) ? 0 : n)) bad = `seed ${SEED + 5} case ${i}: ${n} -> ${text}`
  }
  t.equal(bad, '')
})
