/**
 * Tallies written behind the share records (src/ledger/tally-fold.ts): reads
 * see every committed share without waiting for the fold, a crash between
 * folds loses no tally and counts none twice, and a failed fold keeps its sums.
 */
import t from 'tap'
import { Level } from 'level'
import { type Ledger, SCHEMA_VERSION, scaleDifficulty } from '../../src/ledger/index.js'
import { PendingTallies } from '../../src/ledger/tally-fold.js'
import { MINUTE, T0, allShares, ledgerPath, openLedger, recordAll, share } from '../helpers/ledger-fixtures.js'
import { prng } from '../helpers/prng.js'

/** Every tally key and value of the database, as an object (to compare two ledgers). */
async function tallies(db: Ledger['database']): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for await (const [key, value] of db.iterator()) {
    if (/^(ta|tw|rd|ra)\//.test(key)) out[key] = value
  }
  return out
}

/** The untallied markers: key -> value. */
async function markers(db: Ledger['database']): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for await (const [key, value] of db.iterator({ gte: 'm/untallied/', lt: 'm/untallied0' })) out[key] = JSON.parse(value)
  return out
}

const load = [
  share({ time: T0 + 5, worker: 'a', difficulty: 2 }),
  share({ time: T0 + 7, worker: 'b', difficulty: 0.5 }),
  share({ time: T0 + MINUTE + 1, worker: 'a', difficulty: 3 }),
  share({ time: T0 + 2 * MINUTE, account: 'other', worker: 'c', difficulty: 1 }),
]

t.test('reads see committed shares before the fold is due', async (t) => {
  const ledger = await openLedger(t, { tallyFoldMs: 3_600_000 })
  await recordAll(ledger, load)
  const total = await ledger.acceptedDifficulty({ from: T0, to: T0 + 3 * MINUTE })
  t.equal(total.shares, 4)
  t.equal(total.scaled, scaleDifficulty(6.5))
  const round = await ledger.roundTotals(1)
  t.equal(round?.shares, 4)
  t.equal(round?.accounts.get('acct'), scaleDifficulty(5.5))
  t.same(await markers(ledger.database), {}, 'the read folded: no marker left')
})

t.test('a crash between folds: the open tallies exactly the shares the marker names', async (t) => {
  // The reference: the same shares, folded normally.
  const reference = await openLedger(t, { path: ledgerPath(t, 'reference') })
  await recordAll(reference, load)
  await recordAll(reference, [share({ time: T0 + 3, worker: 'late', difficulty: 4 }), share({ time: T0 + 4 * MINUTE, worker: 'a', block: true })])
  await reference.flush()
  const expected = await tallies(reference.database)

  const path = ledgerPath(t, 'crashed')
  const crashed = await openLedger(t, { path, tallyFoldMs: 3_600_000 })
  await recordAll(crashed, load)
  t.same(await markers(crashed.database), { 'm/untallied/000000000000': { from: T0 + 5, seq: 0 } })
  // A later group holding an earlier share moves the marker back; a block share starts round 2.
  await recordAll(crashed, [share({ time: T0 + 3, worker: 'late', difficulty: 4 }), share({ time: T0 + 4 * MINUTE, worker: 'a', block: true })])
  t.same(await markers(crashed.database), { 'm/untallied/000000000000': { from: T0 + 3, seq: 0 } })
  t.same(await tallies(crashed.database), {}, 'nothing folded yet')
  // The crash: the database goes away without the ledger's close (which would fold).
  await crashed.database.close()

  const lines: unknown[] = []
  const log = { child: () => log, warn: (o: unknown) => lines.push(o), info: () => undefined, error: () => undefined, debug: () => undefined } as never
  const reopened = await openLedger(t, { path, log })
  t.match(lines, [{ shares: 6 }], 'the open says how many shares it tallied')
  t.same(await tallies(reopened.database), expected, 'tallies equal those of the ledger that never crashed')
  t.same(await markers(reopened.database), {})
  t.equal(reopened.currentRound(), 2)
  await reopened.close()

  // A second open has nothing to do and changes nothing.
  const third = await openLedger(t, { path, log })
  t.equal(lines.length, 1)
  t.same(await tallies(third.database), expected)
})

t.test('after a fold, only the shares committed since are named by the marker', async (t) => {
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path, tallyFoldMs: 3_600_000 })
  await recordAll(ledger, load.slice(0, 2))
  await ledger.foldTallies()
  t.same(await markers(ledger.database), {})
  await recordAll(ledger, load.slice(2))
  t.same(await markers(ledger.database), { 'm/untallied/000000000002': { from: T0 + MINUTE + 1, seq: 2 } })
  await ledger.database.close()
  const reopened = await openLedger(t, { path })
  const total = await reopened.acceptedDifficulty({ from: T0, to: T0 + 3 * MINUTE })
  t.same({ shares: total.shares, scaled: total.scaled }, { shares: 4, scaled: scaleDifficulty(6.5) }, 'each share counted once')
})

