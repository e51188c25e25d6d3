/**
 * checkHeaders of every implementation: the batch equals one sha256d per
 * header, and outOk / the returned count follow "hash <= target" with the
 * 32-byte little-endian comparison, at every batch size that exercises the
 * SIMD group boundaries (8 for AVX2, 16 for AVX-512, 2 for SHA-NI).
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { loadNativeAddon } from '../../src/shares/native-addon.js'

const addon = loadNativeAddon()
const sha256d = (b: Uint8Array): Buffer =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()

const leNumber = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`)
const leBytes = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse()
const meets = (hash: Uint8Array, target: Uint8Array): boolean => leNumber(hash) <= leNumber(target)

const SIZES = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 100]

/** Targets cycling through: equal to the hash (pass), one less (fail), max, zero, and hash +/- 2^224. */
function targetFor(i: number, hash: Buffer): Buffer {
  const h = leNumber(hash)
  switch (i % 6) {
    case 0: return leBytes(h)
    case 1: return leBytes(h - 1n)
    case 2: return Buffer.alloc(32, 0xff)
    case 3: return Buffer.alloc(32)
    case 4: return leBytes(h + (1n << 224n) < 1n << 256n ? h + (1n << 224n) : h)
    default: return leBytes(h >= 1n << 224n ? h - (1n << 224n) : 0n)
  }
}

function batch(n: number, offset: number) {
  const headers = randomBytes(80 * n + offset).subarray(offset)
  const want: Buffer[] = []
  const targets = Buffer.alloc(32 * n + offset).subarray(offset)
  for (let i = 0; i < n; i++) {
    const hash = sha256d(headers.subarray(80 * i, 80 * i + 80))
    want.push(hash)
    targetFor(i, hash).copy(targets, 32 * i)
  }
  return { headers, targets, want }
}

for (const [name, impl] of Object.entries(addon.implementations)) {
  t.test(name, async (t) => {
    for (const n of SIZES) {
      t.test(`${n} headers`, async (t) => {
        const offset = n % 4 // unaligned views for most sizes
        const { headers, targets, want } = batch(n, offset)
        const outHashes = Buffer.alloc(32 * n + 1).subarray(1)
        const outOk = Buffer.alloc(n + 2, 0xaa).subarray(2)
        const passed = impl.checkHeaders(headers, targets, outHashes, outOk)
        let expectedPassed = 0
        for (let i = 0; i < n; i++) {
          const got = outHashes.subarray(32 * i, 32 * i + 32)
          const single = impl.sha256d(headers.subarray(80 * i, 80 * i + 80))
          t.equal(got.toString('hex'), want[i]!.toString('hex'), `hash ${i} matches node:crypto`)
          t.equal(got.toString('hex'), single.toString('hex'), `hash ${i} matches sha256d`)
          const ok = meets(want[i]!, targets.subarray(32 * i, 32 * i + 32))
          t.equal(outOk[i], ok ? 1 : 0, `ok ${i} (target case ${i % 6})`)
          if (ok) expectedPassed++
        }
        t.equal(passed, expectedPassed, 'returns the number that passed')
      })
    }

    t.test('target equal to the hash passes, one less fails', async (t) => {
      const { headers, want } = batch(2, 0)
      const h0 = leNumber(want[0]!)
      const targets = Buffer.concat([leBytes(h0), leBytes(h0 - 1n)])
      const dup = Buffer.concat([headers.subarray(0, 80), headers.subarray(0, 80)])
      const outOk = Buffer.alloc(2)
      t.equal(impl.checkHeaders(dup, targets, Buffer.alloc(64), outOk), 1)
      t.same([...outOk], [1, 0])
    })

    t.test('inputs are not modified', async (t) => {
      const { headers, targets } = batch(20, 1)
      const [h0, t0] = [Buffer.from(headers), Buffer.from(targets)]
      impl.checkHeaders(headers, targets, Buffer.alloc(640), Buffer.alloc(20))
      t.same(headers, h0)
      t.same(targets, t0)
    })
  })
}
