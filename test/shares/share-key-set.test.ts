import t from 'tap'
import { randomBytes } from 'node:crypto'
import { ShareKeySet } from '../../src/shares/share-key-set.js'

t.test('adds, finds duplicates, deletes, grows, clears', async (t) => {
  const set = new ShareKeySet()
  const hashes = Array.from({ length: 5000 }, () => randomBytes(32))
  let fresh = 0
  for (const h of hashes) if (set.add(h)) fresh++
  t.equal(fresh, 5000)
  t.equal(set.size, 5000)
  let dups = 0
  for (const h of hashes) if (!set.add(h)) dups++
  t.equal(dups, 5000, 'every key seen again is a duplicate')
  // Only the first 16 bytes count.
  const twin = Buffer.from(hashes[0] as Buffer)
  twin[31] = (twin[31] as number) ^ 0xff
  t.equal(set.add(twin), false)
  // Delete every other key; the rest stay findable (probe runs repaired).
  let deleted = 0
  for (let i = 0; i < hashes.length; i += 2) if (set.delete(hashes[i] as Buffer)) deleted++
  t.equal(deleted, 2500)
  t.equal(set.size, 2500)
  t.equal(set.delete(hashes[0] as Buffer), false, 'already gone')
  let kept = 0
  for (let i = 1; i < hashes.length; i += 2) if (!set.add(hashes[i] as Buffer)) kept++
  t.equal(kept, 2500, 'kept keys are still duplicates')
  let readded = 0
  for (let i = 0; i < hashes.length; i += 2) if (set.add(hashes[i] as Buffer)) readded++
  t.equal(readded, 2500)
  t.equal(set.size, 5000)
  const zero = Buffer.alloc(32)
  t.equal(set.add(zero), true, 'an all-zero key works')
  t.equal(set.add(zero), false)
  t.equal(set.delete(zero), true)
  set.clear()
  t.equal(set.size, 0)
  t.equal(set.add(hashes[0] as Buffer), true)
})

t.test('many keys: every shard grows several times and still finds each key once', async (t) => {
  const set = new ShareKeySet()
  const hashes = Array.from({ length: 60_000 }, () => randomBytes(32))
  let fresh = 0
  for (const h of hashes) if (set.add(h)) fresh++
  t.equal(fresh, hashes.length)
  t.equal(set.size, hashes.length)
  let dups = 0
  for (const h of hashes) if (!set.add(h)) dups++
  t.equal(dups, hashes.length)
  // Keys that differ only in the shard byte (byte 15) are different keys.
  const base = Buffer.from(hashes[0] as Buffer)
  base[15] = (base[15] as number) ^ 1
  t.equal(set.add(base), true)
  t.equal(set.delete(base), true)
  t.equal(set.size, hashes.length)
})
