/**
 * Upstream answers and local rejects: group-committed tallies per worker
 * and minute, failures counted, and the upstream revenue split (exact sums,
 * upstream and local columns).
 */
import t from 'tap'
import { splitUpstreamRevenue } from '../../src/accounting/index.js'
import { splitProportionally } from '../../src/payouts/index.js'
import { DAY, HOUR, MINUTE, T0, ledgerPath, openLedger, recordAll, share } from '../helpers/ledger-fixtures.js'
import { prng } from '../helpers/prng.js'

const up = (over: Partial<{ time: number; account: string; worker: string; difficulty: number; accepted: boolean; reason: string }> = {}) => ({
  time: T0,
  account: 'a',
  worker: 'rig1',
  difficulty: 1000,
  accepted: true,
  source: 'upstream:pool',
  ...over,
})

t.test('upstream answers are tallied per worker and minute, and survive a restart', async (t) => {
  const path = ledgerPath(t)
  let ledger = await openLedger(t, { path })
  ledger.recordUpstream(up({ time: T0 + 1000 }))
  ledger.recordUpstream(up({ time: T0 + 2000, difficulty: 500.5 }))
  ledger.recordUpstream(up({ time: T0 + 3000, accepted: false, reason: 'Stale share' }))
  ledger.recordUpstream(up({ time: T0 + 4000, accepted: false, reason: 'Low difficulty share' }))
  ledger.recordUpstream(up({ time: T0 + HOUR + 5, worker: 'rig2', difficulty: 2000 }))
  ledger.recordUpstream(up({ time: T0 + DAY + 5, account: 'b', difficulty: 3000 }))
  ledger.recordReject({ time: T0 + 10, account: 'a', worker: 'rig1', reason: 'stale' })
  ledger.recordReject({ time: T0 + 11, account: 'a', worker: 'rig1', reason: 'job-not-found' })
  ledger.recordReject({ time: T0 + 12, account: 'a', worker: 'rig1', reason: 'duplicate' })
  await ledger.close()
  ledger = await openLedger(t, { path })
  t.equal(ledger.stats.failedEvents, 0)

  const all = await ledger.upstreamTotals({ from: T0, to: T0 + 2 * DAY })
  t.ok(all.exact)
  t.same(
    all.workers.map((w) => [w.account, w.worker, w.counts.accepted, w.counts.scaled, w.counts.rejected, w.counts.stale]),
    [
      ['a', 'rig1', 2, BigInt(1500.5 * 2 ** 32), 1, 1],
      ['a', 'rig2', 1, BigInt(2000 * 2 ** 32), 0, 0],
      ['b', 'rig1', 1, BigInt(3000 * 2 ** 32), 0, 0],
    ],
  )
  // Day, hour and minute buckets give the same answer for a range spanning them.
  const someHours = await ledger.upstreamTotals({ from: T0 + MINUTE, to: T0 + DAY + HOUR })
  t.same(someHours.workers.map((w) => w.worker + w.account), ['rig2a', 'rig1b'])
  const oneAccount = await ledger.upstreamTotals({ from: T0, to: T0 + 2 * DAY, account: 'b' })
  t.same(oneAccount.workers.map((w) => w.account), ['b'])
  // A partial minute counts whole when it starts inside the range; not exact.
  const partial = await ledger.upstreamTotals({ from: T0 + 500, to: T0 + 2500 })
  t.equal(partial.exact, false)
  t.same(partial.workers, [], 'the minute of T0 starts before the range')
  const partial2 = await ledger.upstreamTotals({ from: T0, to: T0 + 2500 })
  t.equal(partial2.workers[0]?.counts.accepted, 2)

  const rejects = await ledger.rejectTotals({ from: T0, to: T0 + MINUTE })
  t.same(rejects.workers.map((w) => [w.counts.rejected, w.counts.stale]), [[1, 2]])
})

t.test('fire and forget, never lost silently: malformed results and failed writes are counted', async (t) => {
  const ledger = await openLedger(t)
  ledger.recordUpstream(up({ account: 'bad name' }))
  ledger.recordUpstream(up({ difficulty: Number.NaN }))
  ledger.recordReject({ time: -1, account: 'a', worker: 'w', reason: 'stale' })
  ledger.recordUpstream(null as never)
  ledger.recordReject(null as never)
  ledger.recordReject({ time: T0, account: 'a', worker: 'w', reason: 5 as never })
  ledger.recordUpstream({ ...up(), accepted: 'yes' as never })
  t.equal(ledger.stats.failedEvents, 7)
  // A write that fails: a prewrite hook throwing for event keys.
  ledger.database.hooks.prewrite.add((op: { key: string }) => {
    if (op.key.startsWith('ev/')) throw new Error('disk full')
  })
  ledger.recordUpstream(up())
  ledger.recordUpstream(up({ worker: 'rig2' }))
  await ledger.flush()
  const { until } = await import('../helpers/until.js')
  await until(() => ledger.stats.failedEvents === 9)
  t.equal(ledger.stats.events, 0)
  await ledger.close()
  ledger.recordUpstream(up())
  ledger.recordReject({ time: T0, account: 'a', worker: 'w', reason: 'stale' })
  t.equal(ledger.stats.failedEvents, 11, 'after close: counted, not thrown')
})

