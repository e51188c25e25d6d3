import t from 'tap'
import { ExtranonceAllocator } from '../../src/server/extranonce-allocator.js'

t.test('unique values, resumption, exhaustion', async (t) => {
  const a = new ExtranonceAllocator(2, 0xfffe)
  const first = a.allocate()
  t.equal(first?.toString('hex'), 'fffe')
  t.equal(a.allocate()?.toString('hex'), 'ffff')
  t.equal(a.allocate()?.toString('hex'), '0000', 'the counter wraps')
  t.equal(a.allocate('fffe')?.toString('hex'), '0001', 'a taken session id is not given twice')
  a.release(first as Buffer)
  t.equal(a.allocate('FFFE')?.toString('hex'), 'fffe', 'a released session id resumes')
  t.equal(a.allocate('abc')?.toString('hex'), '0002', 'a malformed session id is ignored')
  t.equal(a.allocate('zzzz')?.toString('hex'), '0003')
  t.equal(a.used, 6)
  const seen = new Set<string>()
  let got: Buffer | undefined
  while ((got = a.allocate()) !== undefined) seen.add(got.toString('hex'))
  t.equal(seen.size, 65536 - 6, 'every value once')
  t.equal(a.free, 0)
  t.equal(a.allocate(), undefined, 'exhausted')
})

t.test('sizes', async (t) => {
  t.equal(new ExtranonceAllocator(4, 5).allocate()?.toString('hex'), '00000005')
  t.equal(new ExtranonceAllocator(8, 5).allocate()?.toString('hex'), '0000000000000005')
  t.throws(() => new ExtranonceAllocator(0))
  t.throws(() => new ExtranonceAllocator(9))
  const r = new ExtranonceAllocator(4)
  t.equal(r.allocate()?.length, 4, 'random start')
})
