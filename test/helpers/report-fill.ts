/**
 * A deterministic ledger for the report tests: shares of three accounts
 * (one with a formula-looking name) over 2026-01-01, local rejects,
 * upstream answers, a matured PPLNS block credited, a block orphaned after
 * crediting (reversed, partly paid out), a young block, a payout and upstream
 * revenue. Every time comes from a seeded PRNG or a fixed clock, so the
 * reports over it are the same bytes every time (the golden files).
 */
import { creditBlocks } from '../../src/accounting/index.js'
import { Ledger } from '../../src/ledger/index.js'
import { HOUR, MINUTE, T0 } from './ledger-fixtures.js'
import { prng } from './prng.js'

export const FILL_FROM = '2026-01-01'
export const FILL_TO = '2026-01-02'

const hash = (n: number): string => `00000000000000000002${n.toString(16).padStart(44, '0')}`
export const FILL_BLOCKS = [hash(1), hash(2), hash(3)] as const

/** Fills a new ledger at `path` and closes it. */
export async function fillReportLedger(path: string): Promise<void> {
  let now = T0 + 20 * HOUR
  const ledger = await Ledger.open({ path, sync: false, retentionDays: 36500, groupCommitMs: 1, pruneIntervalMs: 0, clock: () => now })
  try {
    const random = prng(42)
    const workers = [
      ['alice', 's19-01'],
      ['alice', 's19-02'],
      ['bob', 'bitaxe'],
      ['=cmd', 'rig,"1"'],
    ] as const
    let height = 900_000
    for (let i = 0; i < 400; i++) {
      const [account, worker] = workers[Math.floor(random() * workers.length)] as readonly [string, string]
      const time = T0 + Math.floor(random() * 18 * HOUR)
      const difficulty = [512, 1024, 2048, 0.5][Math.floor(random() * 4)] as number
      const block = i === 150 || i === 300 || i === 390
      await ledger.record({ time: T0 + i * 2 * MINUTE + (time % 1000), account, worker, difficulty, jobId: `j${i}`, height: block ? ++height : height, block, session: 1, source: 'bitcoind' })
      if (random() < 0.1) ledger.recordReject({ time: T0 + i * 2 * MINUTE + 7, account, worker, reason: random() < 0.5 ? 'stale' : 'duplicate' })
      if (random() < 0.3) ledger.recordUpstream({ time: T0 + i * 2 * MINUTE + 9, account, worker, difficulty: 4096, accepted: random() < 0.8, reason: random() < 0.5 ? 'Stale share' : 'Low difficulty share', source: 'upstream:pool' })
    }
    await ledger.flush()
    // The three block shares' heights, oldest first.
    const found = [900_001, 900_002, 900_003]
    for (const [i, h] of found.entries()) {
      const finder = (await ledger.roundTotals(i + 1))?.closedBy
      await ledger.addBlock({
        hash: FILL_BLOCKS[i] as string,
        height: h,
        reward: 312_500_000n + BigInt(i) * 1_234_567n,
        account: finder?.account ?? 'alice',
        worker: finder?.worker ?? 'w',
        time: finder?.time ?? T0,
        status: i === 2 ? 'accepted' : 'confirmed',
        confirmations: i === 2 ? 12 : 100,
      })
    }
    const options = { scheme: 'pplns' as const, pplnsFactor: 2, feeBasisPoints: 200, treasury: 'treasury', networkDifficulty: () => 50_000 }
    now = T0 + 21 * HOUR
    await creditBlocks(ledger, options)
    now = T0 + 22 * HOUR
    await ledger.debit('bob', 100_000_000n, { ref: 'payout:batch-1', note: 'payout batch batch-1' })
    await ledger.updateBlock(FILL_BLOCKS[1], { status: 'orphaned' })
    now = T0 + 23 * HOUR
    await creditBlocks(ledger, options)
    await ledger.addUpstreamRevenue({ amountSats: 123_456_789n, from: T0, to: T0 + 12 * HOUR, note: 'pool payout, morning' })
    await ledger.addUpstreamRevenue({ amountSats: 1_000n, from: T0 + 12 * HOUR, to: T0 + 24 * HOUR })
  } finally {
    await ledger.close()
  }
}
