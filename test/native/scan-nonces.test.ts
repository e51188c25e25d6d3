/**
 * scanNonces of every implementation against a brute-force node:crypto scan:
 * the genesis nonce, easy targets, the exact-equality edge, result limits,
 * every small count (partial SIMD groups), the 2^32 end of the nonce space.
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { loadNativeAddon } from '../../src/shares/native-addon.js'

const addon = loadNativeAddon()
const sha256d = (b: Uint8Array): Buffer =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()
const leNumber = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`)
const leBytes = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse()

const GENESIS_HEADER = Buffer.from(
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
  'hex',
)
const GENESIS_NONCE = 2083236893
const TWO_32 = 2 ** 32

/** The target of compact bits (0x1d00ffff for the genesis block), little-endian. */
function targetFromBits(nbits: number): Buffer {
  const exponent = nbits >>> 24
  const mantissa = BigInt(nbits & 0x007fffff)
  return leBytes(exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3)))
}
/** A target whose most significant bytes are `top` (byte 31 first) and the rest 0xff. */
function easyTarget(...top: number[]): Buffer {
  const target = Buffer.alloc(32, 0xff)
  top.forEach((b, i) => (target[31 - i] = b))
  return target
}

function hashAt(header: Uint8Array, nonce: number): Buffer {
  const h = Buffer.from(header)
  h.writeUInt32LE(nonce, 76)
  return sha256d(h)
}
function bruteForce(header: Uint8Array, start: number, count: number, target: Uint8Array): number[] {
  const limit = leNumber(target)
  const found: number[] = []
  for (let n = start; n < start + count; n++) if (leNumber(hashAt(header, n)) <= limit) found.push(n)
  return found
}

// Shared references, computed once. A fixed header (not random): the
// reference counts below are then the same on every run, so "at least one
// harder hit" (about 5 expected) can never fail by chance.
const header = Buffer.concat([0, 1, 2].map((i) => createHash('sha256').update(`headframe scan test ${i}`).digest())).subarray(0, 80)
const easy = easyTarget(0x0f) // about 1 in 16 passes
const easyStart = 123_456_789
const easyRef = bruteForce(header, easyStart, 5000, easy)
const harder = easyTarget(0x00, 0x0f) // about 1 in 4096
const harderRef = bruteForce(header, 7_000_000, 20_000, harder)
const half = easyTarget(0x7f) // about 1 in 2
const halfRef = bruteForce(header, 1000, 40, half)
const topStart = TWO_32 - 3000
const topRef = bruteForce(header, topStart, 3000, easy)
// The lowest hash in a range: as the target it is met by exactly its nonce
// (it has the same top word, so the exact comparison decides); one less is
// met by none.
let minNonce = 0
let minHash = 1n << 256n
for (let n = 50_000; n < 52_000; n++) {
  const h = leNumber(hashAt(header, n))
  if (h < minHash) [minHash, minNonce] = [h, n]
}

t.test('references are meaningful', async (t) => {
  t.ok(easyRef.length > 256, `${easyRef.length} easy hits (more than one 256-result chunk)`)
  t.ok(harderRef.length > 0, `${harderRef.length} harder hits`)
  t.ok(halfRef.length > 5 && halfRef.length < 35, `${halfRef.length} half hits`)
  t.ok(topRef.length > 0, `${topRef.length} hits below 2^32`)
})

for (const [name, impl] of Object.entries(addon.implementations)) {
  t.test(name, async (t) => {
    t.test('finds the genesis nonce and nothing else around it', async (t) => {
      const target = targetFromBits(0x1d00ffff)
      t.same(impl.scanNonces(GENESIS_HEADER, GENESIS_NONCE - 5000, 10_000, target, 10), [GENESIS_NONCE])
    })

    t.test('easy target: same nonces as a brute-force scan (several result chunks)', async (t) => {
      t.same(impl.scanNonces(header, easyStart, 5000, easy, 1e9), easyRef)
    })

    t.test('harder target over 20000 nonces', async (t) => {
      t.same(impl.scanNonces(header, 7_000_000, 20_000, harder, 1000), harderRef)
    })

    t.test('target equal to the best hash finds it; one less finds nothing', async (t) => {
      t.same(impl.scanNonces(header, 50_000, 2000, leBytes(minHash), 10), [minNonce])
      t.same(impl.scanNonces(header, 50_000, 2000, leBytes(minHash - 1n), 10), [])
    })

    t.test('maxResults truncates to the first hits', async (t) => {
      for (const max of [0, 1, 3, 255, 256, 257]) {
        t.same(impl.scanNonces(header, easyStart, 5000, easy, max), easyRef.slice(0, max), `maxResults ${max}`)
      }
    })

    t.test('every count 0..40 (partial SIMD groups)', async (t) => {
      for (let count = 0; count <= 40; count++) {
        const want = halfRef.filter((n) => n < 1000 + count)
        t.same(impl.scanNonces(header, 1000, count, half, 100), want, `count ${count}`)
      }
    })

    t.test('up to the end of the nonce space', async (t) => {
      t.same(impl.scanNonces(header, topStart, 3000, easy, 1e6), topRef)
      const all = Buffer.alloc(32, 0xff)
      t.same(impl.scanNonces(header, TWO_32 - 1, 1, all, 5), [TWO_32 - 1])
      t.same(impl.scanNonces(header, TWO_32 - 5, 5, all, 10), [1, 2, 3, 4, 5].map((i) => TWO_32 - 6 + i))
      t.same(impl.scanNonces(header, 0, 3, all, 10), [0, 1, 2])
    })

    t.test('start + count beyond 2^32 is a RangeError', async (t) => {
      t.throws(() => impl.scanNonces(header, TWO_32 - 10, 11, easy, 1), RangeError)
      t.throws(() => impl.scanNonces(header, 0, TWO_32 + 1, easy, 1), RangeError)
      t.throws(() => impl.scanNonces(header, TWO_32, 0, easy, 1), RangeError)
    })

    t.test('the header (here at an odd offset) is not modified', async (t) => {
      const backing = randomBytes(83)
      const view = backing.subarray(3)
      const before = Buffer.from(backing)
      const want = bruteForce(view, 0, 64, half)
      t.same(impl.scanNonces(view, 0, 64, half, 100), want)
      t.same(backing, before)
    })
  })
}