t.test('the upstream revenue split: by upstream difficulty, local as a second column, exact sums', async (t) => {
  const ledger = await openLedger(t)
  await recordAll(ledger, [
    share({ time: T0 + 1, account: 'a', worker: 'rig1', difficulty: 10 }),
    share({ time: T0 + 2, account: 'a', worker: 'rig2', difficulty: 10 }),
    share({ time: T0 + 3, account: 'b', worker: 'rig1', difficulty: 20 }),
  ])
  ledger.recordUpstream(up({ time: T0 + 5, account: 'a', worker: 'rig1', difficulty: 1 }))
  ledger.recordUpstream(up({ time: T0 + 6, account: 'b', worker: 'rig1', difficulty: 2 }))
  ledger.recordUpstream(up({ time: T0 + 7, account: 'a', worker: 'rig2', accepted: false }))
  await ledger.flush()
  await ledger.addUpstreamRevenue({ amountSats: 1000n, from: T0, to: T0 + HOUR, note: 'hour 0' })
  // A record with no difficulty at all in its period stays unallocated.
  await ledger.addUpstreamRevenue({ amountSats: 7n, from: T0 + 2 * HOUR, to: T0 + 3 * HOUR })
  // A record starting after the range belongs to the next range.
  await ledger.addUpstreamRevenue({ amountSats: 5n, from: T0 + DAY, to: T0 + DAY + HOUR })

  const split = await splitUpstreamRevenue(ledger, T0, T0 + DAY)
  t.equal(split.total, 1007n)
  t.equal(split.records.length, 2)
  t.equal(split.unallocatedByUpstream, 7n)
  t.equal(split.unallocatedByLocal, 7n)
  t.same(
    split.workers.map((w) => [w.account, w.worker, w.byUpstream, w.byLocal]),
    [
      ['a', 'rig1', 333n, 250n],
      ['a', 'rig2', 0n, 250n],
      ['b', 'rig1', 667n, 500n],
    ],
  )
  t.same(split.accounts.map((a) => [a.account, a.byUpstream, a.byLocal, a.upstreamScaled]), [
    ['a', 333n, 500n, 2n ** 32n],
    ['b', 667n, 500n, 2n ** 33n],
  ])
  t.ok(split.exact)

  // Without upstream tallies (no proxy mode) the local difficulty splits both columns.
  const local = await openLedger(t, { path: ledgerPath(t, 'local') })
  await recordAll(local, [share({ time: T0 + 1, account: 'a', difficulty: 1 }), share({ time: T0 + 2, account: 'b', difficulty: 3 })])
  await local.addUpstreamRevenue({ amountSats: 100n, from: T0, to: T0 + MINUTE + 30_000 })
  const byLocal = await splitUpstreamRevenue(local, T0, T0 + DAY)
  t.same(byLocal.accounts.map((a) => [a.account, a.byUpstream, a.byLocal]), [['a', 25n, 25n], ['b', 75n, 75n]])
  t.equal(byLocal.exact, false, 'a record ending inside a minute is exact only to the minute for upstream tallies')
})

t.test('property: random upstream results split random revenue exactly, the same as the largest remainder over workers', async (t) => {
  for (let seed = 1; seed <= 12; seed++) {
    const random = prng(seed)
    const ledger = await openLedger(t, { path: ledgerPath(t, `p${seed}`) })
    const weights = new Map<string, bigint>()
    const n = 1 + Math.floor(random() * 60)
    for (let i = 0; i < n; i++) {
      const account = `acc${Math.floor(random() * 5)}`
      const worker = `w${Math.floor(random() * 4)}`
      const difficulty = 1 + Math.floor(random() * 1e6) / 7
      const accepted = random() < 0.9
      ledger.recordUpstream(up({ time: T0 + Math.floor(random() * 2 * HOUR), account, worker, difficulty, accepted }))
      if (accepted) weights.set(`${account}/${worker}`, (weights.get(`${account}/${worker}`) ?? 0n) + BigInt(Math.round(difficulty * 2 ** 32)))
    }
    await ledger.flush()
    const amount = BigInt(Math.floor(random() * 1e12)) + 1n
    await ledger.addUpstreamRevenue({ amountSats: amount, from: T0, to: T0 + 2 * HOUR })
    const split = await splitUpstreamRevenue(ledger, T0, T0 + DAY)
    const sum = split.workers.reduce((s, w) => s + w.byUpstream, 0n)
    const expected = weights.size === 0 ? new Map() : splitProportionally(amount, [...weights].map(([account, units]) => ({ account, units })))
    const got = new Map(split.workers.filter((w) => w.byUpstream > 0n).map((w) => [`${w.account}/${w.worker}`, w.byUpstream]))
    if (weights.size > 0) t.equal(sum, amount, `seed ${seed}: exact sum`)
    t.same(got, expected, `seed ${seed}: largest remainder over workers`)
    t.equal(split.accounts.reduce((s, a) => s + a.byUpstream, 0n), sum, `seed ${seed}: accounts are sums of workers`)
    await ledger.close()
  }
})
