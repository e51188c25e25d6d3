/**
 * PPS crediting: each share earns its expected value whether or not a block
 * is found, so PPS credits do not wait for blocks. Shares are credited per
 * period (`pps_period_minutes`, aligned to UTC midnight) once the period is
 * over, from the ledger's difficulty tallies (exact: periods are whole
 * minutes), by `creditPps` (src/payouts/pps.ts) with the fractions of a
 * satoshi carried from period to period.
 *
 * Exactly once, crash-safe: a period is first written as a record
 * (`pp/<start>`: the reward and network difficulty used, the units per
 * account, the credits, the fee and the carry), then posted under the ref
 * `pps:<start>`. A pass starts from the last record: if its posting is
 * missing (a crash between the two writes) it is posted from the record,
 * the same entries, so never twice and never recomputed with other inputs.
 *
 * Inputs: the share value is the current work's block subsidy (fees are not
 * known ahead, so PPS pays on the subsidy: in the pool's favour) over the
 * current network difficulty. Periods that ended while no work was known
 * wait and are credited with the first inputs known. The first pass starts
 * with the period in progress; shares before it (another scheme's) are not
 * PPS-credited, and while another scheme is configured `pausePps` keeps
 * moving that start forward, so turning PPS on again never pays shares a
 * block scheme pays. Block rewards go to the treasury (block-crediting.ts).
 */
import type { Ledger, PostingEntry } from '../ledger/index.js'
import type { Logger } from '../log.js'
import { creditPps, type PpsCarry } from '../payouts/pps.js'
import { difficultyUnits } from '../payouts/units.js'
import type { PayoutOptions } from './payout-options.js'

/** What a PPS share is worth now. */
export interface PpsInputs {
  /** Satoshis a block would pay (the subsidy). */
  readonly reward: bigint
  readonly networkDifficulty: number
}

export interface PpsCreditingOptions extends Pick<PayoutOptions, 'feeBasisPoints' | 'treasury' | 'ppsPeriodMs'> {
  readonly inputs: () => PpsInputs | undefined
  /** ms clock (ledger time). */
  readonly clock: () => number
  /** A period is credited this long after it ended, so its last group commits are in (default 10 s). */
  readonly settleMs?: number
  /** Most periods credited in one pass (default 1000). */
  readonly maxPeriods?: number
  readonly log?: Logger | undefined
}

/** A period record as stored (bigints as decimal strings). */
interface PeriodRecord {
  start: number
  end: number
  /** True for the record that only marks where PPS started. */
  origin?: boolean
  reward: string
  networkDifficulty: number
  feeBasisPoints: number
  units: Record<string, string>
  credits: Record<string, string>
  fee: string
  carry: { denominator: string; accounts: Record<string, string>; fee: string } | null
}

/** The idempotency ref of a PPS period's posting. */
export const ppsRef = (start: number): string => `pps:${new Date(start).toISOString()}`

const toRecord = (m: ReadonlyMap<string, bigint>): Record<string, string> => Object.fromEntries([...m].map(([k, v]) => [k, v.toString()]))
const toMap = (r: Record<string, string>): Map<string, bigint> => new Map(Object.entries(r).map(([k, v]) => [k, BigInt(v)]))

function entriesOf(record: PeriodRecord, treasury: string): PostingEntry[] {
  const entries: PostingEntry[] = [...toMap(record.credits)].map(([account, amount]) => ({ account, amount }))
  if (BigInt(record.fee) > 0n) entries.push({ account: treasury, amount: BigInt(record.fee) })
  return entries
}

function carryOf(record: PeriodRecord): PpsCarry | undefined {
  if (record.carry === null) return undefined
  return { denominator: BigInt(record.carry.denominator), accounts: toMap(record.carry.accounts), fee: BigInt(record.carry.fee) }
}

/**
 * Under another scheme: keeps PPS from crediting the shares of this time if
 * PPS is turned on again later (those shares are paid by blocks). Once PPS
 * has been used, moves a start marker to the end of the period in progress
 * (at most one write per period). Carried fractions are dropped then: less
 * than a satoshi per account.
 */
