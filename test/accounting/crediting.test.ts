/**
 * Maturity crediting, orphan reversal and PPS periods against a real
 * LevelDB ledger: exactly once across passes and restarts, sums exact.
 */
import t from 'tap'
import fc from 'fast-check'
import { rm } from 'node:fs/promises'
import {
  Accounting,
  blockCreditRef,
  blockReversalRef,
  blockSubsidy,
  creditBlocks,
  creditPpsPeriods,
  isMature,
  networkDifficultyFromBits,
  networkDifficultyFromBlockHex,
  payoutOptions,
  ppsRef,
  type BlockCreditingOptions,
} from '../../src/accounting/index.js'
import { parseConfigToml } from '../../src/config/index.js'
import type { Ledger, LedgerShare } from '../../src/ledger/index.js'
import { createLogger } from '../../src/log.js'
import { creditPps, difficultyUnits, poolFee } from '../../src/payouts/index.js'
import { T0, MINUTE, ledgerPath, manualClock, openLedger, recordAll, share } from '../helpers/ledger-fixtures.js'

const hash = (n: number): string => n.toString(16).padStart(64, '0')
const REWARD = 312_500_000n
const log = createLogger({ level: 'silent' })

const base = (over: Partial<BlockCreditingOptions> = {}): BlockCreditingOptions => ({
  scheme: 'pplns',
  pplnsFactor: 2,
  feeBasisPoints: 200,
  treasury: 'treasury',
  networkDifficulty: () => 10,
  log,
  ...over,
})

/** Shares of a, b, c then a block share by a.rig1 at height 800000. */
async function fill(ledger: Ledger, blockHeight = 800_000, start = T0, blockHash = hash(1)): Promise<string> {
  const shares: LedgerShare[] = []
  const who = ['a', 'b', 'c', 'b', 'c', 'c']
  for (let i = 0; i < 12; i++) shares.push(share({ time: start + i * 1000, account: who[i % who.length] as string, worker: 'rig1', difficulty: 1 + (i % 3) }))
  shares.push(share({ time: start + 13_000, account: 'a', worker: 'rig1', difficulty: 2, block: true, height: blockHeight }))
  for (const s of shares) await ledger.record(s)
  await ledger.addBlock({ hash: blockHash, height: blockHeight, reward: REWARD, account: 'a', worker: 'rig1', time: start + 13_000, status: 'accepted', confirmations: 1 })
  return blockHash
}

async function balancesOf(ledger: Ledger): Promise<Record<string, string>> {
  return Object.fromEntries([...(await ledger.balances())].map(([a, v]) => [a, v.toString()]))
}

const total = (m: Map<string, bigint>): bigint => [...m.values()].reduce((s, v) => s + v, 0n)

t.test('maturity: nothing before 100 confirmations, PPLNS split once at 100, idempotent across passes and a restart', async (t) => {
  const path = ledgerPath(t)
  let ledger = await openLedger(t, { path })
  const h = await fill(ledger)
  t.same(await creditBlocks(ledger, base()), { credited: [], reversed: [], waiting: [] }, 'one confirmation: nothing')
  await ledger.updateBlock(h, { confirmations: 99 })
  t.same((await creditBlocks(ledger, base())).credited, [])
  t.same(await ledger.balances(), new Map())
  await ledger.updateBlock(h, { confirmations: 100 })
  t.same((await creditBlocks(ledger, base())).credited, [h])

  const balances = await ledger.balances()
  t.equal(total(balances), REWARD, 'credits + fee = reward exactly')
  t.equal(balances.get('treasury'), poolFee(REWARD, 200))
  // The window is 20 difficulty units (2 × 10) ending with the block share:
  // block a:2, then c:3 b:2 c:1 c:3 b:2 a:1 c:3 b:2 -> 20 exactly with the last share cut to 1 of 2... computed by the ledger:
  const window = await ledger.pplnsWindow({ block: h, difficulty: 20 })
  const miners = REWARD - poolFee(REWARD, 200)
  for (const [account, units] of window.accounts) {
    const exact = (miners * units) / window.total
    const got = balances.get(account) ?? 0n
    t.ok(got === exact || got === exact + 1n, `${account} gets its window share (${got} ~ ${exact})`)
  }
  const credit = await ledger.posting(blockCreditRef(h))
  t.match(credit?.[0]?.note, /matured: pplns/)

  t.same((await creditBlocks(ledger, base())).credited, [], 'a second pass credits nothing')
  const before = await balancesOf(ledger)
  await ledger.close()
  ledger = await openLedger(t, { path })
  t.same((await creditBlocks(ledger, base())).credited, [], 'nor a pass after a restart')
  t.same(await balancesOf(ledger), before)
  // A recomputation would now differ (other scheme), but the ref says done.
  t.same((await creditBlocks(ledger, base({ scheme: 'solo' }))).credited, [], 'keyed by block hash, not by the split')
})

