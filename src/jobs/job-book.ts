/**
 * The job book: the server's record of the work it has handed out.
 *
 * Each piece of work gets a Stratum job id and the derived values the share
 * check needs, computed once per job rather than once per share: the merkle
 * branch as one buffer, the network target, and the hex fields of
 * `mining.notify`. The book remembers the last `capacity` jobs so that a
 * share for an older job is told apart: same previous block → still valid;
 * older previous block, or an older job than clean work → stale (21); forgotten or never issued → job not
 * found (21).
 *
 * Job ids are hex numbers whose low byte is 0. A session may re-send a job
 * under an alias (the same number with a non-zero low byte) when its
 * difficulty changes, so that shares are judged by the difficulty in force
 * when their job id was sent (STRATUM-NOTES: cgminer applies a new
 * difficulty from the next job, Bitaxe at once).
 */
import type { Work } from './work.js'
import { bigIntToLe, targetFromBits } from '../shares/target.js'
import { ShareKeySet } from '../shares/share-key-set.js'

/** Aliases a session may derive from one job (low byte of the id). */
export const MAX_JOB_ALIASES = 255

export interface Job {
  /** Base id (hex, low byte 0) sent in `mining.notify`. */
  readonly id: string
  readonly seq: number
  readonly work: Work
  /** The merkle branch concatenated (32 * k bytes), as the hasher takes it. */
  readonly branch: Buffer
  /** The network target as 32 little-endian bytes: a share at or below it is a block. */
  readonly networkTarget: Buffer
  /** When the book received it (ms, the book's clock). */
  readonly receivedAt: number
  /** The `mining.notify` fields in Stratum hex form (prevhash word-swapped). */
  readonly notify: NotifyFields
  /** True once a newer job has a different previous block. */
  stale: boolean
  /** Keys of accepted shares (their header hash), for duplicate detection; emptied when the job goes stale. */
  readonly accepted: ShareKeySet
}

export interface NotifyFields {
  readonly prevHash: string
  readonly coinb1: string
  readonly coinb2: string
  readonly merkleBranch: readonly string[]
  readonly version: string
  readonly nbits: string
  readonly ntime: string
}

/** A looked-up job id: the job and the alias number (0 for the base id). */
export interface JobRef {
  readonly job: Job
  readonly alias: number
}

export class JobBook {
  private readonly jobs = new Map<number, Job>()
  // A random first id: late shares from a previous run of the pool do not
  // land on a different job under the same id.
  private seq = Math.floor(Math.random() * 0xfffff)
  private latest: Job | undefined

  /** `capacity`: how many jobs to remember (older ones are "job not found"). */
  constructor(private readonly capacity = 64) {}

  /** Registers new work and returns its job. */
  add(work: Work, now: number): Job {
    // 2^24 jobs before the id wraps: years at one job every few seconds.
    this.seq = (this.seq % 0xffffff) + 1
    const id = this.seq * 256
    // Older jobs go stale on a new previous block, and on any work the source
    // marks clean (an upstream's new extranonce, a failover switch): shares on
    // them could no longer be forwarded or would build a block on old work.
    const newBlock = this.latest !== undefined && (work.cleanJobs || !this.latest.work.prevHash.equals(work.prevHash))
    if (newBlock) {
      for (const job of this.jobs.values()) {
        job.stale = true
        // A stale job's shares are never credited again: no duplicates to detect.
        job.accepted.clear()
      }
    }
    const job: Job = {
      id: id.toString(16),
      seq: id,
      work,
      branch: Buffer.concat(work.merkleBranch),
      networkTarget: bigIntToLe(targetFromBits(work.nbits)),
      receivedAt: now,
      notify: notifyFields(work),
      stale: false,
      accepted: new ShareKeySet(),
    }
    this.jobs.delete(id) // a wrapped id reused: forget the old job first
    this.jobs.set(id, job)
    while (this.jobs.size > this.capacity) {
      const oldest = this.jobs.keys().next().value as number
      this.jobs.delete(oldest)
    }
    this.latest = job
    return job
  }

  /** The newest job, if any. */
  current(): Job | undefined {
    return this.latest
  }

  /** Looks up a job id as a miner sent it (base id or alias). */
  lookup(jobId: string): JobRef | undefined {
    if (jobId.length === 0 || jobId.length > 8) return undefined
    const n = Number.parseInt(jobId, 16)
    if (!Number.isInteger(n) || n.toString(16) !== jobId.toLowerCase()) return undefined
    const job = this.jobs.get(n - (n % 256))
    return job === undefined ? undefined : { job, alias: n % 256 }
  }

  /** How many jobs the book remembers now. */
  get size(): number {
    return this.jobs.size
  }
}

/** The id of alias `alias` (1-255) of `job`. */
export function aliasId(job: Job, alias: number): string {
  return (job.seq + alias).toString(16)
}

function notifyFields(work: Work): NotifyFields {
  return {
    prevHash: stratumPrevHash(work.prevHash),
    coinb1: work.coinb1.toString('hex'),
    coinb2: work.coinb2.toString('hex'),
    merkleBranch: work.merkleBranch.map((h) => h.toString('hex')),
    version: hex32(work.version),
    nbits: hex32(work.nbits),
    ntime: hex32(work.ntime),
  }
}

/**
 * The previous hash as `mining.notify` carries it: the header's 32 bytes
 * with each 4-byte word byte-swapped (the classic Stratum quirk).
 */
export function stratumPrevHash(prevHash: Buffer): string {
  const swapped = Buffer.from(prevHash)
  swapped.swap32()
  return swapped.toString('hex')
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}
