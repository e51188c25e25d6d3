import t from 'tap'
import { randomBytes } from 'node:crypto'
import { selectHasher, NATIVE_IMPLEMENTATIONS } from '../../src/shares/hasher.js'
import { jsImpl } from '../../src/shares/js-hasher.js'
import { loadNativeAddon, type NativeAddon } from '../../src/shares/native-addon.js'
import type { HasherError } from '../../src/errors.js'
import { hasherContract } from '../helpers/hasher-contract.js'

const addon = loadNativeAddon()

t.test('the addon offers generic and a valid best choice', async (t) => {
  t.ok(addon.implementations.generic, 'generic is always there')
  t.ok(addon.implementations[addon.best], `best (${addon.best}) is one of the implementations`)
  for (const name of Object.keys(addon.implementations)) t.ok((NATIVE_IMPLEMENTATIONS as readonly string[]).includes(name), name)
})

t.test('contract: node:crypto fallback', async (t) => hasherContract(t, jsImpl))
for (const [name, impl] of Object.entries(addon.implementations)) {
  t.test(`contract: native ${name}`, async (t) => hasherContract(t, impl))
}

t.test('every native implementation agrees with the fallback on random inputs', async (t) => {
  const impls = Object.values(addon.implementations)
  for (let round = 0; round < 200; round++) {
    const length = round < 130 ? round : 130 + round * 7
    const offset = round % 5
    const data = randomBytes(length + offset).subarray(offset)
    const want = jsImpl.sha256d(data).toString('hex')
    for (const impl of impls) if (impl.sha256d(data).toString('hex') !== want) t.fail(`${impl.name} differs at length ${length}`)
    const n = (round % 20) + 1
    const headers = randomBytes(n * 80)
    const targets = randomBytes(n * 32)
    const wantHashes = Buffer.alloc(n * 32)
    const wantOk = Buffer.alloc(n)
    const wantCount = jsImpl.checkHeaders(headers, targets, wantHashes, wantOk)
    for (const impl of impls) {
      const hashes = Buffer.alloc(n * 32)
      const ok = Buffer.alloc(n)
      t.equal(impl.checkHeaders(headers, targets, hashes, ok), wantCount, `${impl.name} batch of ${n}: count`)
      if (!hashes.equals(wantHashes) || !ok.equals(wantOk)) t.fail(`${impl.name} batch of ${n} differs`)
    }
  }
})

t.test('selection', async (t) => {
  const fake: NativeAddon = { implementations: addon.implementations, best: addon.best, cpu: addon.cpu }
  const load = (): NativeAddon => fake
  const broken = (): NativeAddon => {
    throw new Error('cannot open shared object file')
  }

  t.test('default: native, the best implementation', async (t) => {
    const h = selectHasher({}, load)
    t.equal(h.backend, 'native')
    t.equal(h.implementation, addon.best)
    t.match(h.reason, /auto-detected/)
    t.same(h.available, Object.keys(addon.implementations))
  })
  t.test('the real environment and loader pick native here', async (t) => {
    const h = selectHasher({})
    t.equal(h.backend, 'native')
  })
  t.test('falls back to node:crypto when the addon does not load', async (t) => {
    const h = selectHasher({}, broken)
    t.equal(h.backend, 'js')
    t.equal(h.implementation, 'node:crypto')
    t.match(h.reason, /cannot open shared object file/)
    t.same(h.available, [])
  })
  t.test('HEADFRAME_HASHER=js forces the fallback', async (t) => {
    t.equal(selectHasher({ HEADFRAME_HASHER: 'js' }, load).backend, 'js')
  })
  t.test('HEADFRAME_HASHER=native fails instead of falling back', async (t) => {
    t.throws(() => selectHasher({ HEADFRAME_HASHER: 'native' }, broken), { code: 'HF_HASHER_UNAVAILABLE', message: /did not load/ })
  })
  t.test('HEADFRAME_SHA256 forces each implementation the CPU has', async (t) => {
    for (const name of Object.keys(addon.implementations)) {
      const h = selectHasher({ HEADFRAME_SHA256: name }, load)
      t.equal(h.implementation, name)
      t.match(h.reason, `HEADFRAME_SHA256=${name}`)
    }
  })
  t.test('an implementation the CPU lacks is an error naming what there is', async (t) => {
    const genericOnly: NativeAddon = { implementations: { generic: jsImpl }, best: 'generic', cpu: { shani: false, avx2: false, avx512: false } }
    const err = t.throws(() => selectHasher({ HEADFRAME_SHA256: 'shani' }, () => genericOnly)) as HasherError
    t.equal(err.code, 'HF_HASHER_UNAVAILABLE')
    t.match(err.message, /available: generic/)
  })
  t.test('unknown values are errors naming the variable', async (t) => {
    t.throws(() => selectHasher({ HEADFRAME_HASHER: 'gpu' }, load), { code: 'HF_HASHER_ENV', message: /HEADFRAME_HASHER=gpu/ })
    t.throws(() => selectHasher({ HEADFRAME_SHA256: 'sse9' }, load), { code: 'HF_HASHER_ENV', message: /HEADFRAME_SHA256=sse9/ })
  })
  t.test('empty and differently cased values are accepted', async (t) => {
    t.equal(selectHasher({ HEADFRAME_HASHER: '', HEADFRAME_SHA256: ' ' }, load).backend, 'native')
    t.equal(selectHasher({ HEADFRAME_HASHER: 'JS' }, load).backend, 'js')
  })
  t.end()
})
