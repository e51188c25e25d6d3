/**
 * Tallies written behind the share records ("folding").
 *
 * A group commit writes the share records only. What those shares add to
 * the tallies (minute, hour and day buckets per account and per worker, the
 * round, the round per account: 8 keys per worker) is summed in memory per
 * round, worker and minute, and written to the tally keys later, in one
 * batch per fold: at most `tallyFoldMs` (1 s by default) after a group
 * commit, and before any read, flush or close, so every question the ledger
 * answers still sees every committed share. With hundreds of workers a group
 * of a few hundred shares used to touch ~8 tally keys per worker: most of
 * the accept path's cost (docs/benchmarks.md, history); a fold pays that
 * once per second.
 *
 * A fold does not hold up group commits: only group commits write share
 * records and only folds write tallies, so a fold takes the sums under the
 * write lock (an instant: no group is between its write and adding its
 * sums then) and does its reads and its write outside it. Folds run one at
 * a time, in order.
 *
 * Crash safety, by epochs: the sums between two folds form an epoch. The
 * first group commit of an epoch also writes the epoch's marker
 * `m/untallied/<first seq>` = {"from": earliest share time, "seq": first
 * seq} (rewritten when a later group of the epoch holds an earlier time);
 * the fold that writes the epoch's sums deletes the marker in the same
 * batch. A failed fold hands its sums and markers to the next fold, and
 * folds complete in epoch order, so the markers left after a crash are
 * exactly those of the epochs not folded, and every share with a seq at or
 * above the smallest marker seq belongs to one of them. `recoverTallies`, on
 * open, folds those shares (reading the records from the smallest `from`
 * on): the tallies again agree with the share records, each share counted
 * once.
 */
import { type BatchOp, type LedgerContext, getMany, scan, write } from './context.js'
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

/** An epoch's marker: the earliest share time and the first seq of its shares. */
export interface Marker {
  readonly from: number
  readonly seq: number
}

/** What one fold writes: the sums, and the markers its batch deletes. */
export interface Epoch {
  readonly sums: Map<string, MinuteSum>
  readonly markers: readonly string[]
}

/** What the committed shares add to the tallies, until the next fold. */
export class PendingTallies {
  private sums = new Map<string, MinuteSum>()
  /** The open epoch's marker as written; undefined until its first group commit. */
  marker: Marker | undefined
  /** Marker keys of earlier epochs whose fold failed: the next fold deletes them too. */
  private carried: string[] = []

  /** Nothing to fold. */
  get empty(): boolean {
    return this.sums.size === 0 && this.marker === undefined && this.carried.length === 0
  }

  /**
   * Per account and worker, the sum `add` last added to. A worker's next
   * share nearly always goes to the same round and minute: found by two Map
   * lookups on strings the session already holds, without building the id
   * string per share. Emptied with `sums` (take, restore).
   */
  private latest = new Map<string, Map<string, MinuteSum>>()

  /** Adds one committed share. */
  add(round: number, time: number, account: string, worker: string, scaled: ScaledDifficulty): void {
    const minute = bucketStart(time, 'm')
    let byWorker = this.latest.get(account)
    let sum = byWorker?.get(worker)
    if (sum === undefined || sum.round !== round || sum.minute !== minute) {
      const id = `${round}/${minute}/${account}/${worker}`
      sum = this.sums.get(id)
      if (sum === undefined) this.sums.set(id, (sum = { round, minute, account, worker, n: 0, d: 0n, f: time, l: time }))
      if (byWorker === undefined) this.latest.set(account, (byWorker = new Map<string, MinuteSum>()))
      byWorker.set(worker, sum)
    }
    sum.n++
    sum.d += scaled
    if (time < sum.f) sum.f = time
    if (time > sum.l) sum.l = time
  }

  /**
   * The marker op a group commit adds, if any: it is the epoch's first, or
   * one of its shares is earlier than the marker says. Set `marker = next`
   * only after the group's write succeeded.
   */
  markerFor(earliest: number, firstSeq: number): { op: BatchOp; next: Marker } | undefined {
    const current = this.marker
    if (current !== undefined && current.from <= earliest) return undefined
    const next = { from: Math.min(current?.from ?? earliest, earliest), seq: current?.seq ?? firstSeq }
    return { op: { type: 'put', key: keys.untallied(next.seq), value: encodeMarker(next) }, next }
  }

