/**
 * Accepted difficulty of the whole pool bucket by bucket (minutes or
 * hours), for the dashboard's hashrate chart: one key-range read of the
 * account tallies, summed per bucket, so a chart is right after a reload
 * of the page or a restart of the pool.
 */
import { scan, type LedgerContext } from './context.js'
import { unscaleDifficulty } from './difficulty.js'
import { RESOLUTION_MS, assertTime, bucketStart, keys, parseTallyKey, type Resolution } from './keyspace.js'
import { decodeTally } from './tally.js'

/** One bucket of the series. */
export interface SeriesPoint {
  /** Bucket start, ms since the epoch. */
  readonly start: number
  readonly shares: number
  readonly difficulty: number
}

export interface SeriesQuery {
  /** ms; the series starts with the bucket holding `from`. */
  readonly from: number
  /** ms, exclusive; the series ends with the bucket holding `to - 1`. */
  readonly to: number
  /** Minutes (`m`) or hours (`h`). */
  readonly resolution: Extract<Resolution, 'm' | 'h'>
}

/** Most buckets one query returns (a day of minutes is 1440). */
export const MAX_SERIES_POINTS = 2000

/**
 * Every bucket from `from` to `to` in order, empty buckets included with
 * zeros. Throws a RangeError past MAX_SERIES_POINTS buckets.
 */
export async function difficultySeries(ctx: LedgerContext, query: SeriesQuery): Promise<SeriesPoint[]> {
  assertTime(query.from, 'from')
  assertTime(query.to, 'to')
  const size = RESOLUTION_MS[query.resolution]
  const first = bucketStart(query.from, query.resolution)
  const end = query.to <= query.from ? first : bucketStart(query.to - 1, query.resolution) + size
  const count = (end - first) / size
  if (count > MAX_SERIES_POINTS) throw new RangeError(`a series of ${count} buckets is longer than ${MAX_SERIES_POINTS}`)
  const sums = new Map<number, { shares: number; scaled: bigint }>()
  const range = { gte: keys.accountTallyTime(query.resolution, first), lt: keys.accountTallyTime(query.resolution, end) }
  for await (const [key, raw] of scan(ctx, range, 'reading the difficulty series')) {
    const { start } = parseTallyKey(key)
    const tally = decodeTally(key, raw)
    const sum = sums.get(start)
    sums.set(start, { shares: (sum?.shares ?? 0) + tally.n, scaled: (sum?.scaled ?? 0n) + tally.d })
  }
  const points: SeriesPoint[] = []
  for (let start = first; start < end; start += size) {
    const sum = sums.get(start)
    points.push({ start, shares: sum?.shares ?? 0, difficulty: sum === undefined ? 0 : unscaleDifficulty(sum.scaled) })
  }
  return points
}
