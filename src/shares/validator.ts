/**
 * The share check: one submitted share in, an outcome value out.
 *
 * In order (issue #3): job known (else job-not-found), job not from an
 * older previous block (else stale), extranonce2 length, ntime window,
 * version bits inside the granted mask, hash (native, header and target
 * compare in one call), duplicate, session target, network target. A
 * rejected share is a value, not an exception (CONVENTIONS.md §3).
 *
 * Per share the JS work is small: one Buffer for the coinbase, the header
 * written into a reused scratch buffer, no hex strings.
 */
import type { Hasher } from './hasher.js'
import { hashMeetsTarget } from './js-hasher.js'
import { bigIntToLe, targetForDifficulty } from './target.js'
import type { Job, JobBook } from '../jobs/job-book.js'
import type { BlockCandidate } from '../jobs/work.js'

/** How far past the pool's clock a share's ntime may be (seconds); Bitcoin allows 2 hours. */
export const MAX_NTIME_AHEAD_S = 7200

/** Why a share was rejected (mapped to Stratum codes in src/stratum). */
export type ShareRejectReason =
  | 'job-not-found'
  | 'stale'
  | 'bad-extranonce2'
  | 'bad-ntime'
  | 'bad-version-bits'
  | 'duplicate'
  | 'low-difficulty'

/** A share as decoded from `mining.submit`. */
export interface Submission {
  readonly jobId: string
  readonly extranonce2: Buffer
  readonly ntime: number
  readonly nonce: number
  readonly versionBits?: number | undefined
}

/** What the check needs to know of the submitting session. */
export interface ShareContext {
  readonly extranonce1: Buffer
  readonly extranonce2Size: number
  /** Version-rolling mask granted in `mining.configure` (0 when none). */
  readonly versionMask: number
  /** The difficulty in force now. */
  readonly difficulty: number
  /** The difficulty in force when job id `jobId` was sent to this session. */
  difficultyForJob(jobId: string): number | undefined
}

export type ShareOutcome =
  | {
      readonly ok: true
      /** True when the share also meets the network target. */
      readonly block: boolean
      readonly job: Job
      /** The difficulty credited (and judged against). */
      readonly difficulty: number
      readonly hash: Buffer
      readonly header: Buffer
      readonly coinbase: Buffer
    }
  | { readonly ok: false; readonly reason: ShareRejectReason; readonly detail: string }

/** Difficulty → 32-byte LE target, cached: sessions share a few distinct difficulties. */
const targetCache = new Map<number, Buffer>()
const TARGET_CACHE_MAX = 4096

export function targetBytes(difficulty: number): Buffer {
  let target = targetCache.get(difficulty)
  if (target === undefined) {
    if (targetCache.size >= TARGET_CACHE_MAX) targetCache.clear()
    target = bigIntToLe(targetForDifficulty(difficulty))
    targetCache.set(difficulty, target)
  }
  return target
}

export class ShareValidator {
  // Scratch space reused for every share: the check is synchronous.
  private readonly header = Buffer.alloc(80)
  private readonly hashOut = Buffer.alloc(32)
  private readonly okOut = Buffer.alloc(1)

  constructor(
    private readonly hasher: Hasher,
    private readonly book: JobBook,
  ) {}

  /** Checks one share. `nowS`: the pool's clock in seconds. */
  check(share: Submission, ctx: ShareContext, nowS: number): ShareOutcome {
    const ref = this.book.lookup(share.jobId)
    if (ref === undefined) return reject('job-not-found', `job ${share.jobId} is unknown or expired`)
    const { job } = ref
    if (job.stale) return reject('stale', `job ${share.jobId} is from an older block`)
    if (share.extranonce2.length !== ctx.extranonce2Size) {
      return reject('bad-extranonce2', `extranonce2 is ${share.extranonce2.length} bytes, expected ${ctx.extranonce2Size}`)
    }
    const work = job.work
    if (share.ntime < work.ntime) return reject('bad-ntime', `ntime ${share.ntime} is before the job's ${work.ntime}`)
    if (share.ntime > nowS + MAX_NTIME_AHEAD_S) return reject('bad-ntime', `ntime ${share.ntime} is more than 2 hours ahead`)
    const bits = share.versionBits ?? 0
    if ((bits & ~ctx.versionMask) !== 0) {
      return reject('bad-version-bits', `version bits ${hex(bits)} outside the granted mask ${hex(ctx.versionMask)}`)
    }

    // Coinbase: coinb1 | extranonce1 | extranonce2 | coinb2, one allocation.
    const en1 = ctx.extranonce1
    const coinbase = Buffer.allocUnsafe(work.coinb1.length + en1.length + share.extranonce2.length + work.coinb2.length)
    let at = work.coinb1.copy(coinbase, 0)
    at += en1.copy(coinbase, at)
    at += share.extranonce2.copy(coinbase, at)
    work.coinb2.copy(coinbase, at)

    const header = this.header
    // BIP 310: (job version & ~mask) | (bits & mask); bits outside were refused above.
    header.writeUInt32LE(((work.version & ~ctx.versionMask) | bits) >>> 0, 0)
    work.prevHash.copy(header, 4)
    this.hasher.merkleRoot(this.hasher.sha256d(coinbase), job.branch).copy(header, 36)
    header.writeUInt32LE(share.ntime, 68)
    header.writeUInt32LE(work.nbits, 72)
    header.writeUInt32LE(share.nonce, 76)

    // Judge by the difficulty in force when the job id was sent, or the
    // current one if lower (a Bitaxe applies a lowered difficulty at once).
    const sent = ctx.difficultyForJob(share.jobId) ?? ctx.difficulty
    const difficulty = Math.min(sent, ctx.difficulty)
    const meets = this.hasher.checkHeaders(header, targetBytes(difficulty), this.hashOut, this.okOut) === 1
    const key = this.hashOut.toString('latin1')
    if (job.accepted.has(key)) return reject('duplicate', 'share already submitted')
    if (!meets) return reject('low-difficulty', `share is below difficulty ${difficulty}`)
    job.accepted.add(key)
    const hash = Buffer.from(this.hashOut)
    return {
      ok: true,
      block: hashMeetsTarget(hash, job.networkTarget),
      job,
      difficulty,
      hash,
      header: Buffer.from(header),
      coinbase,
    }
  }
}

/** A block candidate from an accepted share that met the network target. */
export function blockCandidate(outcome: Extract<ShareOutcome, { ok: true }>, account: string, worker: string): BlockCandidate {
  return { work: outcome.job.work, header: outcome.header, coinbase: outcome.coinbase, hash: outcome.hash, account, worker }
}

function reject(reason: ShareRejectReason, detail: string): ShareOutcome {
  return { ok: false, reason, detail }
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}