t.test('a status of confirmed matures a block whatever its count; rejected and submitting never do', async (t) => {
  t.ok(isMature({ status: 'confirmed', confirmations: 0 }))
  t.ok(isMature({ status: 'accepted', confirmations: 100 }))
  t.notOk(isMature({ status: 'accepted', confirmations: 99 }))
  t.notOk(isMature({ status: 'rejected', confirmations: 500 }))
  t.notOk(isMature({ status: 'orphaned', confirmations: 500 }))
})

t.test('orphaned after crediting: reversed once, clamped to balances already paid out, noted in the journal', async (t) => {
  const ledger = await openLedger(t)
  const h = await fill(ledger)
  await ledger.updateBlock(h, { status: 'confirmed', confirmations: 100 })
  await creditBlocks(ledger, base())
  const credited = await ledger.balances()
  // 'b' was paid most of its balance meanwhile.
  const paid = (credited.get('b') as bigint) - 1000n
  await ledger.debit('b', paid, { ref: 'payout:test' })
  await ledger.updateBlock(h, { status: 'orphaned' })
  const pass = await creditBlocks(ledger, base())
  t.same(pass.reversed, [h])
  const after = await ledger.balances()
  for (const [account, v] of after) t.equal(v, 0n, `${account} back to 0 (never negative)`)
  const reversal = await ledger.posting(blockReversalRef(h))
  t.ok(reversal !== undefined)
  t.equal(reversal?.find((e) => e.account === 'b')?.amount, -1000n, 'b gives back what it still had')
  t.match(reversal?.[0]?.note, new RegExp(`not recovered: b ${paid}`))
  t.same((await creditBlocks(ledger, base())).reversed, [], 'a second pass reverses nothing')
})

t.test('an orphan whose accounts were all paid out is still marked reversed (empty posting under the ref)', async (t) => {
  const ledger = await openLedger(t)
  const h = await fill(ledger)
  await ledger.updateBlock(h, { status: 'confirmed' })
  await creditBlocks(ledger, base({ scheme: 'solo', feeBasisPoints: 0 }))
  await ledger.debit('a', REWARD, { ref: 'payout:all' })
  await ledger.updateBlock(h, { status: 'orphaned' })
  t.same((await creditBlocks(ledger, base())).reversed, [h])
  t.same(await ledger.posting(blockReversalRef(h)), [])
  await ledger.credit('a', 5n)
  t.same((await creditBlocks(ledger, base())).reversed, [], 'later credits are not taken')
  t.equal(await ledger.balance('a'), 5n)
})

t.test('an orphan never credited is left alone', async (t) => {
  const ledger = await openLedger(t)
  const h = await fill(ledger)
  await ledger.updateBlock(h, { status: 'orphaned' })
  t.same(await creditBlocks(ledger, base()), { credited: [], reversed: [], waiting: [] })
})

