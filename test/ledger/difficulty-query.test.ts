/** Accepted difficulty over time ranges: bucket boundaries, exact edges, and agreement with a brute-force sum. */
import t from 'tap'
import { scaleDifficulty, type LedgerShare } from '../../src/ledger/index.js'
import { planRange } from '../../src/ledger/range-plan.js'
import { prng } from '../helpers/prng.js'
import { DAY, HOUR, MINUTE, T0, manualClock, openLedger, recordAll, share } from '../helpers/ledger-fixtures.js'

/** What the ledger should answer, summed share by share. */
function bruteForce(shares: readonly LedgerShare[], q: { from: number; to: number; account?: string; worker?: string }): { shares: number; scaled: bigint } {
  let n = 0
  let scaled = 0n
  for (const s of shares) {
    if (s.time < q.from || s.time >= q.to) continue
    if (q.account !== undefined && s.account !== q.account) continue
    if (q.worker !== undefined && s.worker !== q.worker) continue
    n++
    scaled += scaleDifficulty(s.difficulty)
  }
  return { shares: n, scaled }
}

t.test('range plans use the coarsest whole buckets and share records only for partial minutes', async (t) => {
  t.same(planRange(T0, T0), { edges: [], runs: [] })
  t.same(planRange(T0 + 5, T0 + 50), { edges: [[T0 + 5, T0 + 50]], runs: [] })
  t.same(planRange(T0, T0 + MINUTE), { edges: [], runs: [{ res: 'm', from: T0, to: T0 + MINUTE }] })
  t.same(planRange(T0 + 30_000, T0 + 90_000), { edges: [[T0 + 30_000, T0 + 90_000]], runs: [] }, 'no whole minute inside')
  t.same(planRange(T0 - 1, T0 + DAY + 1), {
    edges: [
      [T0 - 1, T0],
      [T0 + DAY, T0 + DAY + 1],
    ],
    runs: [{ res: 'd', from: T0, to: T0 + DAY }],
  })
  t.same(planRange(T0 + 59 * MINUTE, T0 + 2 * DAY + HOUR + MINUTE).runs, [
    { res: 'm', from: T0 + 59 * MINUTE, to: T0 + HOUR },
    { res: 'h', from: T0 + HOUR, to: T0 + DAY },
    { res: 'd', from: T0 + DAY, to: T0 + 2 * DAY },
    { res: 'h', from: T0 + 2 * DAY, to: T0 + 2 * DAY + HOUR },
    { res: 'm', from: T0 + 2 * DAY + HOUR, to: T0 + 2 * DAY + HOUR + MINUTE },
  ])
  t.same(planRange(T0 + 10 * MINUTE, T0 + 3 * HOUR).runs, [
    { res: 'm', from: T0 + 10 * MINUTE, to: T0 + HOUR },
    { res: 'h', from: T0 + HOUR, to: T0 + 3 * HOUR },
  ])
})

t.test('shares on both sides of minute, hour and day boundaries land in the right buckets', async (t) => {
  const ledger = await openLedger(t)
  const edges = [MINUTE, HOUR, DAY]
  const shares: LedgerShare[] = []
  edges.forEach((edge, i) => {
    shares.push(share({ time: T0 + edge - 1, difficulty: 1 + i * 10, worker: 'a' }), share({ time: T0 + edge, difficulty: 2 + i * 10, worker: 'b' }))
  })
  await recordAll(ledger, shares)
  for (const edge of edges) {
    for (const q of [
      { from: T0, to: T0 + edge },
      { from: T0 + edge, to: T0 + 2 * edge },
      { from: T0 + edge - 1, to: T0 + edge + 1 },
      { from: T0 + edge - 1, to: T0 + edge },
      { from: T0 + edge, to: T0 + edge + 1 },
      { from: T0 + edge - MINUTE, to: T0 + edge + MINUTE },
      { from: T0 + edge, to: T0 + edge + MINUTE, worker: 'b' },
      { from: T0, to: T0 + 3 * DAY, worker: 'a' },
      { from: T0, to: T0 + 3 * DAY, account: 'acct', worker: 'b' },
      { from: T0, to: T0 + 3 * DAY, account: 'nobody' },
    ]) {
      const got = await ledger.acceptedDifficulty(q)
      const want = bruteForce(shares, q)
      t.same({ shares: got.shares, scaled: got.scaled, exact: got.exact }, { ...want, exact: true }, JSON.stringify(q))
    }
  }
  const all = await ledger.acceptedDifficulty({ from: 0, to: T0 + 10 * DAY })
  t.equal(all.difficulty, 1 + 2 + 11 + 12 + 21 + 22)
})

