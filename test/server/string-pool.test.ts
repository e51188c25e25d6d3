import t from 'tap'
import { StringPool } from '../../src/server/string-pool.js'

// String identity cannot be observed from JavaScript (=== compares values),
// so what can fail here is the pool's size: what it holds, and its bound.
t.test('holds each distinct string once, and at most `capacity` of them', async (t) => {
  const pool = new StringPool(2)
  const first = ['cgminer', '4.11.1'].join('/')
  t.equal(pool.intern(first), first)
  t.equal(pool.intern(['cgminer', '4.11.1'].join('/')), first)
  t.equal(pool.size, 1, 'an equal string is not held twice')
  t.equal(pool.intern('bfgminer/5.5.0'), 'bfgminer/5.5.0')
  t.equal(pool.size, 2)
  t.equal(pool.intern('a-flood-of-names-1'), 'a-flood-of-names-1', 'past the capacity: returned as it is')
  t.equal(pool.size, 1, 'the full pool started over with it: junk cannot keep real names out for good')
  t.equal(pool.intern('cgminer/4.11.1'), first)
  t.equal(pool.size, 2, 'and real names are shared again')
})