t.test('PROP: the round, plus earlier rounds closed by rejected blocks', async (t) => {
  const ledger = await openLedger(t)
  // Round 1: a and b, closed by a block bitcoind rejected.
  await recordAll(ledger, [share({ time: T0, account: 'a', difficulty: 3 }), share({ time: T0 + 1, account: 'b', difficulty: 1 })])
  await ledger.record(share({ time: T0 + 2, account: 'a', difficulty: 1, block: true, height: 10 }))
  await ledger.addBlock({ hash: hash(10), height: 10, reward: REWARD, account: 'a', worker: 'rig1', time: T0 + 2, status: 'rejected' })
  // Round 2: c, closed by a good block.
  await ledger.record(share({ time: T0 + 3, account: 'c', difficulty: 5 }))
  await ledger.record(share({ time: T0 + 4, account: 'c', difficulty: 1, block: true, height: 11 }))
  await ledger.addBlock({ hash: hash(11), height: 11, reward: 1000n, account: 'c', worker: 'rig1', time: T0 + 4, status: 'confirmed', confirmations: 100 })
  // Round 3: a later round, closed by an accepted block (not gathered by round 4).
  await ledger.record(share({ time: T0 + 5, account: 'b', difficulty: 2, block: true, height: 12 }))
  await ledger.addBlock({ hash: hash(12), height: 12, reward: 1000n, account: 'b', worker: 'rig1', time: T0 + 5, status: 'accepted', confirmations: 100 })

  const pass = await creditBlocks(ledger, base({ scheme: 'prop', feeBasisPoints: 0 }))
  t.same(pass.credited.sort(), [hash(11), hash(12)])
  // Block 11: rounds 1 + 2 = a 4, b 1, c 6 of 11 units over 1000 sats.
  const credit11 = await ledger.posting(blockCreditRef(hash(11)))
  t.same(Object.fromEntries((credit11 ?? []).map((e) => [e.account, e.amount])), { a: 364n, b: 91n, c: 545n })
  // Block 12: round 3 only.
  const credit12 = await ledger.posting(blockCreditRef(hash(12)))
  t.same(Object.fromEntries((credit12 ?? []).map((e) => [e.account, e.amount])), { b: 1000n })
})

t.test('SOLO, PPS and fallbacks', async (t) => {
  const ledger = await openLedger(t)
  const h = await fill(ledger)
  await ledger.updateBlock(h, { status: 'confirmed' })
  await creditBlocks(ledger, base({ scheme: 'solo' }))
  t.same(await balancesOf(ledger), { a: (REWARD - poolFee(REWARD, 200)).toString(), treasury: poolFee(REWARD, 200).toString() })

  const pps = await openLedger(t, { path: ledgerPath(t, 'pps') })
  const h2 = await fill(pps)
  await pps.updateBlock(h2, { status: 'confirmed' })
  await creditBlocks(pps, base({ scheme: 'pps' }))
  t.same(await balancesOf(pps), { treasury: REWARD.toString() }, 'PPS: miners were paid per share; the block goes to the treasury')

  // A block with no share in the ledger (found before it existed): the finder, with a warning.
  const bare = await openLedger(t, { path: ledgerPath(t, 'bare') })
  await bare.addBlock({ hash: hash(7), height: 7, reward: 1000n, account: 'z', worker: 'w', time: T0, status: 'confirmed' })
  for (const scheme of ['prop', 'pplns'] as const) {
    const r = await creditBlocks(bare, base({ scheme, feeBasisPoints: 1000 }))
    if (r.credited.length > 0) t.match((await bare.posting(blockCreditRef(hash(7))))?.[0]?.note, /solo \(/)
  }
  t.same(await balancesOf(bare), { treasury: '100', z: '900' })

  // PPLNS without a known network difficulty waits, and says why.
  const wait = await openLedger(t, { path: ledgerPath(t, 'wait') })
  const h3 = await fill(wait)
  await wait.updateBlock(h3, { status: 'confirmed' })
  const r = await creditBlocks(wait, base({ networkDifficulty: () => undefined }))
  t.same(r.waiting, [{ hash: h3, reason: 'the network difficulty of the block is unknown' }])
  t.same(await wait.balances(), new Map())
})

t.test('a failing block does not stop the others, and is retried', async (t) => {
  const ledger = await openLedger(t)
  const h = await fill(ledger)
  await ledger.updateBlock(h, { status: 'confirmed' })
  const r = await creditBlocks(ledger, base({ networkDifficulty: () => { throw new Error('boom') } }))
  t.same(r.waiting, [{ hash: h, reason: 'boom' }])
  t.same((await creditBlocks(ledger, base())).credited, [h])
})

t.test('property: for random share sets, schemes and fees, the credits plus the fee equal the reward exactly', async (t) => {
  const dir = t.testdir({})
  let run = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ account: fc.constantFrom('a', 'B', 'a1', 'zz', 'm-1'), difficulty: fc.double({ min: 1e-4, max: 1e6, noNaN: true }) }), { minLength: 1, maxLength: 40 }),
      fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.constantFrom('pplns', 'prop', 'solo', 'pps'),
      fc.double({ min: 1e-3, max: 1e7, noNaN: true }),
      async (shares, reward, bp, scheme, networkDifficulty) => {
        const path = `${dir}/l${run++}`
        const ledger = await openLedger(t, { path })
        try {
          for (const [i, s] of shares.entries()) await ledger.record(share({ time: T0 + i, account: s.account, difficulty: s.difficulty, block: i === shares.length - 1, height: 5 }))
          const last = shares[shares.length - 1] as { account: string }
          await ledger.addBlock({ hash: hash(5), height: 5, reward, account: last.account, worker: 'rig1', time: T0 + shares.length - 1, status: 'confirmed' })
          await creditBlocks(ledger, base({ scheme, feeBasisPoints: bp, networkDifficulty: () => networkDifficulty }))
          const balances = await ledger.balances()
          const fee = poolFee(reward, bp)
          if (total(balances) !== reward) return false
          if (scheme !== 'pps' && (balances.get('treasury') ?? 0n) !== fee) return false
          return [...balances.values()].every((v) => v >= 0n)
        } finally {
          await ledger.close()
          await rm(path, { recursive: true, force: true })
        }
      },
    ),
    { numRuns: 40, seed: 20261127 },
  )
  t.pass('40 random cases')
})

