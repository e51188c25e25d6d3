/**
 * Every key the ledger writes, in one place (docs/ledger.md has the table).
 *
 * Keys are ASCII strings that sort the way the questions are asked:
 * numbers are fixed-width lowercase hex (times are ms since the epoch in 12
 * digits, good until the year 10889), so LevelDB's bytewise order is numeric
 * order and a time range is one contiguous key range. Fields are separated by
 * `/`, which names may not contain, so `prefix/name/` never matches a longer
 * name that starts the same way.
 */
import { LedgerError } from './ledger-error.js'

/** Bucket resolutions of the difficulty tallies, finest first. */
export type Resolution = 'm' | 'h' | 'd'

export const MINUTE = 60_000
export const HOUR = 3_600_000
export const DAY = 86_400_000

/** Length of each resolution's bucket, ms. Buckets are aligned to the Unix epoch (UTC). */
export const RESOLUTION_MS: Readonly<Record<Resolution, number>> = { m: MINUTE, h: HOUR, d: DAY }
export const RESOLUTIONS: readonly Resolution[] = ['m', 'h', 'd']

const MAX_TIME = 2 ** 48

/** 16 ** width for the widths the keys use (a power per call was measurable on the share path). */
const HEX_LIMIT: readonly number[] = Array.from({ length: 14 }, (_, width) => 16 ** width)

/** Fixed-width hex of a non-negative safe integer. */
export function hex(value: number, width: number): string {
  if (!Number.isSafeInteger(value) || value < 0 || value >= (HEX_LIMIT[width] ?? 16 ** width)) {
    throw new LedgerError('HF_LEDGER_INVALID', `${String(value)} does not fit ${width} hex digits`)
  }
  return value.toString(16).padStart(width, '0')
}

export const hexTime = (ms: number): string => hex(ms, 12)
const hexSeq = (seq: number): string => hex(seq, 12)
const hexRound = (round: number): string => hex(round, 8)
const hexHeight = (height: number): string => hex(height, 8)

/** Checks a time (ms since the epoch) the keys can hold. */
export function assertTime(ms: number, what = 'time'): void {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms >= MAX_TIME) {
    throw new LedgerError('HF_LEDGER_INVALID', `${what} must be an integer number of ms since the epoch, got ${String(ms)}`)
  }
}

/** Printable ASCII without `/` (the key separator) or space; 1 to 128 characters. */
const NAME = /^[\x21-\x2e\x30-\x7e]{1,128}$/

/** Checks an account or worker name can be a key field. */
export function assertName(name: string, what: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new LedgerError('HF_LEDGER_INVALID', `${what} ${JSON.stringify(name)} must be 1-128 printable ASCII characters without '/' or spaces`)
  }
}

/** Block hashes as bitcoind shows them: 64 lowercase hex digits. */
export function assertBlockHash(hash: string): void {
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
    throw new LedgerError('HF_LEDGER_INVALID', `block hash ${JSON.stringify(hash)} must be 64 lowercase hex digits`)
  }
}

/** Start of the bucket of resolution `res` that holds `ms`. */
export function bucketStart(ms: number, res: Resolution): number {
  const size = RESOLUTION_MS[res]
  return ms - (ms % size)
}

/** The smallest key greater than every key starting with `prefix` (prefix ends with `/`). */
function successor(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
}

/** The key range of everything under `prefix`. */
export function prefixRange(prefix: string): { gte: string; lt: string } {
  return { gte: prefix, lt: successor(prefix) }
}

let lastShareTime = -1
let lastShareHex = ''
function lastShareTimeHex(time: number): string {
  if (time !== lastShareTime) {
    lastShareHex = hexTime(time)
    lastShareTime = time
  }
  return lastShareHex
}

