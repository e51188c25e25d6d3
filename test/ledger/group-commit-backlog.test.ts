/**
 * Group commit under a backlog (more waiting than one group, and more
 * arriving while a slow write runs): every item is written exactly once, in
 * arrival order, in groups of at most `maxItems`, and each caller's promise
 * settles only after its own group was written.
 */
import t from 'tap'
import { GroupCommit } from '../../src/ledger/group-commit.js'

t.test('a backlog far beyond one group is written in order, in full groups, once each', async (t) => {
  const written: number[] = []
  const seen = new Set<number>()
  const groups: number[] = []
  let release: (() => void) | undefined
  const commit = new GroupCommit<number>({
    delayMs: 1,
    maxItems: 100,
    write: async (items) => {
      groups.push(items.length)
      // The first write is slow: everything else queues behind it.
      if (groups.length === 1) await new Promise<void>((resolve) => (release = resolve))
      written.push(...items)
      for (const i of items) seen.add(i)
    },
  })
  const early: number[] = []
  const done = Array.from({ length: 12_345 }, (_, i) =>
    commit.add(i).then(() => {
      if (!seen.has(i)) early.push(i)
    }),
  )
  // The write loop starts a microtask after the 100th item (so that it is marked running before its first write).
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(commit.queued, 12_245, 'the first 100 are being written, the rest wait')
  release?.()
  // More arrive while the backlog drains.
  for (let i = 12_345; i < 13_000; i++) done.push(commit.add(i))
  await Promise.all(done)
  t.same(early, [], 'no promise settled before its group was written')
  t.same(written, Array.from({ length: 13_000 }, (_, i) => i), 'every item once, in order')
  t.ok(groups.every((n) => n > 0 && n <= 100), 'groups of at most maxItems')
  t.equal(commit.queued, 0)
  t.equal(commit.counters.items, 13_000)
})

t.test('flush writes a backlog without waiting for the delay', async (t) => {
  const written: number[] = []
  const commit = new GroupCommit<number>({ delayMs: 60_000, maxItems: 7, write: async (items) => void written.push(...items) })
  const done = Array.from({ length: 50 }, (_, i) => commit.add(i))
  await commit.flush()
  await Promise.all(done)
  t.same(written, Array.from({ length: 50 }, (_, i) => i))
  t.equal(commit.queued, 0)
})