t.test('PPS periods: credited once each from the tallies, carries kept, a crash between record and posting repaired', async (t) => {
  const path = ledgerPath(t)
  const clock = manualClock(T0 + 30_000)
  let ledger = await openLedger(t, { path, clock: clock.now })
  const inputs = { reward: 312_500_000n, networkDifficulty: 1000 }
  const options = { feeBasisPoints: 200, treasury: 'treasury', ppsPeriodMs: 10 * MINUTE, inputs: () => inputs, clock: clock.now, log }
  t.equal(await creditPpsPeriods(ledger, options), 0, 'the first pass marks where PPS starts')
  // Shares in the first period (T0..T0+10min) and the second.
  await recordAll(ledger, [share({ time: T0 + 1000, account: 'a', difficulty: 1 }), share({ time: T0 + 2000, account: 'b', difficulty: 0.5 })])
  await recordAll(ledger, [share({ time: T0 + 11 * MINUTE, account: 'a', difficulty: 2 })])
  clock.set(T0 + 10 * MINUTE + 5000)
  t.equal(await creditPpsPeriods(ledger, options), 0, 'a period is credited only after it has settled')
  clock.set(T0 + 20 * MINUTE + 10_000)
  t.equal(await creditPpsPeriods(ledger, options), 2)
  const first = creditPps({ reward: inputs.reward, networkUnits: difficultyUnits(1000), shares: [{ account: 'a', units: difficultyUnits(1) }, { account: 'b', units: difficultyUnits(0.5) }], feeBasisPoints: 200 })
  const second = creditPps({ reward: inputs.reward, networkUnits: difficultyUnits(1000), shares: [{ account: 'a', units: difficultyUnits(2) }], feeBasisPoints: 200, carry: first.carry })
  t.equal(await ledger.balance('a'), (first.credits.get('a') ?? 0n) + (second.credits.get('a') ?? 0n))
  t.equal(await ledger.balance('b'), first.credits.get('b') ?? 0n)
  t.equal(await ledger.balance('treasury'), first.fee + second.fee)
  t.equal(await creditPpsPeriods(ledger, options), 0, 'nothing twice')

  // Crash between the period record and its posting: the next pass posts it from the record.
  await recordAll(ledger, [share({ time: T0 + 21 * MINUTE, account: 'b', difficulty: 4 })])
  clock.set(T0 + 30 * MINUTE + 10_000)
  const post = ledger.post.bind(ledger)
  ledger.post = () => Promise.reject(new Error('killed'))
  await t.rejects(creditPpsPeriods(ledger, options), /killed/)
  ledger.post = post
  t.equal(await ledger.posting(ppsRef(T0 + 20 * MINUTE)), undefined, 'record written, posting not')
  const bBefore = await ledger.balance('b')
  await ledger.close()
  ledger = await openLedger(t, { path, clock: clock.now })
  const changed = { ...options, inputs: () => ({ reward: 1n, networkDifficulty: 1 }) }
  t.equal(await creditPpsPeriods(ledger, changed), 0)
  const third = creditPps({ reward: inputs.reward, networkUnits: difficultyUnits(1000), shares: [{ account: 'b', units: difficultyUnits(4) }], feeBasisPoints: 200, carry: second.carry })
  t.equal(await ledger.balance('b'), bBefore + (third.credits.get('b') ?? 0n), 'posted with the inputs recorded, not new ones')
  t.equal((await ledger.ppsPeriods()).length, 4, 'origin + 3 periods')

  // No work known: periods wait.
  clock.set(T0 + 60 * MINUTE)
  t.equal(await creditPpsPeriods(ledger, { ...options, inputs: () => undefined }), 0)
})