export async function pausePps(ledger: Ledger, options: Pick<PpsCreditingOptions, 'ppsPeriodMs' | 'feeBasisPoints' | 'clock'>): Promise<boolean> {
  const [last] = await ledger.ppsPeriods({ reverse: true, limit: 1 })
  if (last === undefined) return false
  const now = options.clock()
  const end = now - (now % options.ppsPeriodMs) + options.ppsPeriodMs
  const record = JSON.parse(last.json) as PeriodRecord
  if (record.end >= end) return false
  const marker: PeriodRecord = { start: end - options.ppsPeriodMs, end, origin: true, reward: '0', networkDifficulty: 0, feeBasisPoints: options.feeBasisPoints, units: {}, credits: {}, fee: '0', carry: null }
  await ledger.putPpsPeriod({ start: marker.start, json: JSON.stringify(marker) })
  return true
}

/** Credits every finished PPS period not credited yet; returns how many periods were credited. */
export async function creditPpsPeriods(ledger: Ledger, options: PpsCreditingOptions): Promise<number> {
  const period = options.ppsPeriodMs
  const now = options.clock()
  const settle = options.settleMs ?? 10_000
  const [last] = await ledger.ppsPeriods({ reverse: true, limit: 1 })
  let next: number
  let carry: PpsCarry | undefined
  if (last === undefined) {
    // Mark where PPS starts: the period in progress.
    const start = now - (now % period)
    const origin: PeriodRecord = { start: start - period, end: start, origin: true, reward: '0', networkDifficulty: 0, feeBasisPoints: options.feeBasisPoints, units: {}, credits: {}, fee: '0', carry: null }
    await ledger.putPpsPeriod({ start: origin.start, json: JSON.stringify(origin) })
    options.log?.info({ from: new Date(start).toISOString() }, 'PPS crediting starts')
    next = start
  } else {
    const record = JSON.parse(last.json) as PeriodRecord
    if (record.origin !== true && (await ledger.posting(ppsRef(record.start))) === undefined) {
      await ledger.post(entriesOf(record, options.treasury), { ref: ppsRef(record.start), note: `PPS ${new Date(record.start).toISOString()}` })
    }
    next = record.end
    carry = carryOf(record)
  }
  let credited = 0
  // Every share checked before a due period ended is written (or has failed
  // and was answered so) before the period is read: a slow disk can keep a
  // group commit longer than `settle`, and a period is never credited twice.
  if (next + period + settle <= now) await ledger.settleShares()
  while (next + period + settle <= now && credited < (options.maxPeriods ?? 1000)) {
    const inputs = options.inputs()
    if (inputs === undefined) {
      options.log?.warn('PPS periods wait: no work (network difficulty and subsidy) known yet')
      break
    }
    const end = next + period
    const { workers } = await ledger.workers({ from: next, to: end })
    const shares = workers.map((w) => ({ account: w.account, units: w.scaled }))
    const result = creditPps({ reward: inputs.reward, networkUnits: difficultyUnits(inputs.networkDifficulty), shares, feeBasisPoints: options.feeBasisPoints, carry })
    const units = new Map<string, bigint>()
    for (const s of shares) units.set(s.account, (units.get(s.account) ?? 0n) + s.units)
    const record: PeriodRecord = {
      start: next,
      end,
      reward: inputs.reward.toString(),
      networkDifficulty: inputs.networkDifficulty,
      feeBasisPoints: options.feeBasisPoints,
      units: toRecord(units),
      credits: toRecord(result.credits),
      fee: result.fee.toString(),
      carry: { denominator: result.carry.denominator.toString(), accounts: toRecord(result.carry.accounts), fee: result.carry.fee.toString() },
    }
    await ledger.putPpsPeriod({ start: next, json: JSON.stringify(record) })
    await ledger.post(entriesOf(record, options.treasury), { ref: ppsRef(next), note: `PPS ${new Date(next).toISOString()}` })
    carry = result.carry
    next = end
    credited++
  }
  return credited
}
