/** Round trips of every record type the ledger keeps. */
import t from 'tap'
import { join } from 'node:path'
import { FoundBlockStore } from '../../src/jobs/found-blocks.js'
import { DIFFICULTY_SCALE, Ledger, LedgerError, scaleDifficulty, unscaleDifficulty } from '../../src/ledger/index.js'
import type { ShareRecord, ShareSink } from '../../src/server/index.js'
import { T0, allShares, ledgerPath, manualClock, openLedger, recordAll, share } from '../helpers/ledger-fixtures.js'

const HASH_A = 'a'.repeat(64)
const HASH_B = 'b'.repeat(64)

t.test('the ledger is a ShareSink and shares round-trip through a reopen', async (t) => {
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path })
  const sink: ShareSink = ledger
  const record: ShareRecord = {
    time: T0 + 1234,
    account: 'bc1qfarm',
    worker: 's19-042.left',
    difficulty: 65536.25,
    jobId: '1f',
    height: 901_234,
    block: false,
    session: 77,
    source: 'node-a',
  }
  await sink.record(record)
  await ledger.record({ ...record, time: T0 + 1234, jobId: '20', height: undefined, difficulty: 0.1 })
  await ledger.close()

  const again = await openLedger(t, { path })
  const shares = await allShares(again)
  t.equal(shares.length, 2)
  const [a, b] = shares
  t.match(a, { ...record, seq: 0, round: 1, scaled: 65536n * DIFFICULTY_SCALE + DIFFICULTY_SCALE / 4n })
  t.match(b, { jobId: '20', height: undefined, difficulty: 0.1, seq: 1 })
  t.equal(b?.difficulty, 0.1, 'the float difficulty is kept as given')
  t.equal(b?.scaled, 429496730n, 'and summed as round(d x 2^32)')
  t.same(await allShares(again, T0 + 1235, T0 + 5000), [], 'to is exclusive')
  t.equal((await allShares(again, T0 + 1234, T0 + 1235)).length, 2, 'from is inclusive')
})

t.test('difficulty scaling', async (t) => {
  t.equal(scaleDifficulty(1), DIFFICULTY_SCALE)
  t.equal(scaleDifficulty(2 ** 60), 2n ** 92n, 'large difficulties are exact')
  t.equal(unscaleDifficulty(scaleDifficulty(1234.5)), 1234.5)
  for (const bad of [0, -1, Number.NaN, Infinity, 2 ** -40]) t.throws(() => scaleDifficulty(bad), { code: 'HF_LEDGER_INVALID' }, String(bad))
})

t.test('malformed shares are refused alone, before they are queued', async (t) => {
  const ledger = await openLedger(t)
  const bad = [
    share({ difficulty: 0 }),
    share({ difficulty: Number.NaN }),
    share({ account: 'a/b' }),
    share({ worker: 'has space' }),
    share({ account: '' }),
    share({ time: -1 }),
    share({ time: 1.5 }),
    share({ height: -3 }),
    share({ jobId: 5 as unknown as string }),
  ]
  const good = ledger.record(share({ jobId: 'good' }))
  for (const s of bad) await t.rejects(ledger.record(s), { code: 'HF_LEDGER_INVALID' }, JSON.stringify(s))
  await good
  t.same((await allShares(ledger)).map((s) => s.jobId), ['good'])
})

