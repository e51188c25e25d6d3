/**
 * "How much difficulty did account A / worker W have accepted between T1
 * and T2", and the per-worker table of a period. Reads one LevelDB snapshot,
 * so a query running beside share commits sees one consistent state.
 */
import { type LedgerContext, type LedgerSnapshot, scan } from './context.js'
import { type ScaledDifficulty, unscaleDifficulty } from './difficulty.js'
import { MINUTE, assertTime, keys, parseTallyKey } from './keyspace.js'
import { ceilTo, planRange, type BucketRun } from './range-plan.js'
import { sharesBetween } from './share-records.js'
import { type Tally, addShare, decodeTally, mergeTallies } from './tally.js'

export interface DifficultyQuery {
  /** ms since the epoch, inclusive. */
  readonly from: number
  /** ms since the epoch, exclusive. */
  readonly to: number
  readonly account?: string
  /** Worker name (the part after the dot); with `account`, one machine. */
  readonly worker?: string
}

export interface DifficultyTotal {
  readonly shares: number
  /** For stats; money uses `scaled`. */
  readonly difficulty: number
  readonly scaled: ScaledDifficulty
  /**
   * False when a range end falls in a minute whose share records were
   * pruned: that partial minute was then counted by its bucket's start
   * (whole if the minute starts inside the range, not at all otherwise).
   */
  readonly exact: boolean
}

export interface WorkerTotal {
  readonly account: string
  readonly worker: string
  readonly shares: number
  readonly difficulty: number
  readonly scaled: ScaledDifficulty
  readonly firstShareAt: number
  readonly lastShareAt: number
}

interface Row {
  readonly account: string
  readonly worker: string | undefined
  readonly tally: Tally
}

/**
 * Every tally row of the range, per account (or per worker with `byWorker`),
 * edges from share records. Calls `emit` for each row; returns exactness.
 */
async function collect(
  ctx: LedgerContext,
  query: { from: number; to: number; account?: string | undefined; worker?: string | undefined },
  byWorker: boolean,
  emit: (row: Row) => void,
): Promise<boolean> {
  assertTime(query.from, 'from')
  assertTime(query.to, 'to')
  const plan = planRange(query.from, query.to)
  const match = (account: string, worker: string | undefined): boolean =>
    (query.account === undefined || account === query.account) && (query.worker === undefined || worker === query.worker)
  // Snapshot first, horizon second: the pruner raises the horizon before it
  // deletes, so records the horizon says are there are in the snapshot.
  const snapshot = ctx.db.snapshot()
  try {
    const horizon = ctx.state.horizon
    let exact = true
    const runs: BucketRun[] = [...plan.runs]
    for (const [lo, hi] of plan.edges) {
      if (lo < horizon) {
        exact = false
        const minute = ceilTo(lo, MINUTE)
        if (minute < hi) runs.push({ res: 'm', from: minute, to: minute + MINUTE })
        continue
      }
      for await (const share of sharesBetween(ctx, lo, hi, snapshot)) {
        if (match(share.account, share.worker)) {
          emit({ account: share.account, worker: byWorker ? share.worker : undefined, tally: addShare(undefined, share.scaled, share.time) })
        }
      }
    }
    const perWorker = byWorker || query.worker !== undefined
    for (const run of runs) {
      await scanRun(ctx, run, perWorker, snapshot, (row) => {
        if (match(row.account, row.worker)) emit(byWorker ? row : { ...row, worker: undefined })
      })
    }
    return exact
  } finally {
    await snapshot.close()
  }
}

async function scanRun(ctx: LedgerContext, run: BucketRun, perWorker: boolean, snapshot: LedgerSnapshot, emit: (row: Row) => void): Promise<void> {
  const bound = perWorker ? keys.workerTallyTime : keys.accountTallyTime
  for await (const [key, raw] of scan(ctx, { gte: bound(run.res, run.from), lt: bound(run.res, run.to), snapshot }, 'reading difficulty tallies')) {
    const { account, worker } = parseTallyKey(key)
    emit({ account, worker, tally: decodeTally(key, raw) })
  }
}

/** Accepted shares and difficulty in [from, to), of everyone or of one account / worker. */
export async function acceptedDifficulty(ctx: LedgerContext, query: DifficultyQuery): Promise<DifficultyTotal> {
  let total: Tally | undefined
  const exact = await collect(ctx, query, false, (row) => {
    total = mergeTallies(total, row.tally)
  })
  const scaled = total?.d ?? 0n
  return { shares: total?.n ?? 0, difficulty: unscaleDifficulty(scaled), scaled, exact }
}

/** Per worker: accepted shares, difficulty, first and last share time in [from, to); sorted by account, worker. */
export async function workerTotals(
  ctx: LedgerContext,
  query: { readonly from: number; readonly to: number; readonly account?: string },
): Promise<{ workers: WorkerTotal[]; exact: boolean }> {
  const byName = new Map<string, { account: string; worker: string; tally: Tally }>()
  const exact = await collect(ctx, query, true, (row) => {
    const worker = row.worker ?? ''
    const name = `${row.account}/${worker}`
    const seen = byName.get(name)
    byName.set(name, { account: row.account, worker, tally: mergeTallies(seen?.tally, row.tally) })
  })
  const workers = [...byName.values()]
    .sort((x, y) => (x.account === y.account ? cmp(x.worker, y.worker) : cmp(x.account, y.account)))
    .map(({ account, worker, tally }) => ({
      account,
      worker,
      shares: tally.n,
      difficulty: unscaleDifficulty(tally.d),
      scaled: tally.d,
      firstShareAt: tally.f,
      lastShareAt: tally.l,
    }))
  return { workers, exact }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
