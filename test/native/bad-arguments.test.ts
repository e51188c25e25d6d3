/**
 * Every argument is checked in C++: a wrong type is a TypeError, a wrong
 * length or number a RangeError, each naming the function and argument;
 * never a crash or a read out of bounds.
 */
import t from 'tap'
import { loadNativeAddon } from '../../src/shares/native-addon.js'

const addon = loadNativeAddon()
type Loose = (...args: unknown[]) => unknown

const b = (n: number): Buffer => Buffer.alloc(n)
const NOT_BYTES: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['a number', 80],
  ['a string', 'x'.repeat(80)],
  ['an array', new Array(80).fill(0)],
  ['an ArrayBuffer', new ArrayBuffer(80)],
  ['a DataView', new DataView(new ArrayBuffer(80))],
  ['a Uint16Array', new Uint16Array(40)],
  ['a Uint8ClampedArray', new Uint8ClampedArray(80)],
  ['a plain object', { length: 80 }],
]
const NOT_INTEGERS: [string, unknown, typeof TypeError | typeof RangeError][] = [
  ['negative', -1, RangeError],
  ['fractional', 1.5, RangeError],
  ['NaN', NaN, RangeError],
  ['Infinity', Infinity, RangeError],
  ['a string', '5', TypeError],
  ['a bigint', 5n, TypeError],
  ['undefined', undefined, TypeError],
]

interface Case {
  name: string
  fn: 'sha256' | 'sha256d' | 'merkleRoot' | 'checkHeaders' | 'scanNonces'
  args: unknown[]
  error: typeof TypeError | typeof RangeError
  message: RegExp
}

const CASES: Case[] = []
for (const [what, value] of NOT_BYTES) {
  CASES.push({ name: `sha256 of ${what}`, fn: 'sha256', args: [value], error: TypeError, message: /^sha256: data must be a Uint8Array or Buffer/ })
  CASES.push({ name: `sha256d of ${what}`, fn: 'sha256d', args: [value], error: TypeError, message: /^sha256d: data must be/ })
  CASES.push({ name: `merkleRoot leaf ${what}`, fn: 'merkleRoot', args: [value, b(0)], error: TypeError, message: /^merkleRoot: leaf must be/ })
  CASES.push({ name: `merkleRoot branch ${what}`, fn: 'merkleRoot', args: [b(32), value], error: TypeError, message: /^merkleRoot: branch must be/ })
  CASES.push({ name: `checkHeaders headers ${what}`, fn: 'checkHeaders', args: [value, b(32), b(32), b(1)], error: TypeError, message: /^checkHeaders: headers must be/ })
  CASES.push({ name: `checkHeaders outOk ${what}`, fn: 'checkHeaders', args: [b(80), b(32), b(32), value], error: TypeError, message: /^checkHeaders: outOk must be/ })
  CASES.push({ name: `scanNonces header ${what}`, fn: 'scanNonces', args: [value, 0, 1, b(32), 1], error: TypeError, message: /^scanNonces: header must be/ })
  CASES.push({ name: `scanNonces target ${what}`, fn: 'scanNonces', args: [b(80), 0, 1, value, 1], error: TypeError, message: /^scanNonces: target must be/ })
}
for (const [what, value, error] of NOT_INTEGERS) {
  CASES.push({ name: `scanNonces start ${what}`, fn: 'scanNonces', args: [b(80), value, 1, b(32), 1], error, message: /^scanNonces: start must be/ })
  CASES.push({ name: `scanNonces count ${what}`, fn: 'scanNonces', args: [b(80), 0, value, b(32), 1], error, message: /^scanNonces: count must be/ })
  CASES.push({ name: `scanNonces maxResults ${what}`, fn: 'scanNonces', args: [b(80), 0, 1, b(32), value], error, message: /^scanNonces: maxResults must be/ })
}
CASES.push(
  { name: 'merkleRoot leaf of 31 bytes', fn: 'merkleRoot', args: [b(31), b(0)], error: RangeError, message: /^merkleRoot: leaf length 31 is not 32$/ },
  { name: 'merkleRoot leaf of 33 bytes', fn: 'merkleRoot', args: [b(33), b(0)], error: RangeError, message: /^merkleRoot: leaf length 33 is not 32$/ },
  { name: 'merkleRoot branch of 33 bytes', fn: 'merkleRoot', args: [b(32), b(33)], error: RangeError, message: /^merkleRoot: branch length 33 is not a multiple of 32$/ },
  { name: 'checkHeaders headers of 81 bytes', fn: 'checkHeaders', args: [b(81), b(32), b(32), b(1)], error: RangeError, message: /^checkHeaders: headers length 81 is not a multiple of 80$/ },
  { name: 'checkHeaders short targets', fn: 'checkHeaders', args: [b(160), b(32), b(64), b(2)], error: RangeError, message: /^checkHeaders: targets length 32 is not 64 for 2 headers$/ },
  { name: 'checkHeaders long outHashes', fn: 'checkHeaders', args: [b(160), b(64), b(65), b(2)], error: RangeError, message: /^checkHeaders: outHashes length 65 is not 64 for 2 headers$/ },
  { name: 'checkHeaders short outOk', fn: 'checkHeaders', args: [b(160), b(64), b(64), b(1)], error: RangeError, message: /^checkHeaders: outOk length 1 is not 2 for 2 headers$/ },
  { name: 'scanNonces header of 79 bytes', fn: 'scanNonces', args: [b(79), 0, 1, b(32), 1], error: RangeError, message: /^scanNonces: header length 79 is not 80$/ },
  { name: 'scanNonces target of 33 bytes', fn: 'scanNonces', args: [b(80), 0, 1, b(33), 1], error: RangeError, message: /^scanNonces: target length 33 is not 32$/ },
  { name: 'scanNonces start 2^32', fn: 'scanNonces', args: [b(80), 2 ** 32, 0, b(32), 1], error: RangeError, message: /^scanNonces: start must be an integer in 0\.\.4294967295, got 4294967296$/ },
  { name: 'scanNonces count 2^32 + 1', fn: 'scanNonces', args: [b(80), 0, 2 ** 32 + 1, b(32), 1], error: RangeError, message: /^scanNonces: count must be an integer in 0\.\.4294967296/ },
  { name: 'scanNonces start + count > 2^32', fn: 'scanNonces', args: [b(80), 2 ** 32 - 1, 2, b(32), 1], error: RangeError, message: /^scanNonces: start \+ count = 4294967297 exceeds 2\^32/ },
  { name: 'scanNonces without arguments', fn: 'scanNonces', args: [], error: TypeError, message: /^scanNonces: header must be/ },
)

