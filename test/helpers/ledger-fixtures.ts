/** Shared pieces of the ledger tests: a ledger in a tap test folder, share builders, a movable clock. */
import { join } from 'node:path'
import type { Test } from 'tap'
import { Ledger, type LedgerOptions, type LedgerShare, type StoredShare } from '../../src/ledger/index.js'

/** 2026-01-01T00:00:00Z: day, hour and minute aligned. */
export const T0 = Date.UTC(2026, 0, 1)
export const MINUTE = 60_000
export const HOUR = 3_600_000
export const DAY = 86_400_000

/** A clock tests move by hand. */
export function manualClock(start = T0): { now: () => number; set: (ms: number) => void; advance: (ms: number) => void } {
  let time = start
  return { now: () => time, set: (ms) => (time = ms), advance: (ms) => (time += ms) }
}

const testDirs = new WeakMap<Test, string>()

/** A ledger folder inside the test's directory (created once per test: `t.testdir` empties it). */
export function ledgerPath(t: Test, name = 'ledger'): string {
  let dir = testDirs.get(t)
  if (dir === undefined) {
    dir = t.testdir({})
    testDirs.set(t, dir)
  }
  return join(dir, name)
}

/** Opens a ledger closed at the end of the test (closing twice is harmless). */
export async function openLedger(t: Test, options: Partial<LedgerOptions> & { path?: string } = {}): Promise<Ledger> {
  const ledger = await Ledger.open({ path: options.path ?? ledgerPath(t), sync: false, retentionDays: 90, groupCommitMs: 0, pruneIntervalMs: 0, ...options })
  t.teardown(() => ledger.close().catch(() => undefined))
  return ledger
}

/** A share with defaults. */
export function share(over: Partial<LedgerShare> = {}): LedgerShare {
  return {
    time: T0,
    account: 'acct',
    worker: 'rig1',
    difficulty: 1,
    jobId: 'j1',
    height: 900_000,
    block: false,
    session: 1,
    source: 'bitcoind',
    ...over,
  }
}

/** Every stored share in [from, to). */
export async function allShares(ledger: Ledger, from = 0, to = 2 ** 48 - 1): Promise<StoredShare[]> {
  const out: StoredShare[] = []
  for await (const s of ledger.sharesBetween(from, to)) out.push(s)
  return out
}

/** Records `shares` concurrently and waits for all. */
export async function recordAll(ledger: Ledger, shares: readonly LedgerShare[]): Promise<void> {
  await Promise.all(shares.map((s) => ledger.record(s)))
}