t.test('the fold runs by itself after tallyFoldMs', async (t) => {
  const ledger = await openLedger(t, { tallyFoldMs: 20 })
  await recordAll(ledger, load)
  t.not(Object.keys(await markers(ledger.database)).length, 0)
  while (Object.keys(await markers(ledger.database)).length > 0) await new Promise((r) => setTimeout(r, 10))
  t.equal(Object.keys(await tallies(ledger.database)).length > 0, true, 'tallies written without a read')
})

t.test('a fold that fails gives its sums and markers to the next one', async (t) => {
  const pending = new PendingTallies()
  const first = pending.markerFor(T0 + 1, 0)
  t.same(first?.next, { from: T0 + 1, seq: 0 })
  pending.marker = first?.next
  t.equal(pending.markerFor(T0 + 5, 2), undefined, 'a later share needs no new marker')
  t.same(pending.markerFor(T0, 2)?.next, { from: T0, seq: 0 }, 'an earlier one moves the same marker back')
  pending.add(1, T0 + 1, 'acct', 'w', 10n)
  pending.add(1, T0 + 2, 'acct', 'w', 5n)
  const taken = pending.take()
  t.same(taken.markers, ['m/untallied/000000000000'])
  t.equal(pending.empty, true)
  // The next epoch starts its own marker.
  t.same(pending.markerFor(T0 + 3, 2)?.op, { type: 'put', key: 'm/untallied/000000000002', value: `{"from":${T0 + 3},"seq":2}` })
  pending.marker = { from: T0 + 3, seq: 2 }
  pending.add(1, T0 + 3, 'acct', 'w', 1n)
  pending.add(2, T0 + 4, 'acct', 'x', 7n)
  pending.restore(taken) // the fold of the first epoch failed
  const next = pending.take()
  t.same(next.markers, ['m/untallied/000000000000', 'm/untallied/000000000002'], 'the next fold deletes both markers')
  const sums = [...next.sums.values()].map(({ round, worker, n, d, f, l }) => ({ round, worker, n, d, f, l }))
  t.same(sums, [
    { round: 1, worker: 'w', n: 3, d: 16n, f: T0 + 1, l: T0 + 3 },
    { round: 2, worker: 'x', n: 1, d: 7n, f: T0 + 4, l: T0 + 4 },
  ])
})

t.test('folds running beside group commits: a crash at any point leaves tallies that agree with the records', async (t) => {
  const random = prng(0x5eed)
  for (let run = 0; run < 8; run++) {
    const shares = Array.from({ length: 300 }, (_, i) =>
      share({
        time: T0 + Math.floor(random() * 5 * MINUTE),
        worker: `w${Math.floor(random() * 7)}`,
        account: `a${Math.floor(random() * 3)}`,
        difficulty: 1 + Math.floor(random() * 1000) / 8,
        block: i % 97 === 96,
      }),
    )
    const reference = await openLedger(t, { path: ledgerPath(t, `reference-${run}`) })
    for (let i = 0; i < shares.length; i += 10) await recordAll(reference, shares.slice(i, i + 10))
    await reference.flush()
    const expected = await tallies(reference.database)

    const path = ledgerPath(t, `crashed-${run}`)
    const crashed = await openLedger(t, { path, tallyFoldMs: 3_600_000 })
    const folds: Promise<void>[] = []
    const crashAfter = 5 + Math.floor(random() * 25)
    for (let i = 0; i < shares.length; i += 10) {
      const group = recordAll(crashed, shares.slice(i, i + 10))
      if (random() < 0.5) folds.push(crashed.foldTallies().catch(() => undefined))
      await group
      if (i / 10 === crashAfter) break
    }
    // The crash: whatever folds are still writing meet a closed database.
    await crashed.database.close()
    await Promise.all(folds)
    const reopened = await openLedger(t, { path })
    const recorded = (await allShares(reopened)).length
    for (let i = recorded; i < shares.length; i += 10) await recordAll(reopened, shares.slice(i, Math.min(i + 10, shares.length)))
    await reopened.flush()
    t.same(await tallies(reopened.database), expected, `run ${run}: crash after group ${crashAfter}`)
    await reopened.close()
    await reference.close()
  }
})

t.test('a version 1 ledger is migrated to the current version', async (t) => {
  const path = ledgerPath(t)
  const db = new Level<string, string>(path)
  await db.batch([
    { type: 'put', key: 'm/version', value: '1' },
    { type: 'put', key: 'm/seq', value: '0' },
  ])
  await db.close()
  const ledger = await openLedger(t, { path })
  t.equal(await ledger.database.get('m/version'), String(SCHEMA_VERSION))
  t.equal(SCHEMA_VERSION, 3, 'through v2 (tally markers) and v3 (payout batch statuses)')
})