export const keys = {
  /** `m/<name>`: schema version, counters, prune horizon. */
  meta: (name: 'version' | 'seq' | 'round' | 'pruned' | 'created'): string => `m/${name}`,

  /** `m/untallied/<seq 12>`: an epoch of shares not in the tallies yet, by its first seq (tally-fold.ts). */
  untallied: (seq: number): string => `m/untallied/${hexSeq(seq)}`,
  untalliedAll: 'm/untallied/',

  /** `sh/<time>/<seq>`: one accepted share (a busy group has many shares of one ms: its hex is kept). */
  share: (time: number, seq: number): string => `sh/${lastShareTimeHex(time)}/${hexSeq(seq)}`,
  /** Lower bound of the shares at `time` or later (and upper bound, exclusive, of those before). */
  shareTime: (time: number): string => `sh/${hexTime(time)}/`,
  sharesAll: 'sh/',

  /** `ta/<res>/<bucket>/<account>`: an account's tally in one bucket. */
  accountTally: (res: Resolution, start: number, account: string): string => `ta/${res}/${hexTime(start)}/${account}`,
  /** Bound of the account tallies of resolution `res` in buckets starting at `start` or later. */
  accountTallyTime: (res: Resolution, start: number): string => `ta/${res}/${hexTime(start)}/`,

  /** `tw/<res>/<bucket>/<account>/<worker>`: a worker's tally in one bucket. */
  workerTally: (res: Resolution, start: number, account: string, worker: string): string =>
    `tw/${res}/${hexTime(start)}/${account}/${worker}`,
  workerTallyTime: (res: Resolution, start: number): string => `tw/${res}/${hexTime(start)}/`,

  /** `rd/<round>`: a round's tally. */
  round: (round: number): string => `rd/${hexRound(round)}`,
  /** `ra/<round>/<account>`: an account's tally in a round. */
  roundAccount: (round: number, account: string): string => `ra/${hexRound(round)}/${account}`,
  roundAccounts: (round: number): string => `ra/${hexRound(round)}/`,
  /** `rc/<round>`: the block share that closed a round. */
  roundClose: (round: number): string => `rc/${hexRound(round)}`,
  roundClosesAll: 'rc/',

  /** `bk/<height>/<hash>`: a found block. */
  block: (height: number, hash: string): string => `bk/${hexHeight(height)}/${hash}`,
  blocksAt: (height: number): string => `bk/${hexHeight(height)}/`,
  blocksAll: 'bk/',
  /** `bh/<hash>`: the height of a block, to find its `bk/` key from its hash. */
  blockHash: (hash: string): string => `bh/${hash}`,

  /** `ba/<account>`: an account's balance, satoshis. */
  balance: (account: string): string => `ba/${account}`,
  balancesAll: 'ba/',
  /** `jr/<seq>`: one journal entry. */
  journal: (seq: number): string => `jr/${hexSeq(seq)}`,
  journalAll: 'jr/',
  /** `ja/<account>/<seq>`: the same entry, by account. */
  journalOf: (account: string, seq: number): string => `ja/${account}/${hexSeq(seq)}`,
  journalsOf: (account: string): string => `ja/${account}/`,
  /** `rf/<ref>`: the journal entries a posting with this idempotency reference wrote. */
  ref: (ref: string): string => `rf/${ref}`,

  /** `up/<from>/<seq>`: upstream revenue for a period starting at `from`. */
  upstream: (from: number, seq: number): string => `up/${hexTime(from)}/${hexSeq(seq)}`,
  upstreamAll: 'up/',

  /** `ev/<u|x>/<res>/<bucket>/<account>/<worker>`: upstream answers (u) or local rejects (x) of a worker in one bucket. */
  eventTally: (kind: 'u' | 'x', res: Resolution, start: number, account: string, worker: string): string =>
    `ev/${kind}/${res}/${hexTime(start)}/${account}/${worker}`,
  eventTallyTime: (kind: 'u' | 'x', res: Resolution, start: number): string => `ev/${kind}/${res}/${hexTime(start)}/`,

  /** `pp/<period start>`: one credited PPS period (inputs, credits, carry). */
  ppsPeriod: (start: number): string => `pp/${hexTime(start)}`,
  ppsPeriodsAll: 'pp/',

  /** `po/<batch id>`: a payout batch (pending, sent, failed); ids start with their creation time in hex. */
  payoutBatch: (id: string): string => `po/${id}`,
  payoutBatchesAll: 'po/',
  /** `wh/<hook>/<time>/<event id>`: a webhook event waiting for delivery to one endpoint. */
  outboxEntry: (hook: string, time: number, id: string): string => `wh/${hook}/${hexTime(time)}/${id}`,
  outboxOf: (hook: string): string => `wh/${hook}/`,
  outboxAll: 'wh/',
  /** `wb/<hash>`: the last block status webhooks were told about. */
  blockNotice: (hash: string): string => `wb/${hash}`,
  blockNoticesAll: 'wb/',
} as const

/** Parses the numbers back out of a `sh/<time>/<seq>` key. */
export function parseShareKey(key: string): { time: number; seq: number } {
  return { time: parseInt(key.slice(3, 15), 16), seq: parseInt(key.slice(16, 28), 16) }
}

/** Parses `ta|tw/<res>/<bucket>/<account>[/<worker>]`. */
export function parseTallyKey(key: string): { start: number; account: string; worker: string | undefined } {
  const start = parseInt(key.slice(5, 17), 16)
  const rest = key.slice(18)
  const slash = rest.indexOf('/')
  return slash < 0 ? { start, account: rest, worker: undefined } : { start, account: rest.slice(0, slash), worker: rest.slice(slash + 1) }
}
