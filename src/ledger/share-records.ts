/**
 * Per-share records: `sh/<time>/<seq>` → the share as JSON with short field
 * names (there are billions of these; every byte counts). Kept for the
 * retention period, then pruned (retention.ts); the tallies they fed stay.
 */
import { type LedgerContext, type LedgerSnapshot, corrupt, parseRecord, scan } from './context.js'
import { scaleDifficulty, type ScaledDifficulty } from './difficulty.js'
import { assertName, assertTime, keys, parseShareKey } from './keyspace.js'
import { LedgerError } from './ledger-error.js'

/**
 * An accepted share, as the Stratum server hands it over. The same shape as
 * the server's `ShareRecord`, declared here so the ledger does not depend on
 * the server (dependencies point server → ledger).
 */
export interface LedgerShare {
  /** ms since the epoch. */
  readonly time: number
  readonly account: string
  readonly worker: string
  /** The difficulty credited (may be fractional). */
  readonly difficulty: number
  readonly jobId: string
  readonly height?: number | undefined
  /** The share met the network target: it closes the current round. */
  readonly block: boolean
  readonly session: number
  /** Name of the job source whose work it was. */
  readonly source: string
}

/** A share as stored. */
export interface StoredShare extends LedgerShare {
  /** Ledger sequence number (unique, increasing in commit order). */
  readonly seq: number
  /** The round it counts in. */
  readonly round: number
  /** `difficulty` scaled by 2^32, as the tallies sum it. */
  readonly scaled: ScaledDifficulty
}

/** Checks a share before it is queued, so one bad share cannot fail a whole batch. */
export function validateShare(share: LedgerShare): void {
  if (typeof share !== 'object' || share === null) throw new LedgerError('HF_LEDGER_INVALID', 'a share must be an object')
  assertTime(share.time, 'share time')
  assertName(share.account, 'account')
  assertName(share.worker, 'worker')
  scaleDifficulty(share.difficulty)
  if (typeof share.jobId !== 'string') throw new LedgerError('HF_LEDGER_INVALID', 'share jobId must be a string')
  if (share.height !== undefined && (!Number.isSafeInteger(share.height) || share.height < 0)) {
    throw new LedgerError('HF_LEDGER_INVALID', `share height must be a non-negative integer, got ${String(share.height)}`)
  }
  if (typeof share.block !== 'boolean') throw new LedgerError('HF_LEDGER_INVALID', 'share block flag must be a boolean')
  if (!Number.isSafeInteger(share.session)) throw new LedgerError('HF_LEDGER_INVALID', 'share session must be an integer')
  if (typeof share.source !== 'string') throw new LedgerError('HF_LEDGER_INVALID', 'share source must be a string')
}

/**
 * The stored JSON of a share, built as a string: the same bytes as
 * `JSON.stringify` of the object with these fields in this order (a test
 * checks it), without building that object for every accepted share.
 */
export function encodeShare(share: LedgerShare, round: number): string {
  const height = share.height === undefined ? '' : `,"h":${share.height}`
  const block = share.block ? ',"b":1' : ''
  return `{"a":${quoted(share.account)},"w":${quoted(share.worker)},"d":${share.difficulty},"j":${quoted(share.jobId)}${height}${block},"s":${share.session},"o":${quoted(share.source)},"r":${round}}`
}

/**
 * `JSON.stringify` of a string, remembered: accounts, workers, job ids and
 * sources repeat from share to share, and a lookup costs less than quoting
 * (measured on the accept path). Bounded: cleared past 10,000 strings.
 */
const QUOTED = new Map<string, string>()
function quoted(s: string): string {
  let q = QUOTED.get(s)
  if (q === undefined) {
    if (QUOTED.size >= 10_000) QUOTED.clear()
    q = JSON.stringify(s)
    QUOTED.set(s, q)
  }
  return q
}

export function decodeShare(ctx: LedgerContext, key: string, raw: string): StoredShare {
  const v = parseRecord(ctx, key, raw)
  const { time, seq } = parseShareKey(key)
  if (
    typeof v.a !== 'string' ||
    typeof v.w !== 'string' ||
    typeof v.d !== 'number' ||
    !(v.d > 0) ||
    typeof v.j !== 'string' ||
    typeof v.s !== 'number' ||
    typeof v.o !== 'string' ||
    typeof v.r !== 'number' ||
    (v.h !== undefined && typeof v.h !== 'number') ||
    !Number.isSafeInteger(time) ||
    !Number.isSafeInteger(seq)
  ) {
    throw corrupt(ctx, key, raw)
  }
  return {
    seq,
    time,
    account: v.a,
    worker: v.w,
    difficulty: v.d,
    scaled: scaleDifficulty(v.d),
    jobId: v.j,
    height: v.h,
    block: v.b === 1,
    session: v.s,
    source: v.o,
    round: v.r,
  }
}

/** Share records in a key range [gte, lt), oldest first unless `reverse`. */
export async function* shareRange(
  ctx: LedgerContext,
  gte: string,
  lt: string,
  options: { reverse?: boolean; snapshot?: LedgerSnapshot | undefined } = {},
): AsyncGenerator<StoredShare> {
  if (gte >= lt) return
  for await (const [key, raw] of scan(ctx, { gte, lt, reverse: options.reverse ?? false, snapshot: options.snapshot }, 'reading shares')) {
    yield decodeShare(ctx, key, raw)
  }
}

/** Shares with `from <= time < to`, oldest first. */
export function sharesBetween(ctx: LedgerContext, from: number, to: number, snapshot?: LedgerSnapshot): AsyncGenerator<StoredShare> {
  assertTime(from, 'from')
  assertTime(to, 'to')
  return shareRange(ctx, keys.shareTime(from), keys.shareTime(to), { snapshot })
}
