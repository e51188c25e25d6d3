/**
 * The share check: one submitted share in, an outcome value out.
 *
 * In order (issue #3): job known (else job-not-found), extranonce2 length,
 * ntime window, version bits inside the granted mask, hash (native, header
 * and target compare in one call), job not from an older previous block
 * (else stale: hashed anyway, because a stale share that meets the network
 * target is still submitted as a block), session target, duplicate,
 * network target. A rejected share is a value, not an exception
 * (CONVENTIONS.md §3).
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

/** What a block needs from a share: the job and the exact bytes hashed. */
export interface SolvedShare {
  readonly job: Job
  /** The 80-byte header as hashed. */
  readonly header: Buffer
  /** coinb1 | extranonce1 | extranonce2 | coinb2. */
  readonly coinbase: Buffer
  /** sha256d of the header, internal byte order. */
  readonly hash: Buffer
}

export type ShareOutcome =
  | {
      readonly ok: true
      readonly job: Job
      /** The difficulty credited (and judged against). */
      readonly difficulty: number
      readonly hash: Buffer
      /** Set when the share also meets the network target: hand it to the source at once. */
      readonly block: SolvedShare | undefined
    }
  | {
      readonly ok: false
      readonly reason: ShareRejectReason
      readonly detail: string
      /**
       * A stale share that still meets the network target: the pool's view
       * of the tip may be what is wrong, so it is submitted anyway.
       */
      readonly block?: SolvedShare
    }

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
    // A stale job's share is answered "stale" whatever else is wrong with it
    // (no closure or detail string per share: this runs for every share).
    const fail = (reason: ShareRejectReason, detail: string): ShareOutcome => (job.stale ? staleReject(share.jobId) : reject(reason, detail))
    const work = job.work
    // Per job, not per session: in proxy mode the size changes with the
    // upstream's, and a share of an older job keeps the size of its job.
    const en2Size = work.extranonceSize - ctx.extranonce1.length
    if (share.extranonce2.length !== en2Size) {
      return fail('bad-extranonce2', `extranonce2 is ${share.extranonce2.length} bytes, expected ${en2Size}`)
    }
    if (share.ntime < work.ntime) return fail('bad-ntime', `ntime ${share.ntime} is before the job's ${work.ntime}`)
    if (share.ntime > nowS + MAX_NTIME_AHEAD_S) return fail('bad-ntime', `ntime ${share.ntime} is more than 2 hours ahead`)
    const bits = share.versionBits ?? 0
    // The session's grant AND the work's own limit (proxy mode: the upstream's mask).
    const mask = work.versionMask === undefined ? ctx.versionMask : (ctx.versionMask & work.versionMask) >>> 0
    if ((bits & ~mask) !== 0) {
      return fail('bad-version-bits', `version bits ${hex(bits)} outside the granted mask ${hex(mask)}`)
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
    header.writeUInt32LE(((work.version & ~mask) | bits) >>> 0, 0)
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
    const isBlock = meets && hashMeetsTarget(this.hashOut, job.networkTarget)
    if (job.stale) return isBlock ? { ...staleReject(share.jobId), block: this.solved(job, coinbase) } : staleReject(share.jobId)
    if (!meets) return reject('low-difficulty', `share is below difficulty ${difficulty}`)
    if (!job.accepted.add(this.hashOut)) return reject('duplicate', 'share already submitted')
    return { ok: true, job, difficulty, hash: Buffer.from(this.hashOut), block: isBlock ? this.solved(job, coinbase) : undefined }
  }

  /** Copies of the scratch header and hash, for a share that is a block (rare: no copy otherwise). */
  private solved(job: Job, coinbase: Buffer): SolvedShare {
    return { job, header: Buffer.from(this.header), coinbase, hash: Buffer.from(this.hashOut) }
  }

  /** Forgets an accepted share (its recording failed: the miner may send it again). */
  forget(outcome: Extract<ShareOutcome, { ok: true }>): void {
    outcome.job.accepted.delete(outcome.hash)
  }
}

/** A block candidate from a share that met the network target. */
export function blockCandidate(solved: SolvedShare, account: string, worker: string): BlockCandidate {
  return { work: solved.job.work, header: solved.header, coinbase: solved.coinbase, hash: solved.hash, account, worker }
}

function reject(reason: ShareRejectReason, detail: string): ShareOutcome {
  return { ok: false, reason, detail }
}

function staleReject(jobId: string): { ok: false; reason: 'stale'; detail: string } {
  return { ok: false, reason: 'stale', detail: `job ${jobId} is from an older block` }
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}
