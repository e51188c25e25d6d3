/** Retention: share records past the retention period are pruned in small batches while writes go on; aggregates stay. */
import t from 'tap'
import { scaleDifficulty, type LedgerShare } from '../../src/ledger/index.js'
import { DAY, HOUR, MINUTE, T0, allShares, ledgerPath, manualClock, openLedger, recordAll, share } from '../helpers/ledger-fixtures.js'

t.test('pruning removes only old share records, in batches, while records keep being acknowledged', async (t) => {
  const clock = manualClock(T0)
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path, clock: clock.now, retentionDays: 2, pruneBatchSize: 100, groupCommitMs: 1 })
  // 3000 old shares over two days, then newer ones.
  const old: LedgerShare[] = Array.from({ length: 3000 }, (_, i) => share({ time: T0 + i * 50_000, jobId: `old${i}`, difficulty: 1 + (i % 5), worker: `w${i % 4}` }))
  await recordAll(ledger, old)
  const lastOld = T0 + 2999 * 50_000
  const totalBefore = await ledger.acceptedDifficulty({ from: 0, to: lastOld + 1 })

  clock.set(T0 + 2 * DAY + DAY) // cutoff: T0 + DAY
  const cutoff = T0 + DAY
  // Writes go on during the prune; each must be acknowledged as usual.
  let writing = true
  let written = 0
  const fresh: LedgerShare[] = []
  const writer = (async () => {
    while (writing) {
      const s = share({ time: T0 + 3 * DAY + written, jobId: `new${written}` })
      fresh.push(s)
      await ledger.record(s)
      written++
    }
  })()
  const pruning = ledger.prune()
  t.equal(ledger.prune(), pruning, 'a second call joins the running prune')
  const deleted = await pruning
  writing = false
  await writer
  const expected = old.filter((s) => s.time < cutoff).length
  t.equal(deleted, expected)
  t.ok(written > 0, `${written} shares acknowledged during the prune`)
  t.equal(ledger.stats.pruned, expected)

  const left = await allShares(ledger)
  t.equal(left.length, old.length - expected + fresh.length)
  t.ok(left.every((s) => s.time >= cutoff))
  // Tallies are kept forever: totals over the pruned period are unchanged.
  const totalAfter = await ledger.acceptedDifficulty({ from: 0, to: lastOld + 1 })
  t.equal(totalAfter.scaled, totalBefore.scaled)
  t.equal(totalAfter.exact, true, 'a range whose ends are kept is still exact')
  const w = await ledger.workers({ from: T0, to: T0 + DAY })
  t.equal(w.workers.reduce((a, x) => a + x.shares, 0), expected)

  t.equal(await ledger.prune(), 0, 'nothing left to prune')
  await ledger.close()
  // The horizon survives a restart.
  const again = await openLedger(t, { path, clock: clock.now, retentionDays: 2 })
  t.match(await again.acceptedDifficulty({ from: T0 + 1, to: T0 + HOUR }), { exact: false })
  t.equal((await again.acceptedDifficulty({ from: cutoff, to: cutoff + MINUTE + 1 })).exact, true)
  const fromOld = old.filter((s) => s.time >= cutoff).reduce((a, s) => a + scaleDifficulty(s.difficulty), 0n)
  t.equal((await again.acceptedDifficulty({ from: cutoff, to: lastOld + 1 })).scaled, fromOld)
})

t.test('the background timer prunes on its own and stops at close', async (t) => {
  const clock = manualClock(T0)
  const ledger = await openLedger(t, { clock: clock.now, retentionDays: 1, pruneIntervalMs: 5 })
  await recordAll(ledger, [share({ time: T0 }), share({ time: T0 + 1 })])
  clock.set(T0 + 2 * DAY)
  const start = Date.now()
  while (ledger.stats.pruned < 2 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 5))
  t.equal(ledger.stats.pruned, 2)
  await ledger.close()
})

t.test('a prune compacts what it deleted: the pruned range takes no disk space after it', async (t) => {
  const clock = manualClock(T0)
  const path = ledgerPath(t)
  const first = await openLedger(t, { path, clock: clock.now, retentionDays: 1 })
  // 20,000 records a day old, then closed and reopened: they are in table files on disk.
  const old: LedgerShare[] = Array.from({ length: 20_000 }, (_, i) => share({ time: T0 + i * 1000, jobId: `old${i}`, worker: `w${i % 50}` }))
  await recordAll(first, old)
  await first.close()
  const ledger = await openLedger(t, { path, clock: clock.now, retentionDays: 1 })
  const db = ledger.database as unknown as { approximateSize: (a: string, b: string) => Promise<number> }
  const range = ['sh/', 'sh0'] as const
  const before = await db.approximateSize(...range)
  t.ok(before > 100_000, `the records take ${before} bytes on disk`)
  clock.set(T0 + 3 * DAY)
  t.equal(await ledger.prune(), old.length)
  const after = await db.approximateSize(...range)
  // Without the compaction the records stay in their files, with the tombstones on top.
  t.ok(after < before / 20, `${after} bytes after the prune (${before} before)`)
  t.same(await allShares(ledger), [])
})

t.test('close writes the queued shares before it waits for a prune still compacting', async (t) => {
  const clock = manualClock(T0)
  const path = ledgerPath(t)
  // Groups wait a minute: only close's flush writes the late share.
  const ledger = await openLedger(t, { path, clock: clock.now, retentionDays: 1, groupCommitMs: 60_000 })
  await recordAll(ledger, [share({ time: T0, jobId: 'old' })])
  clock.set(T0 + 3 * DAY)
  // A compaction that takes as long as the test says.
  let release: () => void = () => {}
  let compacting = false
  const db = ledger.database as unknown as { compactRange: (a: string, b: string) => Promise<void> }
  db.compactRange = () => ((compacting = true), new Promise<void>((resolve) => (release = resolve)))
  const pruning = ledger.prune()
  const { until } = await import('../helpers/until.js')
  await until(() => compacting)
  // A share queued now, then close: it is written while the compaction still runs.
  const recorded = ledger.record(share({ time: T0 + 3 * DAY, jobId: 'late' }))
  const closed = ledger.close()
  t.teardown(() => release())
  const first = await Promise.race([recorded.then(() => 'written'), new Promise((r) => setTimeout(() => r('still waiting'), 3000))])
  t.equal(first, 'written', 'the late share was written without waiting for the compaction')
  const raw = []
  for await (const key of ledger.database.keys({ gte: 'sh/', lt: 'sh0' })) raw.push(key)
  t.equal(raw.length, 1, 'the late share is in the database before the compaction ends')
  release()
  await pruning
  await closed
  const again = await openLedger(t, { path, clock: clock.now, retentionDays: 1 })
  t.same((await allShares(again)).map((s) => s.jobId), ['late'])
})