  /** Closes the open epoch: its sums and markers go to a fold; the next group commit starts a new epoch. */
  take(): Epoch {
    const markers = this.marker === undefined ? this.carried : [...this.carried, keys.untallied(this.marker.seq)]
    const epoch = { sums: this.sums, markers }
    this.sums = new Map()
    this.latest = new Map()
    this.marker = undefined
    this.carried = []
    return epoch
  }

  /** Gives a failed fold's sums and markers to the next fold. */
  restore(epoch: Epoch): void {
    const sums = epoch.sums
    for (const [id, sum] of this.sums) {
      const before = sums.get(id)
      // A rare path (a failed fold): the tally merge, not a copy of `add`'s in-place one.
      if (before === undefined) sums.set(id, sum)
      else Object.assign(before, mergeTallies(before, sum))
    }
    this.sums = sums
    this.latest = new Map() // its sums may have been merged into the restored ones
    this.carried = [...epoch.markers, ...this.carried]
  }

  /** Recovery: the markers found on open are deleted by the next fold. */
  carry(markerKeys: readonly string[]): void {
    this.carried.push(...markerKeys)
  }
}

export function encodeMarker(marker: Marker): string {
  return `{"from":${marker.from},"seq":${marker.seq}}`
}

function decodeMarker(ctx: LedgerContext, key: string, raw: string): Marker {
  try {
    const v = JSON.parse(raw) as { from?: unknown; seq?: unknown }
    if (Number.isSafeInteger(v.from) && Number.isSafeInteger(v.seq)) return { from: v.from as number, seq: v.seq as number }
  } catch {
    // reported below
  }
  throw new LedgerError('HF_LEDGER_CORRUPT', `ledger ${ctx.path}: ${key} holds ${raw.slice(0, 80)}, not {"from":ms,"seq":n}`, { path: ctx.path })
}

/**
 * Writes an epoch's sums to the tally keys and deletes its markers, in one
 * batch. Folds must run one at a time (the tally cache and read-modify-write);
 * `Ledger.foldTallies` chains them. Throws on a failed write, having changed
 * nothing: give the epoch back with `restore`.
 */
export async function foldTallies(ctx: LedgerContext, epoch: Epoch): Promise<void> {
  if (epoch.sums.size === 0 && epoch.markers.length === 0) return
  const deltas = new Map<string, Tally>()
  const count = (key: string, tally: Tally): void => {
    deltas.set(key, mergeTallies(deltas.get(key), tally))
  }
  for (const { round, minute, account, worker, n, d, f, l } of epoch.sums.values()) {
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
  for (const key of epoch.markers) ops.push({ type: 'del', key })
  await write(ctx, ops, `${deltas.size} tallies`, ctx.sync)
  ctx.tallies.commit(committed)
}

/**
 * On open, before anything else writes: folds the shares a crash left out
 * of the tallies (see the top of this file). Returns how many shares.
 */
export async function recoverTallies(ctx: LedgerContext): Promise<number> {
  const markerKeys: string[] = []
  let from = Number.POSITIVE_INFINITY
  let seq = Number.POSITIVE_INFINITY
  for await (const [key, raw] of scan(ctx, prefixRange(keys.untalliedAll), 'reading the untallied markers')) {
    const marker = decodeMarker(ctx, key, raw)
    markerKeys.push(key)
    from = Math.min(from, marker.from)
    seq = Math.min(seq, marker.seq)
  }
  if (markerKeys.length === 0) return 0
  const pending = new PendingTallies()
  let folded = 0
  for await (const share of shareRange(ctx, keys.shareTime(from), prefixRange(keys.sharesAll).lt)) {
    if (share.seq < seq) continue
    pending.add(share.round, share.time, share.account, share.worker, share.scaled)
    folded++
  }
  pending.carry(markerKeys)
  await foldTallies(ctx, pending.take())
  return folded
}
