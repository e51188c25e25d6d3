import t from 'tap'
import { JobDifficulties } from '../../src/server/job-difficulties.js'

/** The behaviour JobDifficulties stands in for: a Map that forgets its oldest entries beyond `capacity`. */
class ReferenceMap {
  readonly map = new Map<number, number>()
  constructor(private readonly capacity: number) {}
  remember(id: number, difficulty: number): void {
    this.map.delete(id)
    this.map.set(id, difficulty)
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as number)
  }
}

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

t.test('consecutive jobs at one difficulty, then aliases at new difficulties', async (t) => {
  const d = new JobDifficulties(128)
  for (let seq = 1; seq <= 200; seq++) d.remember(seq * 256, 512)
  t.equal(d.size, 128)
  t.equal(d.get(200 * 256), 512)
  t.equal(d.get(73 * 256), 512, 'the oldest kept')
  t.equal(d.get(72 * 256), undefined, 'forgotten beyond the capacity')
  t.equal(d.get(200 * 256 + 1), undefined, 'an alias never sent')
  d.remember(200 * 256 + 1, 1024)
  d.remember(200 * 256 + 2, 2048)
  d.remember(201 * 256, 2048)
  t.equal(d.get(200 * 256), 512, 'the job keeps the difficulty it was sent at')
  t.equal(d.get(200 * 256 + 1), 1024)
  t.equal(d.get(200 * 256 + 2), 2048)
  t.equal(d.get(201 * 256), 2048)
  t.equal(d.get(76 * 256), 512)
  t.equal(d.get(75 * 256), undefined)
  t.equal(d.size, 128)
})

t.test('an id sent again takes the new difficulty and counts as the newest', async (t) => {
  const d = new JobDifficulties(3)
  d.remember(256, 1)
  d.remember(512, 1)
  d.remember(768, 1)
  d.remember(512, 2)
  t.equal(d.get(512), 2)
  d.remember(1024, 1)
  t.equal(d.get(256), undefined, 'the oldest went')
  t.equal(d.get(768), 1)
  t.equal(d.get(512), 2, 'kept: it was sent after 768')
  t.equal(d.size, 3)
})

t.test('agrees with a Map that forgets its oldest entries, on random sends', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const random = rng(seed)
    const capacity = 1 + Math.floor(random() * 20)
    const d = new JobDifficulties(capacity)
    const ref = new ReferenceMap(capacity)
    let seq = 1000
    let alias = 0
    let difficulty = 1
    let mismatches = 0
    for (let step = 0; step < 400; step++) {
      const r = random()
      let id: number
      if (r < 0.5) {
        seq += random() < 0.9 ? 1 : 2 // a job the session did not get now and then
        alias = 0
        id = seq * 256
      } else if (r < 0.7) {
        difficulty = 1 + Math.floor(random() * 4)
        id = seq * 256 + ++alias
      } else if (r < 0.85) {
        id = (seq - Math.floor(random() * 6)) * 256 + Math.floor(random() * 3) // an id sent again (or never sent)
      } else {
        difficulty = 1 + Math.floor(random() * 4)
        id = seq * 256
      }
      d.remember(id, difficulty)
      ref.remember(id, difficulty)
      for (let probe = (seq - 30) * 256; probe <= seq * 256 + 8; probe++) if (d.get(probe) !== ref.map.get(probe)) mismatches++
      if (d.size !== ref.map.size) mismatches++
    }
    t.equal(mismatches, 0, `seed ${seed}, capacity ${capacity}`)
  }
})