t.test('random shares and random ranges agree with a brute-force sum, to the unit', async (t) => {
  const rand = prng(0x1ed9e7)
  const ledger = await openLedger(t, { groupCommitMax: 200 })
  const shares: LedgerShare[] = []
  const span = 3 * DAY
  for (let i = 0; i < 3000; i++) {
    const account = `acct${Math.floor(rand() * 3)}`
    shares.push(
      share({
        time: T0 + Math.floor(rand() ** 2 * span),
        account,
        worker: `w${Math.floor(rand() * 3)}`,
        difficulty: rand() < 0.3 ? 2 ** Math.floor(rand() * 20) : rand() * 1e6 + 0.001,
        jobId: String(i),
      }),
    )
  }
  await recordAll(ledger, shares)
  const pick = (): number => {
    const r = rand()
    const at = T0 + Math.floor(rand() * span)
    // Half the ends on a bucket boundary, half anywhere.
    if (r < 0.15) return at - (at % DAY)
    if (r < 0.3) return at - (at % HOUR)
    if (r < 0.5) return at - (at % MINUTE)
    return at
  }
  for (let i = 0; i < 150; i++) {
    let from = pick()
    let to = pick()
    if (to < from) [from, to] = [to, from]
    const q: { from: number; to: number; account?: string; worker?: string } = { from, to }
    if (rand() < 0.5) q.account = `acct${Math.floor(rand() * 3)}`
    if (rand() < 0.3) q.worker = `w${Math.floor(rand() * 3)}`
    const got = await ledger.acceptedDifficulty(q)
    const want = bruteForce(shares, q)
    if (got.scaled !== want.scaled || got.shares !== want.shares || !got.exact) t.fail(`query ${JSON.stringify(q)}: got ${got.scaled}/${got.shares}, want ${want.scaled}/${want.shares}`)
  }
  // The workers table, on a range with partial minutes at both ends.
  const from = T0 + 5 * HOUR + 12_345
  const to = T0 + 2 * DAY + 7 * MINUTE + 1
  const { workers, exact } = await ledger.workers({ from, to })
  t.ok(exact)
  const want = new Map<string, { shares: number; scaled: bigint; first: number; last: number }>()
  for (const s of shares) {
    if (s.time < from || s.time >= to) continue
    const k = `${s.account}/${s.worker}`
    const w = want.get(k) ?? { shares: 0, scaled: 0n, first: Infinity, last: 0 }
    want.set(k, { shares: w.shares + 1, scaled: w.scaled + scaleDifficulty(s.difficulty), first: Math.min(w.first, s.time), last: Math.max(w.last, s.time) })
  }
  t.same(
    workers.map((w) => [`${w.account}/${w.worker}`, w.shares, w.scaled, w.firstShareAt, w.lastShareAt]),
    [...want].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, w]) => [k, w.shares, w.scaled, w.first, w.last]),
  )
  const one = await ledger.workers({ from, to, account: 'acct1' })
  t.ok(one.workers.length > 0 && one.workers.every((w) => w.account === 'acct1'))
  t.pass('150 random ranges matched')
})

t.test('after pruning, range ends inside pruned minutes are counted by bucket and flagged inexact', async (t) => {
  const clock = manualClock(T0)
  const ledger = await openLedger(t, { clock: clock.now, retentionDays: 1 })
  await recordAll(ledger, [share({ time: T0 + 10_000, difficulty: 1 }), share({ time: T0 + 50_000, difficulty: 2 }), share({ time: T0 + DAY + 10_000, difficulty: 4 })])
  clock.set(T0 + DAY + 55_000)
  t.equal(await ledger.prune(), 2)
  t.match(await ledger.acceptedDifficulty({ from: T0, to: T0 + MINUTE }), { difficulty: 3, exact: true }, 'whole buckets need no share records')
  t.match(await ledger.acceptedDifficulty({ from: T0 + 30_000, to: T0 + 2 * MINUTE }), { difficulty: 0, exact: false }, 'a pruned head minute is left out')
  t.match(await ledger.acceptedDifficulty({ from: 0, to: T0 + 30_000 }), { difficulty: 3, exact: false }, 'a pruned tail minute is counted whole')
  t.match(await ledger.acceptedDifficulty({ from: T0 + DAY, to: T0 + DAY + 20_000 }), { difficulty: 4, exact: true }, 'kept records stay exact')
  const { workers, exact } = await ledger.workers({ from: T0 + 1, to: T0 + DAY + 20_000 })
  t.notOk(exact)
  t.same(
    workers.map((w) => [w.worker, w.difficulty]),
    [['rig1', 4]],
  )
})
