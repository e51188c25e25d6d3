/**
 * Group commit: a share's `record` resolves only after the batch holding it
 * is written; a failed write rejects every share of its batch and loses
 * nothing acknowledged before; close() writes what is queued.
 */
import t from 'tap'
import { GroupCommit } from '../../src/ledger/group-commit.js'
import { LedgerError, scaleDifficulty, type LedgerShare } from '../../src/ledger/index.js'
import { until } from '../helpers/until.js'
import { T0, allShares, ledgerPath, openLedger, recordAll, share } from '../helpers/ledger-fixtures.js'

const shares = (n: number, prefix: string, from = 0): LedgerShare[] =>
  Array.from({ length: n }, (_, i) => share({ time: T0 + from + i, jobId: `${prefix}${i}`, difficulty: 1 + (i % 7) / 8, account: `a${i % 3}` }))

/** jobIds of the share records in the ops of every completed write. */
function watchWrites(db: { on: (event: 'write', fn: (ops: { key: unknown; value?: unknown }[]) => void) => unknown }): Set<string> {
  const written = new Set<string>()
  db.on('write', (ops) => {
    for (const op of ops) {
      if (typeof op.key === 'string' && op.key.startsWith('sh/') && typeof op.value === 'string') written.add((JSON.parse(op.value) as { j: string }).j)
    }
  })
  return written
}

t.test('concurrent records resolve only after their batch is written, and are there after a reopen', async (t) => {
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path, groupCommitMs: 5, groupCommitMax: 400 })
  const written = watchWrites(ledger.database)
  const early: string[] = []
  const batch = shares(3000, 'c')
  await Promise.all(
    batch.map((s) =>
      ledger.record(s).then(() => {
        if (!written.has(s.jobId)) early.push(s.jobId)
      }),
    ),
  )
  t.same(early, [], 'no record resolved before its batch was written')
  const stats = ledger.stats
  t.equal(stats.shares, 3000)
  t.ok(stats.groups >= 8 && stats.groups < 100, `3000 shares in ${stats.groups} groups of at most 400`)
  t.equal(stats.queued, 0)
  await ledger.close()
  const again = await openLedger(t, { path })
  t.same((await allShares(again)).map((s) => s.jobId), batch.map((s) => s.jobId))
})

t.test('a group goes out at groupCommitMax without waiting for the delay, the rest after the delay or a flush', async (t) => {
  const ledger = await openLedger(t, { groupCommitMs: 60_000, groupCommitMax: 10 })
  const done = new Set<string>()
  const pending = shares(25, 'm').map((s) => ledger.record(s).then(() => done.add(s.jobId)))
  await until(() => done.size === 20)
  await new Promise((r) => setTimeout(r, 20))
  t.equal(done.size, 20, 'the last 5 wait for the delay')
  t.equal(ledger.stats.queued, 5)
  await ledger.flush()
  await Promise.all(pending)
  t.equal(done.size, 25)
})

t.test('a lone share waits for the delay', async (t) => {
  const ledger = await openLedger(t, { groupCommitMs: 40 })
  let resolved = false
  const p = ledger.record(share()).then(() => (resolved = true))
  await new Promise((r) => setTimeout(r, 5))
  t.notOk(resolved)
  await p
  t.ok(resolved)
})

t.test('with sync, every group commit is written with { sync: true }', async (t) => {
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path, sync: true })
  const seen: unknown[] = []
  type Chained = { write: (options?: unknown) => Promise<void> }
  const db = ledger.database as unknown as { batch: () => Chained }
  const batch = db.batch.bind(db)
  db.batch = () => {
    const chained = batch()
    const write = chained.write.bind(chained)
    chained.write = (options?: unknown) => {
      seen.push(options)
      return write(options)
    }
    return chained
  }
  await recordAll(ledger, shares(200, 's'))
  t.ok(seen.length > 0)
  t.same(new Set(seen.map((o) => JSON.stringify(o))), new Set([JSON.stringify({ sync: true })]))
  await ledger.close()
  t.equal((await allShares(await openLedger(t, { path }))).length, 200)
})

