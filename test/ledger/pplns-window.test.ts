/** The PPLNS window: exact to the unit against a brute-force walk over the shares, and its edge cases. */
import t from 'tap'
import { DIFFICULTY_SCALE, prorate, scaleDifficulty, type LedgerShare } from '../../src/ledger/index.js'
import { prng } from '../helpers/prng.js'
import { DAY, HOUR, MINUTE, T0, manualClock, openLedger, recordAll, share } from '../helpers/ledger-fixtures.js'

/** The last `n` scaled units of `shares` (in record order within a ms) with time < before, per account. */
function bruteForce(shares: readonly LedgerShare[], before: number, n: bigint, include = (s: LedgerShare) => s.time < before): Map<string, bigint> {
  const ordered = shares.map((s, i) => ({ s, i })).sort((a, b) => a.s.time - b.s.time || a.i - b.i)
  const out = new Map<string, bigint>()
  let left = n
  for (let k = ordered.length - 1; k >= 0 && left > 0n; k--) {
    const s = (ordered[k] as { s: LedgerShare }).s
    if (!include(s)) continue
    const d = scaleDifficulty(s.difficulty)
    const take = d < left ? d : left
    out.set(s.account, (out.get(s.account) ?? 0n) + take)
    left -= take
  }
  return out
}

const sum = (m: ReadonlyMap<string, bigint>): bigint => [...m.values()].reduce((a, b) => a + b, 0n)
const sorted = (m: ReadonlyMap<string, bigint>): [string, bigint][] => [...m].sort(([a], [b]) => (a < b ? -1 : 1))

t.test('random windows over three days of shares match the brute-force walk exactly', async (t) => {
  const rand = prng(0x99a1)
  const ledger = await openLedger(t, { groupCommitMax: 500 })
  const shares: LedgerShare[] = []
  const span = 3 * DAY
  for (let i = 0; i < 4000; i++) {
    shares.push(
      share({
        time: T0 + Math.floor(rand() * span),
        account: `a${Math.floor(rand() * 5)}`,
        difficulty: rand() < 0.5 ? 1 + Math.floor(rand() * 4096) : rand() * 5000 + 0.5,
        jobId: String(i),
      }),
    )
  }
  await recordAll(ledger, shares)
  const total = shares.reduce((acc, s) => acc + scaleDifficulty(s.difficulty), 0n)
  for (let i = 0; i < 120; i++) {
    const r = rand()
    let before = T0 + Math.floor(rand() * (span + HOUR))
    if (r < 0.2) before -= before % DAY
    else if (r < 0.4) before -= before % HOUR
    else if (r < 0.6) before -= before % MINUTE
    // Windows from a sliver to more than everything there is.
    const fraction = rand() < 0.1 ? 2 : rand() ** 3
    const difficulty = Math.max(1, Math.floor(Number(total / DIFFICULTY_SCALE) * fraction))
    const want = bruteForce(shares, before, scaleDifficulty(difficulty))
    const got = await ledger.pplnsWindow({ before, difficulty })
    if (!got.exact || got.total !== sum(want) || JSON.stringify(sorted(got.accounts).map(String)) !== JSON.stringify(sorted(want).map(String))) {
      t.fail(`before ${before} difficulty ${difficulty}: got ${got.total} ${String(sorted(got.accounts))}, want ${sum(want)} ${String(sorted(want))}`)
    }
    t.equal(sum(got.accounts), got.total)
    if (got.total < got.requested) t.equal(got.total, sum(bruteForce(shares, before, 1n << 200n)), 'short only when the ledger holds less')
  }
})

t.test('the oldest share of the window counts only for its part inside', async (t) => {
  const ledger = await openLedger(t)
  await recordAll(ledger, [
    share({ time: T0 + 1000, account: 'old', difficulty: 10 }),
    share({ time: T0 + 2000, account: 'mid', difficulty: 4 }),
    share({ time: T0 + 3000, account: 'new', difficulty: 1 }),
  ])
  const w = await ledger.pplnsWindow({ before: T0 + 3001, difficulty: 7 })
  t.same(sorted(w.accounts), [
    ['mid', 4n * DIFFICULTY_SCALE],
    ['new', DIFFICULTY_SCALE],
    ['old', 2n * DIFFICULTY_SCALE],
  ])
  t.equal(w.start, T0 + 1000)
  t.ok(w.exact)
  const fractional = await ledger.pplnsWindow({ before: T0 + 3001, difficulty: 1.5 })
  t.same(sorted(fractional.accounts), [
    ['mid', DIFFICULTY_SCALE / 2n],
    ['new', DIFFICULTY_SCALE],
  ])
  t.same([...(await ledger.pplnsWindow({ before: T0 + 3000, difficulty: 1 })).accounts], [['mid', DIFFICULTY_SCALE]], 'before is exclusive')
  const empty = await ledger.pplnsWindow({ before: T0, difficulty: 5 })
  t.same([empty.total, empty.accounts.size, empty.start], [0n, 0, undefined])
  await t.rejects(ledger.pplnsWindow({ before: T0, difficulty: 0 }), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.pplnsWindow({ before: -5, difficulty: 1 }), { code: 'HF_LEDGER_INVALID' })
})

