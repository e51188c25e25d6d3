/**
 * The PPLNS window: the last N difficulty units of shares before a time or
 * a block, split by account.
 *
 * Why tallies and not a reverse scan over share records: N is a multiple of
 * the network difficulty, so for a farm the window spans months or years of
 * shares (10 PH/s fills 2 × 1.4e14 units in about three years) and reaches
 * past the share-record retention. The window is therefore walked backwards
 * over the day/hour/minute tallies, which are kept forever: each bucket that
 * fits whole is taken whole, and the one bucket that would overflow is opened
 * into its finer buckets, down to the share records of one minute. A
 * cumulative-difficulty index would find the boundary by one seek, but the
 * per-account split would still need every share of the window, and it
 * would add a key per share kept forever.
 *
 * The window holds exactly N units (or all there are, if fewer): the oldest
 * share in it counts only for its part inside the window. When that share's
 * minute has been pruned, the boundary minute is split pro rata over the
 * accounts of its tally (largest remainder, so the units still add up to N)
 * and `exact` is false.
 *
 * All reads come from one LevelDB snapshot.
 */
import { type LedgerContext, type LedgerSnapshot, scan } from './context.js'
import { getBlock } from './blocks.js'
import { type ScaledDifficulty, scaleDifficulty } from './difficulty.js'
import { DAY, HOUR, MINUTE, type Resolution, RESOLUTION_MS, assertTime, keys, parseTallyKey } from './keyspace.js'
import { LedgerError } from './ledger-error.js'
import { roundClose } from './rounds.js'
import { shareRange } from './share-records.js'
import { decodeTally } from './tally.js'

/** `difficulty` units (N) before `before` (ms, exclusive), or up to and including the share of `block`. */
export type PplnsQuery = { readonly difficulty: number } & ({ readonly before: number } | { readonly block: string })

export interface PplnsWindow {
  /** N, scaled. */
  readonly requested: ScaledDifficulty
  /** What the window holds: N, or less when the ledger holds less. */
  readonly total: ScaledDifficulty
  /** Scaled difficulty per account; sums to `total`. */
  readonly accounts: ReadonlyMap<string, ScaledDifficulty>
  /** Time of the oldest share (or bucket) counted. */
  readonly start: number | undefined
  /** False when the boundary fell in pruned share records and was split pro rata. */
  readonly exact: boolean
}

interface Bucket {
  readonly start: number
  readonly total: bigint
  readonly accounts: Map<string, bigint>
}

const floorTo = (ms: number, size: number): number => ms - (ms % size)

export async function pplnsWindow(ctx: LedgerContext, query: PplnsQuery): Promise<PplnsWindow> {
  const requested = scaleDifficulty(query.difficulty)
  const snapshot = ctx.db.snapshot()
  try {
    const walker = new WindowWalker(ctx, snapshot, ctx.state.horizon, requested)
    await walker.walk(await windowEnd(ctx, query, snapshot))
    return { requested, total: requested - walker.remaining, accounts: walker.accounts, start: walker.start, exact: walker.exact }
  } finally {
    await snapshot.close()
  }
}

/** Where the window ends: a time of the minute holding the end, and the exclusive share key bound. */
async function windowEnd(ctx: LedgerContext, query: PplnsQuery, snapshot: LedgerSnapshot): Promise<{ time: number; key: string }> {
  if ('before' in query) {
    assertTime(query.before, 'before')
    return { time: query.before, key: keys.shareTime(query.before) }
  }
  const block = await getBlock(ctx, query.block, snapshot)
  if (block === undefined) throw new LedgerError('HF_LEDGER_INVALID', `no block ${query.block} in the ledger`, { path: ctx.path })
  const close = block.round === undefined ? undefined : await roundClose(ctx, block.round, snapshot)
  // The block's own share, and nothing recorded after it, ends the window.
  if (close !== undefined) return { time: close.time, key: keys.share(close.time, close.seq + 1) }
  // Not linked to its share (e.g. imported from before the ledger): every share up to its time.
  return { time: block.time + 1, key: keys.shareTime(block.time + 1) }
}

class WindowWalker {
  readonly accounts = new Map<string, bigint>()
  start: number | undefined
  exact = true

  constructor(
    private readonly ctx: LedgerContext,
    private readonly snapshot: LedgerSnapshot,
    private readonly horizon: number,
    public remaining: bigint,
  ) {}

