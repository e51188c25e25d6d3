/**
 * Property tests with a seeded generator that the fuzz targets do not
 * cover: the submit round trip over every tolerated encoding and
 * formatJsonNumber on any double. Decoding random, JSON-shaped and mutated
 * lines without throwing, and the framer against its reference, are the
 * `stratum-decode` and `stratum-framer` targets (scripts/fuzz-targets.ts,
 * run by test/fuzz/codec.fuzz.test.ts); the first test here checks their
 * generator also reaches the decoder's success path. Each property prints
 * its seed; a failure can be replayed.
 */
import t from 'tap'
import fc from 'fast-check'
import { decodeRequest, formatJsonNumber } from '../../src/stratum/index.js'
import { stratumLine } from '../../scripts/fuzz-inputs.js'
import { checkDecoded } from '../../scripts/fuzz-targets.js'
import { prng, randomInt } from '../fixtures/stratum/index.js'

const SEED = 0x5eed_2b1d

t.test('JSON-shaped lines from the fuzz generator decode well-formed, some of them valid', async (t) => {
  const lines = fc.sample(stratumLine, { seed: SEED + 1, numRuns: 8000 })
  let ok = 0
  for (const line of lines) {
    const r = decodeRequest(line)
    checkDecoded(r)
    if (r.ok) ok++
  }
  t.ok(ok > 100, `some random messages are valid too (${ok})`)
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