t.test('a window before a block ends with the block share itself, not later shares of the same ms', async (t) => {
  const ledger = await openLedger(t)
  const hash = 'e'.repeat(64)
  const at = T0 + 5 * MINUTE
  await recordAll(ledger, [
    share({ time: at - HOUR, account: 'a', difficulty: 8 }),
    share({ time: at, account: 'b', difficulty: 2 }),
    share({ time: at, account: 'finder', difficulty: 3, block: true, height: 900_100 }),
    share({ time: at, account: 'late', difficulty: 5 }),
  ])
  await ledger.addBlock({ hash, height: 900_100, reward: 1n, account: 'finder', worker: 'rig1', time: at, status: 'accepted' })
  const w = await ledger.pplnsWindow({ block: hash, difficulty: 100 })
  t.same(sorted(w.accounts), [
    ['a', 8n * DIFFICULTY_SCALE],
    ['b', 2n * DIFFICULTY_SCALE],
    ['finder', 3n * DIFFICULTY_SCALE],
  ])
  // A block without its share in the ledger (imported): every share up to its ms.
  const other = 'f'.repeat(64)
  await ledger.addBlock({ hash: other, height: 800_000, reward: 1n, account: 'x', worker: 'y', time: at, status: 'accepted' })
  t.equal((await ledger.pplnsWindow({ block: other, difficulty: 100 })).total, 18n * DIFFICULTY_SCALE)
  await t.rejects(ledger.pplnsWindow({ block: '0'.repeat(64), difficulty: 1 }), { code: 'HF_LEDGER_INVALID' })
})

t.test('a boundary in pruned share records is split pro rata and still sums to N', async (t) => {
  const clock = manualClock(T0)
  const ledger = await openLedger(t, { clock: clock.now, retentionDays: 1 })
  await recordAll(ledger, [
    share({ time: T0 + 1000, account: 'a', difficulty: 3 }),
    share({ time: T0 + 2000, account: 'b', difficulty: 1 }),
    share({ time: T0 + 2 * DAY, account: 'a', difficulty: 1 }),
  ])
  clock.set(T0 + DAY + HOUR)
  t.equal(await ledger.prune(), 2)
  const w = await ledger.pplnsWindow({ before: T0 + 3 * DAY, difficulty: 3 })
  t.notOk(w.exact)
  t.equal(w.total, 3n * DIFFICULTY_SCALE)
  t.same(sorted(w.accounts), [
    ['a', DIFFICULTY_SCALE + (3n * DIFFICULTY_SCALE) / 2n],
    ['b', DIFFICULTY_SCALE / 2n],
  ])
  t.equal(w.start, T0)
  // An end inside a pruned minute: that partial minute cannot be read.
  const partial = await ledger.pplnsWindow({ before: T0 + 1500, difficulty: 1 })
  t.notOk(partial.exact)
  t.equal(partial.total, 0n)
})

t.test('prorate splits exactly by largest remainder, ties by name', async (t) => {
  t.same([...prorate(new Map([['x', 1n], ['y', 1n], ['z', 1n]]), 3n, 2n)], [['x', 1n], ['y', 1n]])
  t.same(sorted(prorate(new Map([['a', 3n], ['b', 1n]]), 4n, 2n)), [['a', 2n]], '1.5 and 0.5: the larger remainder wins the unit')
  const rand = prng(7)
  for (let i = 0; i < 200; i++) {
    const m = new Map<string, bigint>()
    for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) m.set(`k${k}`, BigInt(1 + Math.floor(rand() * 1e9)))
    const total = sum(m)
    const take = BigInt(Math.floor(rand() * Number(total)))
    const out = prorate(m, total, take)
    if (sum(out) !== take) t.fail(`sum ${sum(out)} != ${take}`)
    for (const [k, v] of out) if (v > (m.get(k) ?? 0n)) t.fail(`${k} got more than it had`)
  }
  t.pass('200 random splits sum exactly')
})
