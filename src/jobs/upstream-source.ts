/**
 * The upstream source (proxy mode): a `JobSource` whose work comes from
 * another Stratum pool through an `UpstreamClient`, with the pool's
 * extranonce2 space split among Headframe's miners (upstream-extranonce.ts).
 *
 * Each upstream job becomes Work whose coinb1 ends with the upstream's
 * extranonce1 and the pad, so a session's own extranonce1 is its prefix.
 * The Work remembers (in `sourceRef`) the upstream job id, the upstream
 * difficulty in force when the job arrived, and the split it was made
 * with: a share is forwarded when it meets *that* difficulty, with
 * extranonce2 `pad | prefix | en2`, and only while the connection and
 * extranonce it belongs to are still the current ones (a share of an older
 * connection would only be rejected). The pool's answer is handed back to
 * the server, which records it per worker.
 *
 * A block in proxy mode belongs to the upstream pool: `submitBlock` forwards
 * the share at once (before the server records it), and the later
 * `forwardShare` of the same share reuses that answer.
 *
 * Unhealthy (`health()`): not connected or not authorized yet, the
 * extranonce space cannot be split (the error names
 * `stratum.extranonce1_size`), the pool misbehaved (the client's error), or
 * a run of `maxConsecutiveRejects` rejected shares (the source then
 * reconnects for a fresh session). Healthy again with the first job of a
 * good connection; the failover source adds the hold-down.
 */
import type { Logger } from '../log.js'
import { hashMeetsTarget } from '../shares/js-hasher.js'
import { targetBytes } from '../shares/validator.js'
import type { ForwardedShare, JobSource, SourceHealth, UpstreamShareResult, WorkListener } from './job-source.js'
import { UpstreamClient, type UpstreamClientOptions, type UpstreamSession } from './upstream-client.js'
import { planExtranonce, splitCoinbaseExtranonce, upstreamExtranonce2, type ExtranoncePlan } from './upstream-extranonce.js'
import { submitParams, type UpstreamJob } from './upstream-protocol.js'
import type { BlockCandidate, BlockSubmitResult, Work } from './work.js'

/** What an upstream source keeps in `Work.sourceRef`. */
export interface UpstreamWorkRef {
  readonly upstreamJobId: string
  /** The upstream difficulty in force when the job arrived: forwarding judges by it. */
  readonly difficulty: number
  /** The connection-and-extranonce epoch the job belongs to. */
  readonly epoch: number
  readonly plan: ExtranoncePlan
  /** Version bits are sent with submits (the pool granted version rolling). */
  readonly versionRolling: boolean
}

export interface UpstreamSourceOptions extends Omit<UpstreamClientOptions, 'log'> {
  /** Bytes of each session's prefix: `stratum.extranonce1_size`. */
  readonly prefixSize: number
  /** Most extranonce2 bytes miners roll: `stratum.extranonce2_size`. */
  readonly maxMinerExtranonce2: number
  readonly maxConsecutiveRejects: number
  readonly log: Logger
  /** ms clock (health timestamps). */
  readonly clock?: () => number
}

/** Block candidates whose forwarding is remembered, so the share's own forward reuses it. */
const BLOCK_MEMORY = 16

export class UpstreamSource implements JobSource {
  readonly name: string
  /** Counters for stats, benchmarks and tests. */
  readonly counters = { jobs: 0, forwarded: 0, accepted: 0, rejected: 0, skipped: 0 }

  private readonly options: UpstreamSourceOptions
  private readonly log: Logger
  private readonly clock: () => number
  private readonly client: UpstreamClient
  private readonly listeners = new Set<WorkListener>()
  private latest: Work | undefined
  private plan: ExtranoncePlan | undefined
  private epoch = 0
  /** The epoch `latest` was made in. */
  private latestEpoch = -1
  private difficulty = 1
  private versionMask: number | undefined
  private cleanNext = true
  private lastError: string | undefined = 'not connected yet'
  private lastJobAt: number | undefined
  private rejectRun = 0
  private running = false
  private readonly blockForwards = new Map<string, Promise<UpstreamShareResult>>()

