/**
 * How a time range [from, to) is read: whole days, hours and minutes from
 * the tally buckets (the coarsest that fit, so a month costs ~30 day
 * buckets, not 43,200 minute buckets), and the partial minutes at either end
 * from the share records themselves, which makes any range exact to the
 * millisecond while those records are kept.
 */
import { DAY, HOUR, MINUTE, type Resolution } from './keyspace.js'

/** A run of whole buckets of one resolution: bucket starts in [from, to). */
export interface BucketRun {
  readonly res: Resolution
  readonly from: number
  readonly to: number
}

export interface RangePlan {
  /** Partial minutes at the ends, read from share records: [from, to) each. */
  readonly edges: readonly (readonly [number, number])[]
  readonly runs: readonly BucketRun[]
}

const floorTo = (ms: number, size: number): number => ms - (ms % size)
export const ceilTo = (ms: number, size: number): number => (ms % size === 0 ? ms : ms - (ms % size) + size)

export function planRange(from: number, to: number): RangePlan {
  if (to <= from) return { edges: [], runs: [] }
  const a = ceilTo(from, MINUTE)
  const b = floorTo(to, MINUTE)
  if (a >= b) return { edges: [[from, to]], runs: [] }
  const edges: (readonly [number, number])[] = []
  if (from < a) edges.push([from, a])
  if (b < to) edges.push([b, to])
  return { edges, runs: wholeBuckets(a, b) }
}

/** [a, b), both on minute boundaries, as runs of the coarsest buckets that fit. */
function wholeBuckets(a: number, b: number): BucketRun[] {
  const hA = ceilTo(a, HOUR)
  const hB = floorTo(b, HOUR)
  let runs: BucketRun[]
  if (hA >= hB) {
    runs = [{ res: 'm', from: a, to: b }]
  } else {
    const dA = ceilTo(a, DAY)
    const dB = floorTo(b, DAY)
    runs =
      dA >= dB
        ? [
            { res: 'm', from: a, to: hA },
            { res: 'h', from: hA, to: hB },
            { res: 'm', from: hB, to: b },
          ]
        : [
            { res: 'm', from: a, to: hA },
            { res: 'h', from: hA, to: dA },
            { res: 'd', from: dA, to: dB },
            { res: 'h', from: dB, to: hB },
            { res: 'm', from: hB, to: b },
          ]
  }
  return runs.filter((r) => r.from < r.to)
}