t.test('blocks: add, update, link to the round their share closed, import found-block records', async (t) => {
  const clock = manualClock(T0 + 10_000)
  const ledger = await openLedger(t, { clock: clock.now })
  await recordAll(ledger, [share({ time: T0, difficulty: 3 }), share({ time: T0 + 1, account: 'other', difficulty: 1 })])
  // The block share closes round 1; the block record arrives afterwards.
  await ledger.record(share({ time: T0 + 2, block: true, height: 900_001, worker: 'rig7', difficulty: 2 }))
  t.equal(ledger.currentRound(), 2)
  const added = await ledger.addBlock({
    hash: HASH_A,
    height: 900_001,
    reward: 312_500_000n,
    account: 'acct',
    worker: 'rig7',
    time: T0 + 2,
    status: 'submitting',
    source: 'bitcoind',
  })
  t.match(added, { hash: HASH_A, round: 1, reward: 312_500_000n, status: 'submitting', confirmations: 0, updatedAt: T0 + 10_000 })
  clock.advance(1000)
  const accepted = await ledger.updateBlock(HASH_A, { status: 'accepted', confirmations: 1 })
  t.match(accepted, { status: 'accepted', confirmations: 1, round: 1, updatedAt: T0 + 11_000 })
  t.same(await ledger.block(HASH_A), accepted)
  const round1 = await ledger.roundTotals(1)
  t.match(round1, { round: 1, closed: true, shares: 3, difficulty: 6n * DIFFICULTY_SCALE, firstShareAt: T0, lastShareAt: T0 + 2 })
  t.same(round1?.accounts, new Map([['acct', 5n * DIFFICULTY_SCALE], ['other', DIFFICULTY_SCALE]]))
  t.match(round1?.closedBy, { round: 1, seq: 2, time: T0 + 2, account: 'acct', worker: 'rig7', height: 900_001, block: HASH_A })

  // The other order: the block record first (found-blocks writes before submitblock), then its share.
  await ledger.addBlock({ hash: HASH_B, height: 900_002, reward: '312500000', account: 'acct', worker: 'rig1', time: T0 + 5, status: 'submitting' })
  await ledger.record(share({ time: T0 + 5, block: true, height: 900_002 }))
  t.equal((await ledger.block(HASH_B))?.round, 2)
  t.equal((await ledger.roundTotals(2))?.closedBy?.block, HASH_B)
  t.match(await ledger.roundTotals(3), { round: 3, closed: false, shares: 0, difficulty: 0n })
  t.equal(await ledger.roundTotals(4), undefined, 'not started')
  t.equal(await ledger.roundTotals(0), undefined)

  t.same((await ledger.blocks()).map((b) => b.hash), [HASH_B, HASH_A], 'highest first')
  t.same((await ledger.blocks({ status: 'accepted' })).map((b) => b.hash), [HASH_A])
  await t.rejects(ledger.updateBlock('c'.repeat(64), { status: 'accepted' }), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.addBlock({ ...added, height: 5, reward: 1n }), { code: 'HF_LEDGER_CONFLICT' })
  await t.rejects(ledger.addBlock({ ...added, hash: 'XYZ' }), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.addBlock({ ...added, status: 'lost' as 'accepted' }), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.updateBlock(HASH_A, { confirmations: -1 }), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.updateBlock(HASH_A, { reward: '-5' }), { code: 'HF_LEDGER_INVALID' })
})

t.test('found-block records import idempotently, newer status wins', async (t) => {
  const store = await FoundBlockStore.open(join(t.testdir({}), 'found-blocks.jsonl'))
  t.teardown(() => store.close())
  const base = { height: 900_010, hex: '00', account: 'acct', worker: 'rig1', source: 'bitcoind', reward: '312512345' }
  await store.add({ ...base, hash: HASH_A, foundAt: T0 }, T0)
  await store.add({ ...base, hash: HASH_B, foundAt: T0 + 60_000, height: 900_011 }, T0 + 60_000)
  await store.update(HASH_A, { status: 'accepted', confirmations: 3 }, T0 + 120_000)

  const ledger = await openLedger(t)
  t.equal(await ledger.importFoundBlocks(store.list()), 2)
  t.equal(await ledger.importFoundBlocks(store.list()), 0, 'nothing new the second time')
  t.match(await ledger.block(HASH_A), { status: 'accepted', confirmations: 3, reward: 312_512_345n, time: T0, updatedAt: T0 + 120_000, source: 'bitcoind' })
  await store.update(HASH_B, { status: 'rejected', result: 'high-hash' }, T0 + 180_000)
  t.equal(await ledger.importFoundBlocks(store.list()), 1)
  t.match(await ledger.block(HASH_B), { status: 'rejected', updatedAt: T0 + 180_000 })
  t.equal(await ledger.block('d'.repeat(64)), undefined)
})

