/**
 * The bitcoind template source: work from `getblocktemplate`, blocks back
 * through `submitblock`.
 *
 * - Work: each template becomes a coinbase (BIP34 height, the pool's tag,
 *   the extranonce space; payout, treasury and witness commitment outputs,
 *   docs/coinbase.md) and a merkle branch of the template's txids. The job
 *   version has the version-rolling bits cleared (STRATUM-NOTES).
 * - Block changes: ZMQ `hashblock` when configured, long polling
 *   (`longpollid`) when enabled, and a `getbestblockhash` poll as the
 *   backup of both; plus a refresh every `refresh_s` for new transactions.
 *   Template fetches are single-flight: overlapping triggers coalesce.
 * - Blocks: written durably to the found-block store first, then submitted
 *   to every node at once, retried on transport failures until a node
 *   answers, the chain moves past the block, or the retry time runs out
 *   (the block stays `submitting` and is sent again at the next start).
 *   Accepted blocks are followed to maturity (100 confirmations) or orphaning.
 * - Failures are values and log lines, never a crash: an unreachable,
 *   warming-up or wrong-network node leaves the source unhealthy, with the
 *   reason, and it retries with backoff.
 */
import type { Logger } from '../log.js'
import { abortableSleep } from '../abortable-sleep.js'
import type { BitcoindClient } from '../bitcoind/client.js'
import type { BlockTemplate } from '../bitcoind/answers.js'
import { templateRules, type Network } from '../bitcoind/network.js'
import { BitcoindError } from '../errors.js'
import { assembleBlock, templateMerkleBranch, templateTransactionData } from './block-assembly.js'
import { buildCoinbase, payoutOutputs, type TxOutput } from './coinbase.js'
import type { FoundBlockStore } from './found-blocks.js'
import type { JobSource, SourceHealth, WorkListener } from './job-source.js'
import type { Sha256d } from './merkle.js'
import type { BlockCandidate, BlockSubmitResult, Work } from './work.js'

/** Blocks need this many confirmations to mature (coinbase maturity). */
export const COINBASE_MATURITY = 100

export interface TemplateSourceOptions {
  readonly name: string
  readonly network: Network
  /** The first serves templates; every node gets found blocks. */
  readonly nodes: readonly BitcoindClient[]
  readonly payoutScript: Buffer
  readonly treasury?: { readonly script: Buffer; readonly basisPoints: number } | undefined
  readonly tag: string
  /** extranonce1 + extranonce2 bytes (the server's sizes). */
  readonly extranonceSize: number
  /** The pool's version-rolling mask: these bits are cleared in job versions. */
  readonly versionMask: number
  readonly refreshMs: number
  readonly pollMs: number
  readonly longpoll: boolean
  readonly zmqHashblock?: string | undefined
  readonly blocks: FoundBlockStore
  readonly sha256d: Sha256d
  readonly log: Logger
  readonly clock?: () => number
  /** How long a long poll may hang before it is renewed (ms). */
  readonly longpollTimeoutMs?: number
  /** How long a found block is retried on transport failures (ms). */
  readonly submitRetryMs?: number
  /** How often accepted blocks are checked for confirmations (ms). */
  readonly confirmationsEveryMs?: number
}

/** What the source attaches to each piece of work, to build the block later. */
interface TemplateRef {
  readonly template: BlockTemplate
  readonly witness: boolean
}


const MIN_BACKOFF_MS = 250
/** The longest `stop()` waits for block submissions in flight. */
const STOP_WAIT_MS = 15_000
const MAX_BACKOFF_MS = 5000

export class TemplateSource implements JobSource {
  readonly name: string
  private readonly listeners = new Set<WorkListener>()
  private readonly log: Logger
  private readonly clock: () => number
  private latest: Work | undefined
  private longpollId: string | undefined
  private running = false
  private readonly abort = new AbortController()
  private readonly timers: NodeJS.Timeout[] = []
  private fetching: Promise<void> | undefined
  private fetchAgain = false
  private lastError: string | undefined
  private lastTemplateAt: number | undefined
  private zmq: { close(): void } | undefined
  private readonly inFlight = new Set<Promise<unknown>>()
  private polling = false

  constructor(private readonly options: TemplateSourceOptions) {
    this.name = options.name
    this.log = options.log.child({ component: 'source', source: options.name })
    this.clock = options.clock ?? Date.now
  }