  constructor(options: UpstreamSourceOptions) {
    this.options = options
    this.name = options.name
    this.clock = options.clock ?? Date.now
    this.log = options.log.child({ component: 'upstream', source: options.name })
    this.client = new UpstreamClient(
      { ...options, log: this.log },
      {
        ready: (session) => this.onReady(session),
        job: (job) => this.onJob(job),
        difficulty: (d) => {
          this.difficulty = d
        },
        extranonce: (en1, size) => this.onExtranonce(en1, size),
        versionMask: (mask) => {
          this.versionMask = mask
        },
        down: (reason) => this.onDown(reason),
      },
    )
  }

  /** The client, for stats and tests. */
  get upstream(): UpstreamClient {
    return this.client
  }

  async start(): Promise<void> {
    this.running = true
    this.client.start()
  }

  async stop(): Promise<void> {
    this.running = false
    this.client.stop()
  }

  onWork(listener: WorkListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  current(): Work | undefined {
    return this.latest
  }

  health(): SourceHealth {
    const healthy = this.lastError === undefined && this.client.ready && this.latest !== undefined && this.latestEpoch === this.epoch
    return { healthy, lastError: this.lastError, lastTemplateAt: this.lastJobAt, height: this.latest?.height }
  }

  private onReady(session: UpstreamSession): void {
    this.difficulty = session.difficulty
    this.versionMask = session.versionMask
    this.rejectRun = 0
    this.replan(session.extranonce1, session.extranonce2Size)
  }

  private onExtranonce(extranonce1: Buffer, extranonce2Size: number): void {
    this.log.info({ extranonce1: extranonce1.toString('hex'), extranonce2Size }, 'upstream changed the extranonce')
    this.replan(extranonce1, extranonce2Size)
  }

  /** A new split; the next job starts a new epoch and is clean. */
  private replan(extranonce1: Buffer, extranonce2Size: number): void {
    const result = planExtranonce(extranonce1, extranonce2Size, this.options.prefixSize, this.options.maxMinerExtranonce2)
    this.epoch++
    this.cleanNext = true
    if (!result.ok) {
      this.plan = undefined
      this.lastError = result.reason
      this.log.error({ reason: result.reason }, 'upstream unusable')
      this.client.disconnect(result.reason)
      return
    }
    this.plan = result.plan
  }

  private onJob(job: UpstreamJob): void {
    const plan = this.plan
    if (plan === undefined || !this.running) return
    const mask = this.versionMask ?? 0
    const ref: UpstreamWorkRef = { upstreamJobId: job.jobId, difficulty: this.difficulty, epoch: this.epoch, plan, versionRolling: this.versionMask !== undefined }
    const work: Work = {
      source: this.name,
      prevHash: job.prevHash,
      coinb1: Buffer.concat([job.coinb1, plan.coinb1Suffix]),
      coinb2: job.coinb2,
      extranonceSize: plan.extranonceSize,
      merkleBranch: job.merkleBranch,
      // BIP 310: the rolled bits are the miners'; the pool's own bits there are cleared.
      version: (job.version & ~mask) >>> 0,
      versionMask: mask,
      nbits: job.nbits,
      ntime: job.ntime,
      ...heightOf(job.coinb1),
      cleanJobs: job.cleanJobs || this.cleanNext,
      forwardShares: true,
      sourceRef: ref,
    }
    this.cleanNext = false
    this.latest = work
    this.latestEpoch = this.epoch
    this.lastJobAt = this.clock()
    this.counters.jobs++
    if (this.lastError !== undefined) this.log.info({ previousError: this.lastError }, 'upstream source healthy')
    this.lastError = undefined
    for (const listener of this.listeners) {
      try {
        listener(work)
      } catch (err) {
        this.log.error({ err }, 'a work listener threw')
      }
    }
  }

  private onDown(reason: string): void {
    if (this.running) this.lastError = reason
  }

  /** Proxy mode: the block belongs to the upstream pool; it goes there as a share, at once. */
  async submitBlock(candidate: BlockCandidate): Promise<BlockSubmitResult> {
    const ref = this.refOf(candidate.work)
    if (ref === undefined) return { accepted: false, reason: `not work of upstream source ${this.name} (work of ${candidate.work.source})` }
    const [prefix, en2] = splitCoinbaseExtranonce(ref.plan, candidate.work.coinb1.length, candidate.coinbase)
    const version = candidate.header.readUInt32LE(0)
    const share: ForwardedShare = {
      work: candidate.work,
      extranonce1: prefix,
      extranonce2: en2,
      ntime: candidate.header.readUInt32LE(68),
      nonce: candidate.header.readUInt32LE(76),
      versionBits: ref.versionRolling ? (version & (candidate.work.versionMask ?? 0)) >>> 0 : undefined,
      hash: candidate.hash,
      account: candidate.account,
      worker: candidate.worker,
    }
    const pending = this.forward(share, ref, ref.difficulty)
    if (pending === undefined) return { accepted: false, reason: 'the upstream connection the block belongs to is gone' }
    const key = candidate.hash.toString('hex')
    this.blockForwards.set(key, pending)
    if (this.blockForwards.size > BLOCK_MEMORY) this.blockForwards.delete(this.blockForwards.keys().next().value as string)
    const result = await pending
    return result.accepted ? { accepted: true } : { accepted: false, reason: `upstream: ${result.reason}` }
  }

  forwardShare(share: ForwardedShare): Promise<UpstreamShareResult> | undefined {
    const ref = this.refOf(share.work)
    if (ref === undefined) return undefined
    const block = this.blockForwards.get(share.hash.toString('hex'))
    if (block !== undefined) return block
    // The job's difficulty, or a higher one set since: a pool that applies a
    // raised difficulty at once would reject the shares in between (and a
    // run of rejects drops the connection).
    const difficulty = ref.epoch === this.epoch ? Math.max(ref.difficulty, this.difficulty) : ref.difficulty
    if (!hashMeetsTarget(share.hash, targetBytes(difficulty))) return undefined
    return this.forward(share, ref, difficulty)
  }

  private refOf(work: Work): UpstreamWorkRef | undefined {
    if (work.source !== this.name) return undefined
    const ref = work.sourceRef as UpstreamWorkRef | undefined
    return ref !== undefined && typeof ref === 'object' && 'epoch' in ref ? ref : undefined
  }

  /** Submits upstream; undefined when the share's connection or extranonce is no longer current. */
  private forward(share: ForwardedShare, ref: UpstreamWorkRef, difficulty: number): Promise<UpstreamShareResult> | undefined {
    if (ref.epoch !== this.epoch || !this.client.ready) {
      this.counters.skipped++
      return undefined
    }
    let en2: Buffer
    try {
      en2 = upstreamExtranonce2(ref.plan, share.extranonce1, share.extranonce2)
    } catch (err) {
      this.log.error({ err }, 'a share does not fit the extranonce split')
      this.counters.skipped++
      return undefined
    }
    const params = submitParams(this.options.user, ref.upstreamJobId, en2, share.ntime, share.nonce, ref.versionRolling ? (share.versionBits ?? 0) : undefined)
    this.counters.forwarded++
    return this.client.submit(params).then((answer) => {
      if (answer.accepted) {
        this.counters.accepted++
        this.rejectRun = 0
        return { accepted: true, difficulty }
      }
      this.counters.rejected++
      this.log.debug({ job: ref.upstreamJobId, reason: answer.reason, account: share.account, worker: share.worker }, 'share rejected upstream')
      if (++this.rejectRun >= this.options.maxConsecutiveRejects && ref.epoch === this.epoch) {
        const reason = `${this.rejectRun} forwarded shares in a row rejected upstream (last: ${answer.reason})`
        this.rejectRun = 0
        this.lastError = reason
        this.client.disconnect(reason)
      }
      return { accepted: false, difficulty, reason: answer.reason }
    })
  }
}

/** The BIP34 height at the start of the coinbase scriptSig, when coinb1 reaches that far (best effort, for logs and the ledger). */
function heightOf(coinb1: Buffer): { height?: number } {
  // version (4) | input count (1) | prevout (36) | scriptSig length (1) | push length | height LE
  const at = 4 + 1 + 36 + 1
  const pushLength = coinb1[at]
  if (coinb1[4] !== 1 || pushLength === undefined || pushLength < 1 || pushLength > 4 || coinb1.length < at + 1 + pushLength) return {}
  return { height: coinb1.readUIntLE(at + 1, pushLength) }
}