t.test('a failed write rejects every share of its batch, keeps what was acknowledged, and the ledger goes on', async (t) => {
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path, groupCommitMs: 2 })
  const before = shares(100, 'ok')
  await recordAll(ledger, before)

  let failing = true
  ledger.database.hooks.prewrite.add(() => {
    if (failing) throw new Error('ENOSPC: no space left on device (simulated)')
  })
  const doomed = shares(50, 'lost', 1000)
  const results = await Promise.allSettled(doomed.map((s) => ledger.record(s)))
  t.ok(results.every((r) => r.status === 'rejected'), 'no share of a failed batch is acknowledged')
  const reason = (results[0] as PromiseRejectedResult).reason as LedgerError
  t.ok(reason instanceof LedgerError)
  t.equal(reason.code, 'HF_LEDGER_WRITE')
  t.match(reason.message, path)
  t.match(reason.message, /ENOSPC/)
  t.equal(reason.path, path)
  t.ok(ledger.stats.failedGroups >= 1)
  // Block shares in a failed batch must not advance the round either.
  await t.rejects(ledger.record(share({ time: T0 + 5000, block: true, jobId: 'lost-block' })), { code: 'HF_LEDGER_WRITE' })
  t.equal(ledger.currentRound(), 1)

  failing = false
  const after = shares(30, 'after', 2000)
  await recordAll(ledger, after)
  await ledger.close()

  const again = await openLedger(t, { path })
  const stored = await allShares(again)
  const acked = [...before, ...after]
  t.same(stored.map((s) => s.jobId), acked.map((s) => s.jobId), 'exactly the acknowledged shares')
  t.equal(new Set(stored.map((s) => s.seq)).size, stored.length, 'sequence numbers unique')
  const total = await again.acceptedDifficulty({ from: 0, to: T0 + 10_000 })
  t.equal(total.shares, 130)
  t.equal(total.scaled, acked.reduce((sum, s) => sum + scaleDifficulty(s.difficulty), 0n), 'tallies hold no trace of the failed batch')
  t.equal((await again.roundTotals(1))?.shares, 130)
})

t.test('records fail cleanly when the database underneath is closed', async (t) => {
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path })
  await ledger.record(share({ jobId: 'kept' }))
  await ledger.database.close()
  await t.rejects(ledger.record(share({ jobId: 'x' })), { code: 'HF_LEDGER_WRITE' })
  await t.rejects(ledger.credit('a', 1n), { code: /^HF_LEDGER_(WRITE|CLOSED)$/ })
  await t.rejects(ledger.balance('a'), { code: 'HF_LEDGER_CLOSED' })
  await ledger.close()
  const again = await openLedger(t, { path })
  t.same((await allShares(again)).map((s) => s.jobId), ['kept'])
})

t.test('close() writes every queued share first', async (t) => {
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path, groupCommitMs: 60_000 })
  const queued = shares(40, 'q').map((s) => ledger.record(s))
  t.equal(ledger.stats.queued, 40)
  await ledger.close()
  await Promise.all(queued)
  await t.rejects(ledger.record(share()), { code: 'HF_LEDGER_CLOSED' })
  t.equal((await allShares(await openLedger(t, { path }))).length, 40)
})

t.test('GroupCommit on its own: groups by size and delay, one write at a time', async (t) => {
  const groups: number[][] = []
  let active = 0
  let maxActive = 0
  const gc = new GroupCommit<number>({
    delayMs: 3,
    maxItems: 4,
    write: async (items) => {
      active++
      maxActive = Math.max(maxActive, active)
      await new Promise((r) => setTimeout(r, 2))
      groups.push(items)
      active--
      if (items.includes(13)) throw new Error('thirteen')
    },
  })
  const results = await Promise.allSettled(Array.from({ length: 15 }, (_, i) => gc.add(i)))
  t.equal(maxActive, 1)
  t.same(groups.flat(), Array.from({ length: 15 }, (_, i) => i), 'in order, each once')
  t.ok(groups.every((g) => g.length <= 4))
  const failedGroup = groups.find((g) => g.includes(13)) ?? []
  results.forEach((r, i) => t.equal(r.status, failedGroup.includes(i) ? 'rejected' : 'fulfilled', `item ${i}`))
  await gc.flush()
  t.equal(gc.queued, 0)
})

t.test('GroupCommit with delayMs 0: a turn\'s items are one group, written at the end of the turn; what queues meanwhile is the next', async (t) => {
  const groups: number[][] = []
  let release: (() => void) | undefined
  const gc = new GroupCommit<number>({
    delayMs: 0,
    maxItems: 100,
    write: async (items) => {
      groups.push(items)
      if (items.includes(0)) await new Promise<void>((r) => (release = r)) // the first write waits until released
    },
  })
  const first = [gc.add(0), gc.add(1), gc.add(2)]
  t.same(groups, [], 'nothing written within the turn that queued the items')
  await new Promise((r) => setImmediate(r))
  t.same(groups, [[0, 1, 2]], 'written at the end of that turn, as one group')
  // Queued while the first write runs: one group, right after it.
  const second = [gc.add(3), gc.add(4)]
  await new Promise((r) => setImmediate(r))
  t.same(groups, [[0, 1, 2]], 'one write at a time')
  release?.()
  await Promise.all([...first, ...second])
  t.same(groups, [[0, 1, 2], [3, 4]])
  // flush() with a write pending at the end of the turn writes once, and the pending one finds nothing.
  const third = gc.add(5)
  await gc.flush()
  await third
  await new Promise((r) => setImmediate(r))
  t.same(groups, [[0, 1, 2], [3, 4], [5]], 'flushed once')
  t.equal(gc.counters.groups, 3)
})

