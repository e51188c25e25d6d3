/**
 * A tally: how many shares and how much (scaled) difficulty, and when the
 * first and last of them came. Minute/hour/day buckets per account and per
 * worker, rounds, and rounds per account are all tallies, stored as JSON
 * `{"n":shares,"d":"scaled difficulty","f":first ms,"l":last ms}`.
 */
import type { ScaledDifficulty } from './difficulty.js'
import { LedgerError } from './ledger-error.js'

export interface Tally {
  /** Shares counted. */
  readonly n: number
  /** Their difficulty, scaled (see difficulty.ts). */
  readonly d: ScaledDifficulty
  /** Time of the earliest share, ms. */
  readonly f: number
  /** Time of the latest share, ms. */
  readonly l: number
}

/** `tally` with one more share. */
export function addShare(tally: Tally | undefined, difficulty: ScaledDifficulty, time: number): Tally {
  if (tally === undefined) return { n: 1, d: difficulty, f: time, l: time }
  return { n: tally.n + 1, d: tally.d + difficulty, f: Math.min(tally.f, time), l: Math.max(tally.l, time) }
}

/** The sum of two tallies. */
export function mergeTallies(a: Tally | undefined, b: Tally): Tally {
  if (a === undefined) return b
  return { n: a.n + b.n, d: a.d + b.d, f: Math.min(a.f, b.f), l: Math.max(a.l, b.l) }
}

export function encodeTally(tally: Tally): string {
  return `{"n":${tally.n},"d":"${tally.d}","f":${tally.f},"l":${tally.l}}`
}

/** @throws LedgerError `HF_LEDGER_CORRUPT` naming the key when the value is not a tally. */
export function decodeTally(key: string, raw: string): Tally {
  try {
    const v = JSON.parse(raw) as { n: unknown; d: unknown; f: unknown; l: unknown }
    if (typeof v.n === 'number' && typeof v.d === 'string' && /^\d+$/.test(v.d) && typeof v.f === 'number' && typeof v.l === 'number') {
      return { n: v.n, d: BigInt(v.d), f: v.f, l: v.l }
    }
  } catch {
    // fall through to the error below
  }
  throw new LedgerError('HF_LEDGER_CORRUPT', `ledger record ${key} is not a tally: ${raw.slice(0, 100)}`)
}

/**
 * The last written value of recently touched tallies. Safe because the
 * ledger is the only writer (LevelDB's lock) and updates it only after a
 * batch is committed; a miss just reads the database. Cleared when it grows
 * past `limit`, which only costs reads.
 */
export class TallyCache {
  private readonly map = new Map<string, Tally>()

  constructor(private readonly limit = 50_000) {}

  get(key: string): Tally | undefined {
    return this.map.get(key)
  }

  has(key: string): boolean {
    return this.map.has(key)
  }

  /** Stores the committed values of one batch. */
  commit(values: ReadonlyMap<string, Tally>): void {
    if (this.map.size + values.size > this.limit) this.map.clear()
    for (const [key, value] of values) this.map.set(key, value)
  }
}