t.test('PPS: a share still waiting in the group commit when its period is credited is written first and paid', async (t) => {
  const clock = manualClock(T0 + 30_000)
  // An hour's group delay: the share stays queued until something flushes it (a disk slower than the settle time).
  const ledger = await openLedger(t, { clock: clock.now, groupCommitMs: 3_600_000 })
  const inputs = { reward: 312_500_000n, networkDifficulty: 1000 }
  const options = { feeBasisPoints: 0, treasury: 'treasury', ppsPeriodMs: 10 * MINUTE, inputs: () => inputs, clock: clock.now, log }
  t.equal(await creditPpsPeriods(ledger, options), 0, 'the first pass marks where PPS starts')
  const recorded = ledger.record(share({ time: T0 + 1000, account: 'late', difficulty: 1 }))
  clock.set(T0 + 10 * MINUTE + 10_000)
  t.equal(await creditPpsPeriods(ledger, options), 1)
  await recorded
  const expected = creditPps({ reward: inputs.reward, networkUnits: difficultyUnits(1000), shares: [{ account: 'late', units: difficultyUnits(1) }], feeBasisPoints: 0 })
  t.ok((expected.credits.get('late') ?? 0n) > 0n)
  t.equal(await ledger.balance('late'), expected.credits.get('late'), 'the late share is in its period')
})

t.test('Accounting: one pass credits blocks and PPS periods; a failing pass is logged, not thrown', async (t) => {
  const clock = manualClock(T0)
  const ledger = await openLedger(t, { clock: clock.now })
  const h = await fill(ledger, 800_000, T0 + MINUTE)
  await ledger.updateBlock(h, { status: 'confirmed' })
  const config = parseConfigToml('[payouts]\nscheme = "pps"\nfee_percent = 1.5\npps_period_minutes = 1\n')
  const options = payoutOptions(config.payouts)
  t.same(options, { scheme: 'pps', pplnsFactor: 2, feeBasisPoints: 150, treasury: 'treasury', thresholdSats: 100_000n, ppsPeriodMs: MINUTE })
  const accounting = new Accounting(ledger, { ...options, networkDifficulty: () => 10, ppsInputs: () => ({ reward: 5_000_000_000n, networkDifficulty: 1e6 }), clock: clock.now, log })
  const first = await accounting.run()
  t.same(first?.credited, [h])
  t.equal(first?.ppsPeriods, 0)
  clock.set(T0 + 3 * MINUTE)
  const [a, b] = await Promise.all([accounting.run(), accounting.run()])
  t.equal((a?.ppsPeriods ?? 0) + (b?.ppsPeriods ?? 0), 2, 'passes do not overlap: the two finished periods once each')
  t.equal((await ledger.ppsPeriods()).length, 3)
  await ledger.close()
  t.equal(await accounting.run(), undefined)
})

