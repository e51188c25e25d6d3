import t from 'tap'
import { StringPool } from '../../src/server/string-pool.js'

t.test('holds at most `capacity` distinct strings, and gives back equal ones', async (t) => {
  const pool = new StringPool(2)
  const first = ['cgminer', '4.11.1'].join('/')
  t.equal(pool.intern(first), first)
  t.equal(pool.intern(['cgminer', '4.11.1'].join('/')), first)
  t.equal(pool.intern('bfgminer/5.5.0'), 'bfgminer/5.5.0')
  t.equal(pool.size, 2)
  t.equal(pool.intern('a-flood-of-names-1'), 'a-flood-of-names-1', 'past the capacity: returned as it is')
  t.equal(pool.size, 2, 'and not held')
  t.equal(pool.intern('cgminer/4.11.1'), first, 'earlier strings still shared')
})