t.test('balances and journal round-trip', async (t) => {
  const clock = manualClock(T0)
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path, clock: clock.now })
  const c = await ledger.credit('alice', 150_000n, { note: 'block 900001' })
  t.match(c, { seq: 0, time: T0, account: 'alice', amount: 150_000n, balance: 150_000n, note: 'block 900001', ref: undefined })
  clock.advance(5)
  const d = await ledger.debit('alice', 50_000n, { ref: 'payout:1' })
  t.match(d, { seq: 1, time: T0 + 5, amount: -50_000n, balance: 100_000n, ref: 'payout:1' })
  await ledger.post([
    { account: 'bob', amount: 7n },
    { account: 'treasury', amount: 3n },
  ])
  await ledger.close()

  const again = await openLedger(t, { path })
  t.equal(await again.balance('alice'), 100_000n)
  t.equal(await again.balance('nobody'), 0n)
  t.same(await again.balances(), new Map([['alice', 100_000n], ['bob', 7n], ['treasury', 3n]]))
  const all = []
  for await (const e of again.journal()) all.push([e.seq, e.account, e.amount, e.balance])
  t.same(all, [
    [0, 'alice', 150_000n, 150_000n],
    [1, 'alice', -50_000n, 100_000n],
    [2, 'bob', 7n, 7n],
    [3, 'treasury', 3n, 3n],
  ])
  const alice = []
  for await (const e of again.journal({ account: 'alice' })) alice.push(e.seq)
  t.same(alice, [0, 1])
  // Shares take sequence numbers from the same counter, after the journal's.
  await again.record(share())
  t.equal((await allShares(again))[0]?.seq, 4)
})

t.test('upstream revenue round-trips and is found by overlapping period', async (t) => {
  const clock = manualClock(T0 + 999)
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path, clock: clock.now })
  const day = 86_400_000
  const r1 = await ledger.addUpstreamRevenue({ amountSats: 12_345_678n, from: T0, to: T0 + day, note: 'pool X, Jan 1' })
  t.match(r1, { id: 0, amountSats: 12_345_678n, from: T0, to: T0 + day, note: 'pool X, Jan 1', recordedAt: T0 + 999 })
  await ledger.addUpstreamRevenue({ amountSats: 1n, from: T0 + day, to: T0 + 2 * day })
  await t.rejects(ledger.addUpstreamRevenue({ amountSats: 0n, from: T0, to: T0 + 1 }), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.addUpstreamRevenue({ amountSats: 5n, from: T0, to: T0 }), { code: 'HF_LEDGER_INVALID' })
  await ledger.close()
  const again = await openLedger(t, { path })
  t.same((await again.upstreamRevenue()).map((r) => r.amountSats), [12_345_678n, 1n])
  t.same((await again.upstreamRevenue({ from: T0 + day, to: T0 + 3 * day })).map((r) => r.id), [1], 'the first period ends where the query starts')
  t.same((await again.upstreamRevenue({ from: T0 + 5, to: T0 + 6 })).map((r) => r.id), [0])
  t.same(await again.upstreamRevenue({ from: T0 + 3 * day }), [])
})

t.test('every operation after close is refused with HF_LEDGER_CLOSED', async (t) => {
  const ledger = await openLedger(t)
  await ledger.close()
  await ledger.close()
  const closed = { code: 'HF_LEDGER_CLOSED' }
  await t.rejects(ledger.record(share()), closed)
  await t.rejects(ledger.credit('a', 1n), closed)
  await t.rejects(ledger.balance('a'), closed)
  await t.rejects(ledger.prune(), closed)
  await t.rejects(ledger.acceptedDifficulty({ from: 0, to: 1 }), closed)
  const iterate = async (): Promise<void> => {
    for await (const s of ledger.sharesBetween(0, 1)) t.fail(String(s.seq))
  }
  await t.rejects(iterate(), closed)
  t.ok(new LedgerError('HF_LEDGER_READ', 'x', { path: '/p' }).path === '/p')
  await t.rejects(Ledger.open({ path: ledgerPath(t, 'x'), sync: false, retentionDays: 0 }), { code: 'HF_LEDGER_INVALID' })
})