t.test('chain values', async (t) => {
  t.equal(networkDifficultyFromBits(0x1d00ffff), 1)
  t.ok(Math.abs(networkDifficultyFromBits(0x207fffff) / 4.6565423739069247e-10 - 1) < 1e-9, "regtest nBits")
  t.equal(blockSubsidy(0), 5_000_000_000n)
  t.equal(blockSubsidy(840_000), 312_500_000n)
  t.equal(blockSubsidy(150, 150), 2_500_000_000n)
  t.equal(blockSubsidy(64 * 210_000), 0n)
  const header = '00000020' + '00'.repeat(32) + '11'.repeat(32) + '00000000' + 'ffff001d' + '00000000'
  t.equal(networkDifficultyFromBlockHex(header), 1)
  t.equal(networkDifficultyFromBlockHex('abc'), undefined)
  t.equal(networkDifficultyFromBlockHex(header.replace('ffff001d', '00000000')), undefined)
})

t.test('[payouts] config checks', async (t) => {
  t.throws(() => parseConfigToml('[payouts]\nfee_percent = 2.005\n'), /payouts\.fee_percent: expected at most 2 decimals/)
  t.throws(() => parseConfigToml('[payouts]\npps_period_minutes = 7\n'), /payouts\.pps_period_minutes: expected a divisor of 1440/)
  t.throws(() => parseConfigToml('[payouts]\ntreasury_account = "the house"\n'), /payouts\.treasury_account/)
  t.throws(() => parseConfigToml('[payouts]\nscheme = "fpps"\n'), /payouts\.scheme/)
  t.equal(payoutOptions(parseConfigToml('[payouts]\nfee_percent = 0.29\n').payouts).feeBasisPoints, 29)
})

t.test('switching from PPS to a block scheme and back: the shares of the other scheme are not PPS-credited', async (t) => {
  const clock = manualClock(T0 + 30_000)
  const ledger = await openLedger(t, { clock: clock.now })
  const inputs = () => ({ reward: 5_000_000_000n, networkDifficulty: 100 })
  const base = { scheme: 'pps' as const, pplnsFactor: 2, feeBasisPoints: 0, treasury: 'treasury', thresholdSats: 1n, ppsPeriodMs: MINUTE, networkDifficulty: () => 1, ppsInputs: inputs, clock: clock.now, log }
  const pps = new Accounting(ledger, base)
  const prop = new Accounting(ledger, { ...base, scheme: 'prop' })
  const newLedger = new Accounting(await openLedger(t, { path: ledgerPath(t, 'fresh'), clock: clock.now }), { ...base, scheme: 'prop' })
  t.same(await newLedger.run(), { credited: [], reversed: [], waiting: [], ppsPeriods: 0 }, 'a ledger that never used PPS gets no marker')
  await pps.run() // PPS starts with the minute in progress
  await ledger.record(share({ time: T0 + 40_000, account: 'a', difficulty: 1 }))
  clock.set(T0 + MINUTE + 20_000)
  t.equal((await pps.run())?.ppsPeriods, 1)
  const paid = await ledger.balance('a')
  t.ok(paid > 0n, 'PPS paid the first minute')
  // Two minutes under PROP, with shares.
  await prop.run()
  await ledger.record(share({ time: T0 + 2 * MINUTE + 1, account: 'a', difficulty: 1 }))
  clock.set(T0 + 2 * MINUTE + 30_000)
  await prop.run()
  await ledger.record(share({ time: T0 + 3 * MINUTE - 1, account: 'a', difficulty: 1 }))
  clock.set(T0 + 3 * MINUTE - 1)
  await prop.run()
  t.equal((await prop.run())?.ppsPeriods, 0)
  // Back to PPS: only shares from the marker on.
  await ledger.record(share({ time: T0 + 3 * MINUTE + 5, account: 'a', difficulty: 1 }))
  clock.set(T0 + 5 * MINUTE)
  t.equal((await pps.run())?.ppsPeriods, 1, 'minute 3 only')
  t.equal(await ledger.balance('a'), 2n * paid, 'one more share paid, not the three PROP-time ones')
})
