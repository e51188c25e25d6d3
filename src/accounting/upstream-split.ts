/**
 * Proxy mode: dividing the revenue an upstream pool paid (recorded by the
 * operator, `up/`) over the farm's workers and accounts.
 *
 * Each revenue record is split over its own period [from, to), by the
 * difficulty each worker had accepted UPSTREAM in that period (what the
 * upstream pool paid for), and, as a second column, by the difficulty the
 * pool accepted LOCALLY (what the miners did; the two differ by shares below
 * the upstream difficulty, upstream rejects and luck). Worker amounts come
 * from the largest remainder method (src/payouts/split.ts), so each split
 * sums to the record's amount exactly; an account's amount is the sum of
 * its workers'. A record belongs to the range its period STARTS in, so
 * ranges that tile time count every record once.
 *
 * A record whose period has no upstream-accepted difficulty (no upstream
 * tallies: revenue added without proxy mode) is split by local difficulty
 * in the first column too; with neither, it stays `unallocated`.
 */
import type { Ledger, UpstreamRevenue } from '../ledger/index.js'
import { compareAccounts, splitProportionally } from '../payouts/split.js'

/** One worker's (or account's) part of the revenue. */
export interface RevenueShare {
  readonly account: string
  /** Undefined for an account row. */
  readonly worker: string | undefined
  /** Scaled difficulty accepted upstream over the records' periods. */
  readonly upstreamScaled: bigint
  /** Scaled difficulty accepted locally over the records' periods. */
  readonly localScaled: bigint
  /** Satoshis by upstream-accepted difficulty. */
  readonly byUpstream: bigint
  /** Satoshis by locally accepted difficulty. */
  readonly byLocal: bigint
}

export interface UpstreamRevenueSplit {
  readonly from: number
  readonly to: number
  /** The records split: those whose period starts in [from, to). */
  readonly records: readonly UpstreamRevenue[]
  /** Their amounts added up. */
  readonly total: bigint
  /** Satoshis of records with no accepted difficulty at all in their period (per column). */
  readonly unallocatedByUpstream: bigint
  readonly unallocatedByLocal: bigint
  /** Per worker, sorted by account then worker. */
  readonly workers: readonly RevenueShare[]
  /** Per account (sums of its workers), sorted by account. */
  readonly accounts: readonly RevenueShare[]
  /** False when a record's period end is not on a minute boundary (upstream tallies are per minute). */
  readonly exact: boolean
}

interface Acc {
  account: string
  worker: string
  upstreamScaled: bigint
  localScaled: bigint
  byUpstream: bigint
  byLocal: bigint
}

const weights = (map: ReadonlyMap<string, bigint>): { account: string; units: bigint }[] => [...map].map(([account, units]) => ({ account, units }))

/** Splits the revenue of the records starting in [from, to); see the module comment. */
export async function splitUpstreamRevenue(ledger: Ledger, from: number, to: number): Promise<UpstreamRevenueSplit> {
  const records = (await ledger.upstreamRevenue({ from, to })).filter((r) => r.from >= from && r.from < to)
  const rows = new Map<string, Acc>()
  const row = (account: string, worker: string): Acc => {
    const name = `${account}/${worker}`
    let r = rows.get(name)
    if (r === undefined) {
      r = { account, worker, upstreamScaled: 0n, localScaled: 0n, byUpstream: 0n, byLocal: 0n }
      rows.set(name, r)
    }
    return r
  }
  let total = 0n
  let unallocatedByUpstream = 0n
  let unallocatedByLocal = 0n
  let exact = true
  for (const record of records) {
    total += record.amountSats
    const upstream = await ledger.upstreamTotals({ from: record.from, to: record.to })
    const local = await ledger.workers({ from: record.from, to: record.to })
    exact &&= upstream.exact && local.exact
    // Weights keyed "account/worker": names never contain '/'.
    const upWeights = new Map<string, bigint>()
    for (const w of upstream.workers) {
      if (w.counts.scaled === 0n) continue
      row(w.account, w.worker).upstreamScaled += w.counts.scaled
      upWeights.set(`${w.account}/${w.worker}`, w.counts.scaled)
    }
    const localWeights = new Map<string, bigint>()
    for (const w of local.workers) {
      if (w.scaled === 0n) continue
      row(w.account, w.worker).localScaled += w.scaled
      localWeights.set(`${w.account}/${w.worker}`, w.scaled)
    }
    const byLocal = localWeights.size > 0 ? splitProportionally(record.amountSats, weights(localWeights)) : undefined
    const byUpstream = upWeights.size > 0 ? splitProportionally(record.amountSats, weights(upWeights)) : byLocal
    if (byUpstream === undefined) unallocatedByUpstream += record.amountSats
    if (byLocal === undefined) unallocatedByLocal += record.amountSats
    for (const [name, sats] of byUpstream ?? []) (rows.get(name) as Acc).byUpstream += sats
    for (const [name, sats] of byLocal ?? []) (rows.get(name) as Acc).byLocal += sats
  }
  const workers = [...rows.values()]
    .sort((x, y) => (x.account === y.account ? compareAccounts(x.worker, y.worker) : compareAccounts(x.account, y.account)))
    .map((r) => ({ ...r }))
  const accounts = new Map<string, RevenueShare>()
  for (const w of workers) {
    const a = accounts.get(w.account)
    accounts.set(w.account, {
      account: w.account,
      worker: undefined,
      upstreamScaled: (a?.upstreamScaled ?? 0n) + w.upstreamScaled,
      localScaled: (a?.localScaled ?? 0n) + w.localScaled,
      byUpstream: (a?.byUpstream ?? 0n) + w.byUpstream,
      byLocal: (a?.byLocal ?? 0n) + w.byLocal,
    })
  }
  return { from, to, records, total, unallocatedByUpstream, unallocatedByLocal, workers, accounts: [...accounts.values()], exact }
}
