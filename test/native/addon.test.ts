/**
 * The raw addon's shape (src/shares/native-addon.ts): which implementations
 * it offers, that they match the CPU, that `best` follows the documented
 * preference, and that it loads in worker threads (it keeps no mutable
 * global state).
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { loadNativeAddon } from '../../src/shares/native-addon.js'

const addon = loadNativeAddon()
const KNOWN = ['generic', 'shani', 'avx2', 'avx512']
// docs/benchmarks.md: the fastest first.
const PREFERENCE = ['avx512', 'shani', 'avx2', 'generic']
const FUNCTIONS = ['sha256', 'sha256d', 'merkleRoot', 'checkHeaders', 'scanNonces']

t.test('generic is always there, others only when the CPU has them', async (t) => {
  t.ok(addon.implementations.generic, 'generic')
  t.same(Object.keys(addon.cpu).sort(), ['avx2', 'avx512', 'shani'])
  for (const [flag, value] of Object.entries(addon.cpu)) {
    t.type(value, 'boolean', `cpu.${flag}`)
    t.equal(flag in addon.implementations, value, `${flag} offered iff cpu.${flag}`)
  }
  for (const name of Object.keys(addon.implementations)) t.ok(KNOWN.includes(name), `${name} is a known name`)
})

t.test('each implementation has its name and the five functions', async (t) => {
  for (const [key, impl] of Object.entries(addon.implementations)) {
    t.equal(impl.name, key, `${key}.name`)
    for (const fn of FUNCTIONS) t.type((impl as unknown as Record<string, unknown>)[fn], 'function', `${key}.${fn}`)
    t.ok(Object.isFrozen(impl), `${key} is frozen`)
  }
  t.ok(Object.isFrozen(addon.implementations), 'implementations is frozen')
  t.ok(Object.isFrozen(addon.cpu), 'cpu is frozen')
})

t.test('best is the most preferred implementation present', async (t) => {
  const expected = PREFERENCE.find((name) => name in addon.implementations)
  t.equal(addon.best, expected)
})

t.test('cpu flags agree with /proc/cpuinfo', { skip: process.platform !== 'linux' || process.arch !== 'x64' }, async (t) => {
  const flags = new Set(
    (/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/),
  )
  // Linux lists a feature only when it also enabled its register state.
  t.equal(addon.cpu.shani, flags.has('sha_ni') && flags.has('ssse3') && flags.has('sse4_1'), 'shani')
  t.equal(addon.cpu.avx2, flags.has('avx2'), 'avx2')
  t.equal(addon.cpu.avx512, flags.has('avx2') && flags.has('avx512f') && flags.has('avx512vl'), 'avx512')
})

t.test('loads and hashes in worker threads', async (t) => {
  const file = fileURLToPath(new URL('../../build/Release/headframe_sha256.node', import.meta.url))
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    const addon = require(workerData.file)
    const out = {}
    for (const [name, impl] of Object.entries(addon.implementations)) {
      out[name] = impl.sha256d(Buffer.from('headframe')).toString('hex')
    }
    parentPort.postMessage(out)`
  const runWorker = (): Promise<Record<string, string>> =>
    new Promise((resolve, reject) => {
      const w = new Worker(source, { eval: true, workerData: { file } })
      w.once('message', resolve)
      w.once('error', reject)
    })
  const results = await Promise.all([runWorker(), runWorker(), runWorker()])
  const want = addon.implementations.generic!.sha256d(Buffer.from('headframe')).toString('hex')
  for (const result of results) {
    t.same(Object.keys(result).sort(), Object.keys(addon.implementations).sort())
    for (const [name, hex] of Object.entries(result)) t.equal(hex, want, name)
  }
})