  async walk(end: { time: number; key: string }): Promise<void> {
    const m0 = floorTo(end.time, MINUTE)
    // The partial minute at the end, from share records.
    const partialFrom = keys.shareTime(m0)
    if (partialFrom < end.key) {
      if (m0 >= this.horizon) {
        if (await this.takeShares(partialFrom, end.key)) return
      } else {
        this.exact = false
      }
    }
    // Then whole minutes back to the hour, hours back to the day, days back to the beginning.
    const h0 = floorTo(m0, HOUR)
    const d0 = floorTo(h0, DAY)
    if (await this.backward('m', h0, m0)) return
    if (await this.backward('h', d0, h0)) return
    await this.backward('d', 0, d0)
  }

  private take(account: string, units: bigint): void {
    this.accounts.set(account, (this.accounts.get(account) ?? 0n) + units)
    this.remaining -= units
  }

  /** Takes shares newest first from [gte, lt); true once the window is full. */
  private async takeShares(gte: string, lt: string): Promise<boolean> {
    for await (const share of shareRange(this.ctx, gte, lt, { reverse: true, snapshot: this.snapshot })) {
      const units = share.scaled < this.remaining ? share.scaled : this.remaining
      this.take(share.account, units)
      this.start = share.time
      if (this.remaining === 0n) return true
    }
    return false
  }

  /** Walks buckets of `res` with starts in [lo, hi), newest first; true once the window is full. */
  private async backward(res: Resolution, lo: number, hi: number): Promise<boolean> {
    if (lo >= hi || this.remaining === 0n) return this.remaining === 0n
    let overflow: Bucket | undefined
    for await (const bucket of this.buckets(res, lo, hi)) {
      if (bucket.total > this.remaining) {
        overflow = bucket
        break
      }
      for (const [account, units] of bucket.accounts) this.take(account, units)
      this.start = bucket.start
      if (this.remaining === 0n) return true
    }
    if (overflow === undefined) return false
    if (res === 'm') {
      await this.splitMinute(overflow)
      return true
    }
    const finer: Resolution = res === 'd' ? 'h' : 'm'
    if (!(await this.backward(finer, overflow.start, overflow.start + RESOLUTION_MS[res]))) {
      throw new LedgerError(
        'HF_LEDGER_CORRUPT',
        `ledger ${this.ctx.path}: the ${res} tally at ${new Date(overflow.start).toISOString()} is larger than its ${finer} tallies`,
        { path: this.ctx.path },
      )
    }
    return true
  }

  /** The minute the window starts in. */
  private async splitMinute(bucket: Bucket): Promise<void> {
    if (bucket.start >= this.horizon) {
      if (await this.takeShares(keys.shareTime(bucket.start), keys.shareTime(bucket.start + MINUTE))) return
      throw new LedgerError(
        'HF_LEDGER_CORRUPT',
        `ledger ${this.ctx.path}: the minute tally at ${new Date(bucket.start).toISOString()} is larger than its share records`,
        { path: this.ctx.path },
      )
    }
    this.exact = false
    for (const [account, units] of prorate(bucket.accounts, bucket.total, this.remaining)) this.take(account, units)
    this.start = bucket.start
  }

  /** Buckets of `res` in [lo, hi), newest first, each with its per-account tallies. */
  private async *buckets(res: Resolution, lo: number, hi: number): AsyncGenerator<Bucket> {
    let current: { start: number; total: bigint; accounts: Map<string, bigint> } | undefined
    const range = { gte: keys.accountTallyTime(res, lo), lt: keys.accountTallyTime(res, hi), reverse: true, snapshot: this.snapshot }
    for await (const [key, raw] of scan(this.ctx, range, 'reading difficulty tallies')) {
      const { start, account } = parseTallyKey(key)
      const units = decodeTally(key, raw).d
      if (current !== undefined && current.start !== start) {
        yield current
        current = undefined
      }
      current ??= { start, total: 0n, accounts: new Map() }
      current.total += units
      current.accounts.set(account, units)
    }
    if (current !== undefined) yield current
  }
}

/**
 * Splits `take` units over accounts in proportion to `units`, exactly:
 * floors first, then one unit each to the largest remainders (ties by name).
 */
export function prorate(units: ReadonlyMap<string, bigint>, total: bigint, take: bigint): Map<string, bigint> {
  const shares = [...units].map(([account, u]) => ({ account, q: (u * take) / total, r: (u * take) % total }))
  let left = take - shares.reduce((sum, s) => sum + s.q, 0n)
  shares.sort((a, b) => (a.r === b.r ? (a.account < b.account ? -1 : 1) : a.r > b.r ? -1 : 1))
  for (const s of shares) {
    if (left === 0n) break
    s.q++
    left--
  }
  return new Map(shares.filter((s) => s.q > 0n).map((s) => [s.account, s.q]))
}
