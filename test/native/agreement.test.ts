/**
 * All implementations agree with each other (and with node:crypto) on the
 * same random inputs, function by function (CONVENTIONS.md §6: "bindings
 * match fallback").
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { loadNativeAddon } from '../../src/shares/native-addon.js'

const addon = loadNativeAddon()
const impls = Object.values(addon.implementations)
const sha256d = (b: Uint8Array): Buffer =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

t.test(`implementations under test: ${impls.map((i) => i.name).join(', ')}`, async (t) => {
  t.ok(impls.length >= 1)
})

t.test('sha256 and sha256d', async (t) => {
  for (let round = 0; round < 300; round++) {
    const length = round < 200 ? round : 200 + round * 13
    const offset = round % 5
    const data = randomBytes(length + offset).subarray(offset)
    const want = hex(sha256d(data))
    const want1 = createHash('sha256').update(data).digest('hex')
    for (const impl of impls) {
      if (hex(impl.sha256d(data)) !== want) t.fail(`${impl.name} sha256d differs at length ${length}`)
      if (hex(impl.sha256(data)) !== want1) t.fail(`${impl.name} sha256 differs at length ${length}`)
    }
  }
  t.pass('300 random inputs')
})

t.test('merkleRoot', async (t) => {
  for (let round = 0; round < 50; round++) {
    const leaf = randomBytes(32)
    const branch = randomBytes(32 * (round % 16))
    const roots = impls.map((impl) => hex(impl.merkleRoot(leaf, branch)))
    t.equal(new Set(roots).size, 1, `round ${round}: ${roots.length} implementations agree`)
  }
})

t.test('checkHeaders', async (t) => {
  for (const n of [1, 5, 31, 64, 77]) {
    const headers = randomBytes(80 * n)
    const targets = randomBytes(32 * n)
    for (let i = 0; i < n; i += 3) targets[32 * i + 31] = 0xff // some pass
    const results = impls.map((impl) => {
      const outHashes = Buffer.alloc(32 * n)
      const outOk = Buffer.alloc(n)
      const passed = impl.checkHeaders(headers, targets, outHashes, outOk)
      return `${passed}:${hex(outHashes)}:${hex(outOk)}`
    })
    t.equal(new Set(results).size, 1, `${n} headers`)
  }
})

t.test('scanNonces', async (t) => {
  for (let round = 0; round < 5; round++) {
    const header = randomBytes(80)
    const target = Buffer.alloc(32, 0xff)
    target[31] = 0x01 // about 1 in 128
    const start = randomBytes(4).readUInt32LE() % (2 ** 32 - 10_000)
    const results = impls.map((impl) => JSON.stringify(impl.scanNonces(header, start, 10_000, target, 1000)))
    t.equal(new Set(results).size, 1, `round ${round}`)
  }
})