// Outputs overlapping inputs would give wrong hashes: refused.
const shared = Buffer.alloc(80 * 2 + 32 * 2 + 64 + 2)
const headers = shared.subarray(0, 160)
const targets = shared.subarray(160, 224)
CASES.push(
  { name: 'checkHeaders outHashes overlapping headers', fn: 'checkHeaders', args: [headers, targets, shared.subarray(100, 164), b(2)], error: RangeError, message: /^checkHeaders: outHashes overlaps headers$/ },
  { name: 'checkHeaders outHashes overlapping targets', fn: 'checkHeaders', args: [headers, targets, shared.subarray(200, 264), b(2)], error: RangeError, message: /^checkHeaders: outHashes overlaps targets$/ },
  { name: 'checkHeaders outOk overlapping outHashes', fn: 'checkHeaders', args: [headers, targets, shared.subarray(224, 288), shared.subarray(287, 289)], error: RangeError, message: /^checkHeaders: outOk overlaps outHashes$/ },
)

for (const [name, impl] of Object.entries(addon.implementations)) {
  t.test(name, async (t) => {
    for (const c of CASES) {
      t.test(c.name, async (t) => {
        const fn = (impl as unknown as Record<string, Loose>)[c.fn]!
        t.throws(() => fn(...c.args), { constructor: c.error, message: c.message })
      })
    }

    t.test('a detached buffer reads as empty, without crashing', async (t) => {
      const data = new Uint8Array(64)
      structuredClone(data.buffer, { transfer: [data.buffer] })
      t.equal(data.length, 0)
      t.same(impl.sha256(data), impl.sha256(new Uint8Array(0)))
      t.throws(() => impl.scanNonces(data, 0, 1, b(32), 1), RangeError)
    })

    t.test('extra arguments are ignored', async (t) => {
      const loose = impl as unknown as Record<string, Loose>
      t.same(loose.sha256d!(b(80), 'extra'), impl.sha256d(b(80)))
    })
  })
}
