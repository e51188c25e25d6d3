/**
 * Tallies written behind the share records ("folding").
 *
 * A group commit writes the share records only. What those shares add to
 * the tallies (minute, hour and day buckets per account and per worker, the
 * round, the round per account: 8 keys per worker) is summed in memory per
 * round, worker and minute, and written to the tally keys later, in one
 * batch per fold: at most every `tallyFoldMs` (1 s by default), and before
 * any read, flush or close, so every question the ledger answers still sees
 * every committed share. With hundreds of workers a group of a few hundred
 * shares used to touch ~8 tally keys per worker: most of the accept path's
 * cost (docs/benchmarks.md, history); a fold pays that once per second.
 *
 * Crash safety: the first group commit after a fold also writes
 * `m/untallied` = {"from": earliest share time, "seq": first share seq} of the
 * shares not folded yet (rewritten when a later group holds an earlier
 * time). The fold deletes it in the same batch as the tally puts. So after
 * a crash, `recoverTallies` on open finds the marker, reads the share
 * records from `from` on, folds those with seq >= `seq`, and the tallies
 * again agree with the share records, exactly: each share is counted once.
 */
import { type BatchOp, type LedgerContext, get, getMany, write } from './context.js'
import type { ScaledDifficulty } from './difficulty.js'
import { RESOLUTIONS, bucketStart, keys, prefixRange } from './keyspace.js'
import { LedgerError } from './ledger-error.js'
import { shareRange } from './share-records.js'
import { type Tally, decodeTally, encodeTally, mergeTallies } from './tally.js'

/** One worker's shares in one minute of one round, not folded yet. */
interface MinuteSum {
  readonly round: number
  readonly minute: number
  readonly account: string
  readonly worker: string
  n: number
  d: ScaledDifficulty
  f: number
  l: number
}

/** What the committed shares add to the tallies, until the next fold. */
export class PendingTallies {
  private sums = new Map<string, MinuteSum>()
  /** Earliest share time and first seq not folded, as written in `m/untallied`; undefined when all are folded. */
  marker: { from: number; seq: number } | undefined

  get empty(): boolean {
    return this.sums.size === 0
  }

  /** Adds one committed share. */
  add(round: number, time: number, account: string, worker: string, scaled: ScaledDifficulty): void {
    const minute = bucketStart(time, 'm')
    const id = `${round}/${minute}/${account}/${worker}`
    const sum = this.sums.get(id)
    if (sum === undefined) {
      this.sums.set(id, { round, minute, account, worker, n: 1, d: scaled, f: time, l: time })
      return
    }
    sum.n++
    sum.d += scaled
    if (time < sum.f) sum.f = time
    if (time > sum.l) sum.l = time
  }

  /** Takes every sum (they are put back with `restore` if the fold fails). */
  take(): Map<string, MinuteSum> {
    const taken = this.sums
    this.sums = new Map()
    return taken
  }

  /** Puts sums taken for a fold that failed back in front of what came since. */
  restore(taken: Map<string, MinuteSum>): void {
    for (const [id, sum] of this.sums) {
      const before = taken.get(id)
      if (before === undefined) taken.set(id, sum)
      else {
        before.n += sum.n
        before.d += sum.d
        if (sum.f < before.f) before.f = sum.f
        if (sum.l > before.l) before.l = sum.l
      }
    }
    this.sums = taken
  }
}

export const UNTALLIED_KEY = keys.meta('untallied')

export function encodeMarker(marker: { from: number; seq: number }): string {
  return `{"from":${marker.from},"seq":${marker.seq}}`
}

function decodeMarker(ctx: LedgerContext, raw: string): { from: number; seq: number } {
  try {
    const v = JSON.parse(raw) as { from?: unknown; seq?: unknown }
    if (Number.isSafeInteger(v.from) && Number.isSafeInteger(v.seq)) return { from: v.from as number, seq: v.seq as number }
  } catch {
    // reported below
  }
  throw new LedgerError('HF_LEDGER_CORRUPT', `ledger ${ctx.path}: ${UNTALLIED_KEY} holds ${raw.slice(0, 80)}, not {"from":ms,"seq":n}`, { path: ctx.path })
}

/**
 * The marker op a group commit adds, if any: the group's shares are the
 * first not folded, or one of them is earlier than the marker says. Call
 * `pending.marker = next` only after the group's write succeeded.
 */
export function markerFor(pending: PendingTallies, earliest: number, firstSeq: number): { op: BatchOp; next: { from: number; seq: number } } | undefined {
  const current = pending.marker
  if (current !== undefined && current.from <= earliest) return undefined
  const next = { from: Math.min(current?.from ?? earliest, earliest), seq: current?.seq ?? firstSeq }
  return { op: { type: 'put', key: UNTALLIED_KEY, value: encodeMarker(next) }, next }
}

/**
 * Writes the pending sums to the tally keys in one batch and clears the
 * marker. Run it under the write lock (`Ledger.foldTallies` does). On a
 * failed write nothing is lost: the sums go back to `pending`.
 */
export async function foldTallies(ctx: LedgerContext, pending: PendingTallies): Promise<void> {
  if (pending.empty && pending.marker === undefined) return
  const sums = pending.take()
  try {
    const deltas = new Map<string, Tally>()
    const count = (key: string, tally: Tally): void => {
      deltas.set(key, mergeTallies(deltas.get(key), tally))
    }
    for (const { round, minute, account, worker, n, d, f, l } of sums.values()) {
      const tally: Tally = { n, d, f, l }
      for (const res of RESOLUTIONS) {
        const start = res === 'm' ? minute : bucketStart(minute, res)
        count(keys.accountTally(res, start, account), tally)
        count(keys.workerTally(res, start, account, worker), tally)
      }
      count(keys.round(round), tally)
      count(keys.roundAccount(round, account), tally)
    }
    // Current values of the tallies not in the cache (a new bucket, or after a restart).
    const missing = [...deltas.keys()].filter((key) => !ctx.tallies.has(key))
    const stored = await getMany(ctx, missing)
    const loaded = new Map<string, Tally>()
    missing.forEach((key, i) => {
      const raw = stored[i]
      if (raw !== undefined) loaded.set(key, decodeTally(key, raw))
    })
    const ops: BatchOp[] = []
    const committed = new Map<string, Tally>()
    for (const [key, delta] of deltas) {
      const next = mergeTallies(ctx.tallies.get(key) ?? loaded.get(key), delta)
      committed.set(key, next)
      ops.push({ type: 'put', key, value: encodeTally(next) })
    }
    ops.push({ type: 'del', key: UNTALLIED_KEY })
    await write(ctx, ops, `${deltas.size} tallies`, ctx.sync)
    ctx.tallies.commit(committed)
    pending.marker = undefined
  } catch (err) {
    pending.restore(sums)
    throw err
  }
}

/**
 * On open: folds the shares a crash left out of the tallies (see the top of
 * this file). Returns how many shares were folded.
 */
export async function recoverTallies(ctx: LedgerContext, pending: PendingTallies): Promise<number> {
  const raw = await get(ctx, UNTALLIED_KEY)
  if (raw === undefined) return 0
  const marker = decodeMarker(ctx, raw)
  let folded = 0
  for await (const share of shareRange(ctx, keys.shareTime(marker.from), prefixRange(keys.sharesAll).lt)) {
    if (share.seq < marker.seq) continue
    pending.add(share.round, share.time, share.account, share.worker, share.scaled)
    folded++
  }
  pending.marker = marker
  await foldTallies(ctx, pending)
  return folded
}