t.test('settle(): what was added before is written now, whatever the delay, and a steady stream of new items does not hold it up', async (t) => {
  const written: number[] = []
  let active = 0
  let maxActive = 0
  let streaming = true
  let next = 100
  const gc: GroupCommit<number> = new GroupCommit<number>({
    delayMs: 3_600_000, // an hour: only settle (or a full group) writes
    maxItems: 4,
    write: async (items) => {
      active++
      maxActive = Math.max(maxActive, active)
      written.push(...items)
      // Every write brings new items, as miners keep submitting (flush() would not return while this goes on).
      // Added from the write's synchronous part: they join the running loop, never start a second one.
      if (streaming) for (let i = 0; i < 5; i++) gc.addWith(next++, () => {})
      await new Promise((r) => setImmediate(r))
      active--
    },
  })
  const told: number[] = []
  for (let i = 0; i < 6; i++) gc.addWith(i, () => told.push(i))
  await gc.settle()
  t.same(told, [0, 1, 2, 3, 4, 5], 'every item added before settle() was written and told')
  t.ok(gc.queued > 0 || next > 106, 'new items kept coming meanwhile')
  t.ok(next < 200, `settled after ${next - 100} more items, not when the stream ended`)
  await gc.settle() // nothing added since: at once
  streaming = false
  await gc.flush()
  t.same(written.slice(0, 6), [0, 1, 2, 3, 4, 5], 'the first items first')
  t.same([...written].sort((a, b) => a - b), [...Array.from({ length: 6 }, (_, i) => i), ...Array.from({ length: next - 100 }, (_, i) => 100 + i)], 'everything written once')
  t.equal(maxActive, 1, 'one write at a time')
  // A failed write settles its items too.
  const failing = new GroupCommit<number>({ delayMs: 3_600_000, maxItems: 10, write: () => Promise.reject(new Error('disk')) })
  const errors: (Error | undefined)[] = []
  failing.addWith(1, (err) => errors.push(err))
  await failing.settle()
  t.equal(errors[0]?.message, 'disk')
})

t.test('addWith: each item told once after its group, a throwing callback does not stop the rest', async (t) => {
  const writes: number[][] = []
  let fail = false
  const gc = new GroupCommit<number>({
    write: async (items) => {
      writes.push(items)
      if (fail) throw new Error('disk gone')
    },
    delayMs: 1,
    maxItems: 10,
  })
  const told: [number, string | undefined][] = []
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown): void => void unhandled.push(err)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => process.off('unhandledRejection', onUnhandled))
  for (let i = 0; i < 3; i++) {
    gc.addWith(i, (err) => {
      told.push([i, err?.message])
      if (i === 1) throw new Error('a caller bug')
    })
  }
  t.same(told, [], 'never called from inside addWith')
  await gc.flush()
  t.same(writes, [[0, 1, 2]])
  t.same(told, [[0, undefined], [1, undefined], [2, undefined]], 'every item told, the one after the throwing callback too')
  await new Promise((r) => setImmediate(r))
  t.match(unhandled, [{ message: 'a caller bug' }], 'the callback bug surfaces as an unhandled rejection')
  fail = true
  const failed: (string | undefined)[] = []
  gc.addWith(7, (err) => void failed.push(err?.message))
  await gc.flush()
  t.same(failed, ['disk gone'], 'a failed write tells its items the error')
})

t.test('recordWith: the ledger tells the callback later, with the error for a malformed share or a closed ledger', async (t) => {
  const ledger = await openLedger(t)
  const results: (string | undefined)[] = []
  const done = (err: Error | undefined): void => void results.push(err === undefined ? 'ok' : (err as LedgerError).code)
  ledger.recordWith(share({ jobId: 'good' }), done)
  ledger.recordWith(share({ account: 'bad/name' }), done)
  t.same(results, [], 'not called synchronously, not even for a refused share')
  await ledger.flush()
  await new Promise((r) => setImmediate(r))
  t.same(results.sort(), ['HF_LEDGER_INVALID', 'ok'])
  await ledger.close()
  ledger.recordWith(share({ jobId: 'late' }), done)
  await new Promise((r) => setImmediate(r))
  t.equal(results.at(-1), 'HF_LEDGER_CLOSED')
  t.same((await allShares(await openLedger(t, { path: ledger.path }))).map((s) => s.jobId), ['good'])
})