  private get primary(): BitcoindClient {
    const node = this.options.nodes[0]
    if (node === undefined) throw new RangeError(`source ${this.name} has no bitcoind node`)
    return node
  }

  health(): SourceHealth {
    return {
      healthy: this.lastError === undefined && this.latest !== undefined,
      lastError: this.lastError,
      lastTemplateAt: this.lastTemplateAt,
      height: this.latest?.height,
    }
  }

  onWork(listener: WorkListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  current(): Work | undefined {
    return this.latest
  }

  /** Starts fetching in the background; resolves at once. */
  async start(): Promise<void> {
    if (this.running) return
    this.running = true
    this.timers.push(setInterval(() => void this.refresh('refresh'), this.options.refreshMs))
    this.timers.push(setInterval(() => void this.pollBestBlock(), this.options.pollMs))
    this.timers.push(setInterval(() => void this.checkConfirmations(), this.options.confirmationsEveryMs ?? 60_000))
    for (const t of this.timers) t.unref()
    void this.refresh('start')
    if (this.options.longpoll) void this.longpollLoop()
    if (this.options.zmqHashblock !== undefined && this.options.zmqHashblock !== '') void this.zmqLoop(this.options.zmqHashblock)
    // Blocks found before a crash or during an outage: send them again.
    for (const block of this.options.blocks.pending()) {
      this.log.warn({ hash: block.hash, height: block.height }, 'resubmitting a found block left unanswered')
      void this.track(this.submitHex(block.hash, block.height, block.hex))
    }
  }

  async stop(): Promise<void> {
    // Blocks being submitted finish first (bounded): a block found just
    // before a shutdown still reaches bitcoind and the disk.
    if (this.inFlight.size > 0) {
      this.log.info({ blocks: this.inFlight.size }, 'waiting for block submissions before stopping')
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())])
    }
    this.running = false
    this.abort.abort(new Error('source stopped'))
    for (const t of this.timers) clearInterval(t)
    this.timers.length = 0
    this.zmq?.close()
    // Closing the clients ends calls in flight (a hung getblocktemplate
    // would otherwise hold the stop for a whole RPC timeout).
    await Promise.all(this.options.nodes.map((n) => n.close()))
    await this.fetching?.catch(() => {})
  }

  /** Fetches a template now; concurrent triggers share one fetch (and one more after it). */
  refresh(reason: string): Promise<void> {
    if (!this.running) return Promise.resolve()
    if (this.fetching !== undefined) {
      this.fetchAgain = true
      return this.fetching
    }
    this.fetching = (async () => {
      try {
        do {
          this.fetchAgain = false
          await this.fetchTemplate(reason)
        } while (this.fetchAgain && this.running)
      } finally {
        this.fetching = undefined
      }
    })()
    return this.fetching
  }

  private async fetchTemplate(reason: string): Promise<void> {
    try {
      const template = await this.primary.getBlockTemplate(templateRules(this.options.network), undefined, undefined)
      this.onTemplate(template, reason)
    } catch (err) {
      if (this.running) this.failed(err, 'getblocktemplate')
    }
  }

  private async longpollLoop(): Promise<void> {
    let backoff = MIN_BACKOFF_MS
    while (this.running) {
      const id = this.longpollId
      if (id === undefined) {
        await this.sleep(backoff)
        continue
      }
      try {
        const template = await this.primary.getBlockTemplate(templateRules(this.options.network), id, this.options.longpollTimeoutMs ?? 120_000)
        if (!this.running) return
        this.onTemplate(template, 'longpoll')
        backoff = MIN_BACKOFF_MS
      } catch (err) {
        if (!this.running) return
        // A long poll that simply ran out of time is renewed at once.
        if (err instanceof BitcoindError && err.code === 'HF_BITCOIND_TIMEOUT') continue
        this.failed(err, 'long poll')
        await this.sleep(backoff)
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2)
      }
    }
  }

  private async pollBestBlock(): Promise<void> {
    if (!this.running || this.fetching !== undefined || this.polling) return
    this.polling = true
    try {
      const best = await this.primary.getBestBlockHash({ retries: 0 })
      const current = this.latest === undefined ? undefined : Buffer.from(this.latest.prevHash).reverse().toString('hex')
      if (best !== current) await this.refresh(current === undefined ? 'poll (no work yet)' : 'new block (poll)')
      // bitcoind answers again after a failure: a fresh template now, so the
      // source is healthy again at once, not at the next periodic refresh
      // (found by test/faults/bitcoind-faults.test.ts).
      else if (this.lastError !== undefined) await this.refresh('recovered (poll)')
    } catch (err) {
      if (this.running) this.failed(err, 'getbestblockhash')
    } finally {
      this.polling = false
    }
  }

  private async zmqLoop(address: string): Promise<void> {
    try {
      const { Subscriber } = await import('zeromq')
      const socket = new Subscriber()
      this.zmq = socket
      socket.connect(address)
      socket.subscribe('hashblock')
      this.log.info({ address }, 'listening for ZMQ hashblock')
      for await (const [topic] of socket) {
        if (!this.running) break
        if (topic?.toString() === 'hashblock') await this.refresh('new block (zmq)')
      }
    } catch (err) {
      if (this.running) this.log.error({ err, address }, 'ZMQ hashblock subscription failed; long polling and the poll continue')
    }
  }

  /** A template becomes work for the miners. */
  private onTemplate(template: BlockTemplate, reason: string): void {
    if (!this.running) return
    const o = this.options
    // A slow answer from before a block change must not take the miners back
    // to the old tip (a refresh racing the long poll).
    if (this.latest?.height !== undefined && template.height < this.latest.height) {
      this.log.debug({ height: template.height, current: this.latest.height, reason }, 'older template ignored')
      return
    }
    const prevHash = Buffer.from(template.previousblockhash, 'hex').reverse()
    const clean = this.latest === undefined || !this.latest.prevHash.equals(prevHash)
    const witnessCommitment = template.default_witness_commitment === undefined ? undefined : Buffer.from(template.default_witness_commitment, 'hex')
    let outputs: TxOutput[]
    let coinb1: Buffer
    let coinb2: Buffer
    try {
      outputs = payoutOutputs(template.coinbasevalue, o.payoutScript, o.treasury)
      ;({ coinb1, coinb2 } = buildCoinbase({
        height: template.height,
        tag: o.tag,
        extranonceSize: o.extranonceSize,
        outputs,
        coinbaseValue: template.coinbasevalue,
        witnessCommitment,
      }))
    } catch (err) {
      this.failed(err, 'coinbase')
      return
    }
    const work: Work = {
      source: this.name,
      prevHash,
      coinb1,
      coinb2,
      extranonceSize: o.extranonceSize,
      merkleBranch: templateMerkleBranch(template.transactions, o.sha256d),
      version: (template.version & ~o.versionMask) >>> 0,
      nbits: Number.parseInt(template.bits, 16),
      ntime: template.curtime,
      height: template.height,
      cleanJobs: clean,
      // The transactions' bytes are decoded only when a block is found: off
      // the path from a new block to the miners' clean job.
      sourceRef: { template, witness: witnessCommitment !== undefined } satisfies TemplateRef,
    }
    this.longpollId = template.longpollid
    this.latest = work
    this.lastTemplateAt = this.clock()
    if (this.lastError !== undefined) this.log.info({ previousError: this.lastError }, 'bitcoind source healthy again')
    this.lastError = undefined
    this.log.info({ height: template.height, txs: template.transactions.length, clean, reason }, clean ? 'new block template' : 'template refreshed')
    for (const listener of this.listeners) listener(work)
  }

  /** Records a failure: unhealthy, with the reason logged once per distinct message. */
  private failed(err: unknown, during: string): void {
    const message = err instanceof Error ? err.message : String(err)
    if (message !== this.lastError) this.log.error({ err, during }, `bitcoind source: ${message}`)
    this.lastError = message
  }

  async submitBlock(candidate: BlockCandidate): Promise<BlockSubmitResult> {
    const ref = candidate.work.sourceRef as TemplateRef | undefined
    if (ref === undefined || candidate.work.source !== this.name) return { accepted: false, reason: 'work not from this source' }
    const block = assembleBlock(candidate.header, candidate.coinbase, ref.witness, templateTransactionData(ref.template.transactions))
    const hash = Buffer.from(candidate.hash).reverse().toString('hex')
    const height = ref.template.height
    const hex = block.toString('hex')
    // The disk write and the submission start together: bitcoind hears of
    // the block without waiting for an fsync; the result is recorded once
    // the block is on disk.
    const stored = this.options.blocks
      .add({ hash, height, hex, account: candidate.account, worker: candidate.worker, foundAt: this.clock(), source: this.name, reward: ref.template.coinbasevalue.toString() }, this.clock())
      .then(
        () => true,
        (err: unknown) => {
          this.log.fatal({ err, hash, height, hex }, 'found block could not be written to disk; it is being submitted anyway')
          return false
        },
      )
    return this.track(this.submitHex(hash, height, hex, stored))
  }

  /** Keeps a submission in flight visible to `stop()`. */
  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise)
    void promise.finally(() => this.inFlight.delete(promise))
    return promise
  }

  /** Submits to every node at once; retries transport failures. `stored` resolves once the block is on disk. */
  private async submitHex(hash: string, height: number, hex: string, stored: Promise<boolean> = Promise.resolve(true)): Promise<BlockSubmitResult> {
    const answers = await Promise.all(this.options.nodes.map((node) => this.submitTo(node, hash, height, hex)))
    const answered = answers.filter((a): a is string | null => a !== undefined)
    const accepted = answered.find((a) => a === null || a === 'duplicate' || a === 'inconclusive')
    let result: BlockSubmitResult
    if (accepted !== undefined) result = { accepted: true }
    else if (answered.length > 0) result = { accepted: false, reason: answered[0] as string }
    else result = { accepted: false, reason: 'no node answered' }
    const level = result.accepted ? 'info' : 'error'
    this.log[level]({ hash, height, answers }, result.accepted ? `block ${height} accepted by bitcoind` : `block ${height} NOT accepted: ${result.accepted ? '' : result.reason}`)
    if (answered.length > 0 && (await stored) && this.options.blocks.get(hash) !== undefined) {
      try {
        await this.options.blocks.update(hash, { status: result.accepted ? 'accepted' : 'rejected', result: accepted !== undefined ? accepted : (answered[0] ?? null) }, this.clock())
      } catch (err) {
        this.log.error({ err, hash }, 'could not record the block result')
      }
    }
    if (result.accepted) void this.refresh('block found')
    return result
  }

  /** One node's answer (null = accepted, else a reason); undefined when it never answered. */
  private async submitTo(node: BitcoindClient, hash: string, height: number, hex: string): Promise<string | null | undefined> {
    const deadline = this.clock() + (this.options.submitRetryMs ?? 600_000)
    let backoff = MIN_BACKOFF_MS
    for (;;) {
      try {
        return await node.submitBlock(hex)
      } catch (err) {
        const superseded = this.latest?.height !== undefined && this.latest.height > height + 1
        this.log.error({ err, hash, node: node.url }, `submitblock failed: ${(err as Error).message}`)
        if (!(err instanceof BitcoindError) || !(err.transport || err.retryable) || superseded || this.clock() >= deadline || !this.running) return undefined
        await this.sleep(backoff)
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2)
      }
    }
  }

  /** Follows accepted blocks to maturity or orphaning. */
  async checkConfirmations(): Promise<void> {
    for (const block of this.options.blocks.list()) {
      if (block.status !== 'accepted') continue
      try {
        const header = await this.primary.getBlockHeader(block.hash, { retries: 0 })
        const status = header.confirmations < 0 ? 'orphaned' : header.confirmations >= COINBASE_MATURITY ? 'confirmed' : undefined
        if (status !== undefined || header.confirmations !== block.confirmations) {
          await this.options.blocks.update(block.hash, { confirmations: header.confirmations, ...(status === undefined ? {} : { status }) }, this.clock())
          if (status !== undefined) this.log.info({ hash: block.hash, height: block.height, confirmations: header.confirmations }, `block ${status}`)
        }
      } catch (err) {
        // Not a health problem of the work source (e.g. a block only another node has).
        if (this.running) this.log.warn({ err, hash: block.hash }, `confirmations of block ${block.height} unknown: ${(err as Error).message}`)
      }
    }
  }

  /** Waits `ms`, or less if the source stops. */
  private sleep(ms: number): Promise<void> {
    return abortableSleep(ms, this.abort.signal)
  }

}