t.test('share records are the JSON of their fields, byte for byte', async (t) => {
  const { encodeShare } = await import('../../src/ledger/share-records.js')
  const fc = (await import('fast-check')).default
  const name = fc.stringMatching(/^[\x21-\x2e\x30-\x7e]{1,20}$/)
  fc.assert(
    fc.property(
      name,
      name,
      fc.double({ min: 2 ** -32, max: 2 ** 40, noNaN: true }),
      fc.string(),
      fc.option(fc.integer({ min: 0, max: 2 ** 31 }), { nil: undefined }),
      fc.boolean(),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.string(),
      fc.nat(),
      (account, worker, difficulty, jobId, height, block, session, source, round) => {
        const s = { time: T0, account, worker, difficulty, jobId, height, block, session, source }
        const expected = JSON.stringify({ a: account, w: worker, d: difficulty, j: jobId, h: height, b: block ? 1 : undefined, s: session, o: source, r: round })
        return encodeShare(s, round) === expected
      },
    ),
    { numRuns: 2000 },
  )
  t.pass('2,000 random shares encode as JSON.stringify would')
})

t.test('a fold that fails is counted and named until one succeeds, and loses nothing', async (t) => {
  const ledger = await openLedger(t, { tallyFoldMs: 3_600_000 })
  await recordAll(ledger, load)
  let failing = true
  const hook = (op: { key: string }): void => {
    if (failing && op.key.startsWith('tw/')) throw new Error('a tally write refused')
  }
  ledger.database.hooks.prewrite.add(hook)
  await t.rejects(ledger.foldTallies(), { code: 'HF_LEDGER_WRITE' })
  t.equal(ledger.stats.failedFolds, 1)
  t.match(ledger.stats.foldError, /a tally write refused/)
  await t.rejects(ledger.acceptedDifficulty({ from: T0, to: T0 + 3 * MINUTE }), { code: 'HF_LEDGER_WRITE' }, 'tally reads fail rather than miss shares')
  t.equal(await ledger.balance('acct'), 0n, 'other reads still work')
  await recordAll(ledger, [share({ time: T0 + 9, worker: 'a', difficulty: 1 })])
  failing = false
  await ledger.foldTallies()
  t.equal(ledger.stats.foldError, undefined, 'cleared by a fold that succeeds')
  const total = await ledger.acceptedDifficulty({ from: T0, to: T0 + 3 * MINUTE })
  t.same({ shares: total.shares, scaled: total.scaled }, { shares: 5, scaled: scaleDifficulty(7.5) }, 'the failed fold’s sums were kept')
  t.same(await markers(ledger.database), {}, 'and both epochs’ markers deleted')
})

t.test('reads coming while a fold waits share it', async (t) => {
  const ledger = await openLedger(t, { tallyFoldMs: 3_600_000 })
  await recordAll(ledger, load)
  const first = ledger.foldTallies()
  const second = ledger.foldTallies()
  t.equal(first, second, 'one fold for both callers')
  await first
  t.same(await markers(ledger.database), {})
})

t.test('PendingTallies.add sums per round, minute and worker however the shares interleave', async (t) => {
  // add() finds a worker's previous sum without building its id; a share of
  // another minute or round (shares of a group are not in time order, a block
  // ends a round between two of a worker's shares) must still get its own sum.
  const random = prng(0x7a11)
  const pending = new PendingTallies()
  const expected = new Map<string, { n: number; d: bigint; f: number; l: number }>()
  let round = 4
  for (let i = 0; i < 4000; i++) {
    if (random() < 0.01) round++
    const time = T0 + Math.floor(random() * 4 * MINUTE)
    const account = random() < 0.5 ? 'acct' : 'other'
    const worker = `w${Math.floor(random() * 6)}`
    const scaled = scaleDifficulty(1 + Math.floor(random() * 8))
    pending.add(round, time, account, worker, scaled)
    const id = `${round}/${Math.floor(time / MINUTE) * MINUTE}/${account}/${worker}`
    const e = expected.get(id)
    if (e === undefined) expected.set(id, { n: 1, d: scaled, f: time, l: time })
    else {
      e.n++
      e.d += scaled
      e.f = Math.min(e.f, time)
      e.l = Math.max(e.l, time)
    }
    if (i === 2000) {
      // A fold in between: what was added so far goes with it, the rest starts over.
      const first = pending.take()
      t.same(new Map([...first.sums].map(([id, s]) => [id, { n: s.n, d: s.d, f: s.f, l: s.l }])), expected)
      expected.clear()
    }
  }
  const epoch = pending.take()
  t.same(new Map([...epoch.sums].map(([id, s]) => [id, { n: s.n, d: s.d, f: s.f, l: s.l }])), expected)
  t.ok(expected.size > 50, `${expected.size} sums`)
})
