/**
 * The Stratum server: TCP (and TLS) listeners, one `Session` per
 * connection, the job book, the share check, and the fan-out of new work.
 *
 * It implements `SessionHost`: sessions call back here for everything that
 * is shared (extranonce1 values, authorization policy, jobs, the share
 * check and recording, limits). One interval drives every session's
 * timeouts and vardiff, so a session costs no timer of its own.
 */
import { EventEmitter } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { StratumConfig } from '../config/index.js'
import { ListenError } from '../errors.js'
import type { Logger } from '../log.js'
import { JobBook, type Job } from '../jobs/job-book.js'
import type { ForwardedShare, JobSource, UpstreamShareResult } from '../jobs/job-source.js'
import type { BlockCandidate, BlockSubmitResult, Work } from '../jobs/work.js'
import type { UpstreamResult } from '../ledger/event-tallies.js'
import type { Hasher } from '../shares/hasher.js'
import { ShareValidator, blockCandidate, type ShareOutcome } from '../shares/validator.js'
import { encodeNotify, encodeReconnect, type RejectReason, type SubmitRequest } from '../stratum/index.js'
import { AccessControl, normalizeAddress, type RefusalReason } from './access-control.js'
import type { DifficultyControl } from './difficulty-control.js'
import { ExtranonceAllocator } from './extranonce-allocator.js'
import { DEFAULT_FANOUT_THREADS, FanoutBatch, selectFanoutWriter, type WriteToMany } from './fanout.js'
import { Session, type CloseReason } from './session.js'
import type { AcceptedOutcome, SessionHost } from './session-host.js'
import { SubmitLimiter } from './submit-limits.js'
import type { WorkerName } from './worker-name.js'
import { DEFAULT_WORK_PACING, WorkPacer, type WorkPacing } from './work-pacer.js'

/** An accepted share, as the ledger records it. */
export interface ShareRecord {
  /** ms since the epoch. */
  readonly time: number
  readonly account: string
  readonly worker: string
  /** The difficulty credited. */
  readonly difficulty: number
  readonly jobId: string
  readonly height: number | undefined
  readonly block: boolean
  readonly session: number
  readonly source: string
}

/** Where accepted shares go (the ledger). A share is answered "accepted" only once `record` resolves. */
export interface ShareSink {
  record(share: ShareRecord): Promise<void>
  /** `record` with a callback, used when present (the ledger has it): told `undefined` once recorded, else the error; never called synchronously. */
  recordWith?(share: ShareRecord, done: (err: Error | undefined) => void): void
  /** Proxy mode: the upstream's answer for a forwarded share (tallied per account and worker; fire and forget). */
  recordUpstream?(result: UpstreamShareRecord): void
  /** A share rejected from an authorized worker (tallied for the reports' rejected/stale columns; fire and forget). */
  recordReject?(reject: { readonly time: number; readonly account: string; readonly worker: string; readonly reason: RejectReason }): void
}

/** A forwarded share's upstream answer, as the ledger tallies it. */
export type UpstreamShareRecord = UpstreamResult

export interface StratumServerOptions {
  readonly config: StratumConfig
  readonly hasher: Hasher
  readonly log: Logger
  /** A difficulty controller for a new session (vardiff or fixed). */
  readonly difficulty: (now: number) => DifficultyControl
  readonly shareSink?: ShareSink
  /** ms clock; tests move it. */
  readonly clock?: () => number
  /** Tick period for timeouts and vardiff (ms). */
  readonly tickMs?: number
  /** Jobs remembered for late shares. */
  readonly jobMemory?: number
  /**
   * The new-work fan-out's batched native write (fanout.ts). Default: the
   * addon's `writeToMany` when it has one, with DEFAULT_FANOUT_THREADS
   * threads; `false`: one `socket.write` per session (the miners see the
   * same bytes either way). Tests inject a writer.
   */
  readonly fanout?: false | { readonly writer?: WriteToMany; readonly threads?: number }
  /** How fast the source's work goes out to the miners (work-pacer.ts); default DEFAULT_WORK_PACING. */
  readonly workPacing?: WorkPacing
}

/** Per-worker numbers for stats. */
export interface WorkerStats {
  readonly account: string
  readonly worker: string
  sessions: number
  accepted: number
  acceptedDifficulty: number
  rejected: Partial<Record<RejectReason, number>>
  lastShareAt: number
  blocks: number
  /** Proxy mode: forwarded shares the upstream accepted, and their upstream difficulty. */
  upstreamAccepted: number
  upstreamAcceptedDifficulty: number
  /** Proxy mode: forwarded shares the upstream rejected, by its reason (at most 16 reasons, then "other"). */
  upstreamRejected: Record<string, number>
}

/** Distinct upstream reject reasons kept per worker; more are counted as "other". */
const MAX_UPSTREAM_REASONS = 16

/**
 * A worker's reject tallies until its first reject: one shared empty object
 * (frozen, so a write that forgot to take its own copy throws instead of
 * counting for every worker). Most workers never have a reject, and objects
 * of their own cost ~56 bytes (`rejected`) and ~230 bytes (`upstreamRejected`:
 * a null-prototype object is a dictionary) per worker (docs/benchmarks.md, sessions).
 */
const NO_REJECTS: Partial<Record<RejectReason, number>> = Object.freeze({})
const NO_UPSTREAM_REJECTS: Record<string, number> = Object.freeze(Object.create(null) as Record<string, number>)

export interface ServerCounters {
  connections: number
  refused: Partial<Record<RefusalReason, number>>
  closed: Partial<Record<CloseReason, number>>
  accepted: number
  acceptedDifficulty: number
  rejected: Partial<Record<RejectReason, number>>
  garbageLines: number
  blocksFound: number
  blocksAccepted: number
  blocksRejected: number
  bans: number
  /** Valid shares that could not be recorded (ledger write failed, or its queue stuck): answered with an error, never "accepted". */
  unrecorded: number
  /** New work from the source held back by the pacing (work-pacer.ts) before it was sent, and work never sent (replaced while held). */
  workDelayed: number
  workSkipped: number
}

/** A refusal is logged at most once per address and reason per minute. */
const REFUSAL_LOG_INTERVAL_MS = 60_000
/** Idle worker stats are forgotten after a day. */
const WORKER_STATS_TTL_MS = 86_400_000

export class StratumServer extends EventEmitter implements SessionHost {
  /** Replaced on `reload` (only `auth` and `limits` change live). */
  config: StratumConfig
  limits: StratumConfig['limits']
  readonly log: Logger
  readonly book: JobBook
  readonly sessions = new Set<Session>()
  readonly workers = new Map<string, WorkerStats>()
  readonly access: AccessControl
  readonly counters: ServerCounters = {
    connections: 0,
    refused: {},
    closed: {},
    accepted: 0,
    acceptedDifficulty: 0,
    rejected: {},
    garbageLines: 0,
    blocksFound: 0,
    blocksAccepted: 0,
    blocksRejected: 0,
    bans: 0,
    unrecorded: 0,
    workDelayed: 0,
    workSkipped: 0,
  }

  private readonly hasher: Hasher
  private readonly validator: ShareValidator
  private readonly allocator: ExtranonceAllocator
  private readonly clock: () => number
  private readonly makeDifficulty: (now: number) => DifficultyControl
  private readonly sink: ShareSink | undefined
  /** Submit limiters of the sessions that have submitted (see `submitRate`). */
  private readonly limiters = new Map<Session, SubmitLimiter>()
  private readonly refusalLogged = new Map<string, number>()
  private readonly notifyLines = new WeakMap<Job, { asIs?: string; clean?: string }>()
  private readonly servers: (Server | TlsServer)[] = []
  private source: JobSource | undefined
  /** Every source ever attached, by name: a block goes back to the one that made its work. */
  private readonly sources = new Map<string, JobSource>()
  /** Raw sockets of the TLS listener, until they close (cut on shutdown, handshake or not). */
  private readonly handshaking = new Set<Socket>()
  private unsubscribe: (() => void) | undefined
  /** Sessions waiting for their staggered `client.reconnect` (see `requestReconnect`). */
  private readonly reconnects = new Map<Session, NodeJS.Timeout>()
  private reconnectSlot = 0
  private ticker: NodeJS.Timeout | undefined
  private nextSessionId = 1
  private lastHousekeeping = 0
  /** Shares handed to the sink and not yet answered; `drain` waits for them. */
  private inflight = 0
  private onIdle: (() => void) | undefined
  /** The batched fan-out write; undefined: socket.write per session. */
  private readonly fanout: FanoutBatch | undefined
  /** The source's work on its way to `pushWork`, at a pace the miners can use. */
  private readonly pacer: WorkPacer
  private pacingLoggedAt = Number.NEGATIVE_INFINITY

  constructor(private readonly options: StratumServerOptions) {
    super()
    this.config = options.config
    this.limits = options.config.limits
    this.log = options.log.child({ component: 'stratum' })
    this.hasher = options.hasher
    this.clock = options.clock ?? Date.now
    this.book = new JobBook(options.jobMemory ?? 64)
    this.validator = new ShareValidator(this.hasher, this.book)
    this.allocator = new ExtranonceAllocator(options.config.extranonce1_size)
    this.access = new AccessControl(options.config.limits)
    this.makeDifficulty = options.difficulty
    const pacing = options.workPacing ?? DEFAULT_WORK_PACING
    this.pacer = new WorkPacer(pacing, this.counters, (work) => this.sendWork(work), (work) => this.logPacing(work, pacing))
    this.sink = options.shareSink
    const fanout = options.fanout === false ? undefined : (options.fanout ?? {})
    const chosen = fanout === undefined ? { writer: undefined, reason: 'off (fanout: false)' } : fanout.writer !== undefined ? { writer: fanout.writer, reason: 'injected' } : selectFanoutWriter()
    if (chosen.writer !== undefined) this.fanout = new FanoutBatch(chosen.writer, fanout?.threads ?? DEFAULT_FANOUT_THREADS)
    this.log.info({ fanout: chosen.reason, threads: this.fanout?.threads }, 'fan-out writer')
  }

  now(): number {
    return this.clock()
  }

  newDifficulty(now: number): DifficultyControl {
    return this.makeDifficulty(now)
  }

  /** Starts the listeners; resolves with the ports bound (useful with port 0). */
  async listen(): Promise<{ port: number; tlsPort: number | undefined }> {
    const plain = createServer({ noDelay: true }, (socket) => this.accept(socket, false))
    const port = await this.bind(plain, this.config.port, 'stratum')
    let tlsPort: number | undefined
    if (this.config.tls.port !== 0) {
      let cert: Buffer
      let key: Buffer
      try {
        cert = readFileSync(this.config.tls.cert)
        key = readFileSync(this.config.tls.key)
      } catch (err) {
        await this.close()
        throw new ListenError('HF_STRATUM_TLS', `cannot read the TLS certificate or key: ${(err as Error).message}`, { cause: err })
      }
      let secure: TlsServer
      try {
        // A slow or silent TLS client is dropped after 10 s, not Node's default 120 s.
        secure = createTlsServer({ cert, key, handshakeTimeout: 10_000 }, (socket) => this.accept(socket, true))
      } catch (err) {
        await this.close()
        throw new ListenError('HF_STRATUM_TLS', `the TLS certificate or key is not usable: ${(err as Error).message}`, { cause: err })
      }
      // A failed handshake is the client's problem, never the process's.
      secure.on('tlsClientError', (err) => this.log.debug({ err }, 'TLS handshake failed'))
      // Refuse banned, not-allowed and over-limit addresses before spending a handshake on them.
      secure.on('connection', (raw: Socket) => {
        const address = normalizeAddress(raw.remoteAddress)
        const refusal = this.access.check(address, this.now())
        if (refusal !== undefined) {
          this.counters.refused[refusal] = (this.counters.refused[refusal] ?? 0) + 1
          this.logRefusal(address, refusal, this.now())
          raw.destroy()
          return
        }
        // Tracked until it closes, so shutdown can cut handshakes still running.
        this.handshaking.add(raw)
        raw.once('close', () => this.handshaking.delete(raw))
      })
      tlsPort = await this.bind(secure, this.config.tls.port, 'stratum+ssl')
    }
    this.ticker = setInterval(() => this.tick(), this.options.tickMs ?? 1000)
    this.ticker.unref()
    return { port, tlsPort }
  }

  private bind(server: Server | TlsServer, port: number, what: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        // Release whatever already listens: a pool that failed to start must not hold a port.
        void this.close().finally(() =>
          reject(new ListenError('HF_STRATUM_LISTEN', `${what} cannot listen on ${this.config.host}:${port}: ${err.message}`, { cause: err })),
        )
      }
      server.once('error', onError)
      server.listen({ host: this.config.host, port, backlog: 4096 }, () => {
        server.off('error', onError)
        server.on('error', (err) => this.log.error({ err }, `${what} listener error`))
        this.servers.push(server)
        const bound = (server.address() as AddressInfo).port
        this.log.info({ host: this.config.host, port: bound }, `${what} listening`)
        resolve(bound)
      })
    })
  }

  /** Takes work from a source from now on (replacing any earlier one). */
  attachSource(source: JobSource): void {
    this.unsubscribe?.()
    this.pacer.clear()
    this.source = source
    this.sources.set(source.name, source)
    this.unsubscribe = source.onWork((work) => this.pacer.offer(work))
    const current = source.current()
    if (current !== undefined) this.pacer.sendNow(current)
  }

  /** The pacer's send: also from its timer, where nothing above would catch a throw (a source's own listener call logs it). */
  private sendWork(work: Work): void {
    try {
      this.pushWork(work)
    } catch (err) {
      this.log.error({ err, source: work.source }, 'new work could not be sent to the miners')
    }
  }

  /** Work is coming faster than the pacing allows: a warning at most once a minute. */
  private logPacing(work: Work, pacing: WorkPacing): void {
    const now = performance.now()
    if (now - this.pacingLoggedAt < 60_000) return
    this.pacingLoggedAt = now
    this.log.warn(
      { source: work.source, burst: pacing.burst, intervalMs: pacing.intervalMs, delayed: this.counters.workDelayed, skipped: this.counters.workSkipped },
      `new work from ${work.source} comes faster than ${pacing.burst} at once and then 1 per ${pacing.intervalMs} ms: the miners get the latest at that pace`,
    )
  }

  /** New work: a job for the book and a `mining.notify` to every authorized session. */
  pushWork(work: Work): Job {
    const job = this.book.add(work, this.now())
    const line = this.notifyLine(job)
    const started = performance.now()
    let sent = 0
    // Sessions that can take the line straight away join one native batched write (fanout.ts), sent after the loop.
    const batch = this.fanout?.begin(line)
    try {
      for (const session of this.sessions) {
        if (session.state === 'authorized') {
          session.sendJob(job, line, batch)
          sent++
        }
      }
    } finally {
      batch?.flush()
    }
    // Time to hand the notify to every authorized session (the fan-out histogram).
    const fanoutMs = performance.now() - started
    this.log.debug({ job: job.id, height: work.height, clean: work.cleanJobs, sessions: sent, fanoutMs }, 'new job')
    this.emit('job', job, sent, fanoutMs)
    return job
  }

  currentJob(): Job | undefined {
    return this.book.current()
  }

  notifyLine(job: Job, clean = false): string {
    let lines = this.notifyLines.get(job)
    if (lines === undefined) this.notifyLines.set(job, (lines = {}))
    const cleanJobs = clean || job.work.cleanJobs
    if (cleanJobs) return (lines.clean ??= encodeNotify({ ...job.notify, jobId: job.id, cleanJobs: true }))
    return (lines.asIs ??= encodeNotify({ ...job.notify, jobId: job.id, cleanJobs: false }))
  }

  private accept(socket: Socket, tls: boolean): void {
    const address = normalizeAddress(socket.remoteAddress)
    const now = this.now()
    const refusal = this.access.admit(address, now)
    if (refusal !== undefined) {
      this.counters.refused[refusal] = (this.counters.refused[refusal] ?? 0) + 1
      this.logRefusal(address, refusal, now)
      socket.on('error', () => {})
      socket.destroy()
      return
    }
    this.counters.connections++
    const session = new Session(this, socket, this.nextSessionId++, address, this.makeDifficulty(now), now)
    this.sessions.add(session)
    if (session.debugging) session.log.debug({ tls }, 'connected')
  }

  private logRefusal(address: string, reason: RefusalReason, now: number): void {
    const key = `${address} ${reason}`
    const last = this.refusalLogged.get(key)
    if (last !== undefined && now - last < REFUSAL_LOG_INTERVAL_MS) return
    this.refusalLogged.set(key, now)
    this.log.warn({ address, reason }, `connection refused: ${reason}`)
  }

  allocateExtranonce1(sessionId: string | undefined): Buffer | undefined {
    return this.allocator.allocate(sessionId)
  }

  authorize(name: WorkerName, password: string): string | undefined {
    const auth = this.config.auth
    if (auth.mode === 'allowlist' && !auth.accounts.includes(name.account)) return `account ${name.account} is not allowed on this pool`
    if (auth.mode === 'password' && password !== auth.password) return 'wrong password'
    return undefined
  }

  workerAuthorized(_session: Session, name: WorkerName): void {
    const stats = this.workerStats(name)
    stats.sessions++
  }

  private workerStats(name: WorkerName): WorkerStats {
    let stats = this.workers.get(name.full)
    if (stats === undefined) {
      stats = {
        account: name.account,
        worker: name.worker,
        sessions: 0,
        accepted: 0,
        acceptedDifficulty: 0,
        rejected: NO_REJECTS,
        lastShareAt: 0,
        blocks: 0,
        upstreamAccepted: 0,
        upstreamAcceptedDifficulty: 0,
        upstreamRejected: NO_UPSTREAM_REJECTS,
      }
      this.workers.set(name.full, stats)
    }
    return stats
  }

  checkShare(share: SubmitRequest, session: Session, now: number): ShareOutcome {
    const outcome = this.validator.check(share, session, Math.floor(now / 1000))
    if (outcome.block !== undefined) {
      // Hand the block over at once, before the share is recorded or answered
      // (a stale share that meets the network target included).
      const name = session.worker(share.worker)
      this.submitBlock(blockCandidate(outcome.block, name?.account ?? '', name?.worker ?? ''))
    }
    return outcome
  }

  /** The share was accepted but could not be recorded: forget it, so the miner may send it again. */
  forgetShare(outcome: AcceptedOutcome): void {
    this.counters.unrecorded++
    this.validator.forget(outcome)
  }

  private submitBlock(candidate: BlockCandidate): void {
    this.counters.blocksFound++
    const hash = Buffer.from(candidate.hash).reverse().toString('hex')
    this.log.info({ hash, height: candidate.work.height, account: candidate.account, worker: candidate.worker }, 'block found')
    const done = (result: BlockSubmitResult): void => {
      if (result.accepted) this.counters.blocksAccepted++
      else this.counters.blocksRejected++
      this.log[result.accepted ? 'info' : 'error']({ hash, result }, result.accepted ? 'block accepted' : 'block rejected')
      this.safeEmit('block', candidate, result)
    }
    // The block goes back to the source that made its work, even after a switch.
    const source = this.sources.get(candidate.work.source) ?? this.source
    if (source === undefined) return done({ accepted: false, reason: 'no job source attached' })
    source.submitBlock(candidate).then(done, (err: unknown) => done({ accepted: false, reason: `submit failed: ${String(err)}` }))
  }

  /**
   * Records an accepted share; `done(undefined)` once the share sink has it
   * (the session answers "accepted" then), `done(error)` if it could not be
   * recorded. The sink's callback form when it has one (the ledger): one
   * closure per share, no promise chain; this runs for every accepted share.
   */
  recordShare(session: Session, name: WorkerName, share: SubmitRequest, outcome: AcceptedOutcome, now: number, done: (err: Error | undefined) => void): void {
    const record: ShareRecord = {
      time: now,
      account: name.account,
      worker: name.worker,
      difficulty: outcome.difficulty,
      jobId: share.jobId,
      height: outcome.job.work.height,
      block: outcome.block !== undefined,
      session: session.id,
      source: outcome.job.work.source,
    }
    const sink = this.sink
    this.inflight++
    const finish = (err: Error | undefined): void => {
      this.settled()
      if (err === undefined) {
        this.recorded(record, name, outcome)
        this.forwardShare(session, name, share, outcome)
      }
      done(err)
    }
    if (sink === undefined) return finish(undefined) // no ledger (tests, tools): recorded at once
    try {
      if (sink.recordWith !== undefined) return sink.recordWith(record, finish)
      sink.record(record).then(
        () => finish(undefined),
        (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
      )
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      queueMicrotask(() => finish(error))
    }
  }

  /**
   * One recording less in flight; `drain` waits for none. The session's
   * reply is filled right after (in `done`), before the `onIdle` microtask
   * runs; `drain` also lets a turn of the loop pass before it looks.
   */
  private settled(): void {
    if (--this.inflight === 0) queueMicrotask(() => this.onIdle?.())
  }

  /** Counts a share the sink has recorded. */
  private recorded(record: ShareRecord, name: WorkerName, outcome: AcceptedOutcome): void {
    this.counters.accepted++
    this.counters.acceptedDifficulty += outcome.difficulty
    const stats = this.workerStats(name)
    stats.accepted++
    stats.acceptedDifficulty += outcome.difficulty
    stats.lastShareAt = record.time
    if (outcome.block !== undefined) stats.blocks++
    this.safeEmit('share', record)
  }

  /**
   * Proxy mode: offers an accepted, recorded share to the source of its work
   * (which forwards it upstream when it meets the upstream difficulty). Called
   * once the share is recorded; the forwarding itself runs in a later turn of
   * the loop (setImmediate), after the miner's answer, and nothing waits for it.
   */
  private forwardShare(session: Session, name: WorkerName, share: SubmitRequest, outcome: AcceptedOutcome): void {
    const work = outcome.job.work
    // Pool mode: nothing to offer, no allocation, no extra turn of the loop.
    if (work.forwardShares !== true) return
    const source = this.sources.get(work.source) ?? this.source
    if (source?.forwardShare === undefined) return
    const forwarded: ForwardedShare = {
      work,
      extranonce1: session.extranonce1,
      extranonce2: share.extranonce2,
      ntime: share.ntime,
      nonce: share.nonce,
      versionBits: share.versionBits,
      hash: outcome.hash,
      account: name.account,
      worker: name.worker,
    }
    setImmediate(() => {
      let pending: Promise<UpstreamShareResult> | undefined
      try {
        pending = source.forwardShare?.(forwarded)
      } catch (err) {
        this.log.error({ err, source: source.name }, 'forwarding a share threw')
        return
      }
      pending?.then(
        (result) => this.upstreamAnswered(name, work.source, result),
        (err: unknown) => this.log.error({ err, source: source.name }, 'forwarding a share failed'),
      )
    })
  }

  /** The upstream's answer for a forwarded share: per-worker stats and the share sink. */
  private upstreamAnswered(name: WorkerName, source: string, result: UpstreamShareResult): void {
    const stats = this.workerStats(name)
    if (result.accepted) {
      stats.upstreamAccepted++
      stats.upstreamAcceptedDifficulty += result.difficulty
    } else {
      let reason = result.reason.slice(0, 64)
      if (!(reason in stats.upstreamRejected) && Object.keys(stats.upstreamRejected).length >= MAX_UPSTREAM_REASONS) reason = 'other'
      // No prototype: reject reasons are the upstream's text.
      if (stats.upstreamRejected === NO_UPSTREAM_REJECTS) stats.upstreamRejected = Object.create(null) as Record<string, number>
      stats.upstreamRejected[reason] = (stats.upstreamRejected[reason] ?? 0) + 1
    }
    try {
      this.sink?.recordUpstream?.({
        time: this.now(),
        account: name.account,
        worker: name.worker,
        difficulty: result.difficulty,
        accepted: result.accepted,
        ...(result.accepted ? {} : { reason: result.reason }),
        source,
      })
    } catch (err) {
      this.log.error({ err }, 'recording an upstream answer threw')
    }
    this.safeEmit('upstream', name, result)
  }

  /**
   * New work changed `session`'s extranonce2 size and it cannot take
   * `mining.set_extranonce`: `client.reconnect` to this pool, then close.
   * Sessions asked in one burst are spaced `reconnect_spread_ms / sessions`
   * apart (all of them within `stratum.reconnect_spread_ms` even if every
   * session is asked), so a farm does not reconnect in one millisecond.
   */
  requestReconnect(session: Session): void {
    if (session.closed || this.reconnects.has(session)) return
    if (this.reconnects.size === 0) this.reconnectSlot = 0
    const spread = this.config.reconnect_spread_ms
    const step = spread / Math.max(1, this.sessions.size)
    const delay = Math.min(spread, Math.round(this.reconnectSlot++ * step))
    const timer = setTimeout(() => {
      this.reconnects.delete(session)
      session.notify(encodeReconnect())
      session.closeAfterFlush('reconnect')
    }, delay)
    timer.unref()
    this.reconnects.set(session, timer)
  }

  /** Emits to listeners without letting a throwing listener disturb the share path. */
  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args)
    } catch (err) {
      this.log.error({ err, event }, 'a listener threw')
    }
  }

  shareRejected(_session: Session, reason: RejectReason, name?: WorkerName): void {
    this.counters.rejected[reason] = (this.counters.rejected[reason] ?? 0) + 1
    if (name === undefined) return
    this.sink?.recordReject?.({ time: this.clock(), account: name.account, worker: name.worker, reason })
    const stats = this.workers.get(name.full)
    if (stats === undefined) return
    if (stats.rejected === NO_REJECTS) stats.rejected = {}
    stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1
  }

  submitRate(session: Session, accepted: boolean, now: number): void {
    if (session.closed) return
    let limiter = this.limiters.get(session)
    if (limiter === undefined) {
      // Made at the first submit, with its window starting at the connection
      // as if made then: an idle session costs no limiter (~300 bytes with
      // its window, docs/benchmarks.md, sessions).
      limiter = new SubmitLimiter(this.limits, session.connectedAt)
      this.limiters.set(session, limiter)
    }
    const verdict = limiter.observe(accepted, now)
    if (verdict === 'ok') return
    if (verdict === 'too-fast') {
      const raised = session.vardiff.suggest(session.difficulty * 4, now)
      if (raised !== undefined) {
        session.log.warn({ difficulty: raised }, 'submitting too fast: difficulty raised')
        session.applyDifficulty(raised)
        return
      }
    }
    this.banSession(session, verdict, now)
  }

  private banSession(session: Session, why: string, now: number): void {
    if (this.access.ban(session.address, now)) {
      this.counters.bans++
      session.log.warn({ reason: why, seconds: this.limits.ban_seconds }, 'address banned')
    } else {
      session.log.warn({ reason: why }, 'trusted address over a limit: session closed, not banned')
    }
    session.close('banned')
  }

  countGarbage(): void {
    this.counters.garbageLines++
  }

  sessionClosed(session: Session, reason: CloseReason): void {
    if (!this.sessions.delete(session)) return
    this.limiters.delete(session)
    clearTimeout(this.reconnects.get(session))
    this.reconnects.delete(session)
    this.access.release(session.address)
    if (session.extranonce1.length > 0) this.allocator.release(session.extranonce1)
    for (const name of session.workers()) {
      const stats = this.workers.get(name.full)
      if (stats === undefined) continue
      stats.sessions--
      // A worker that never had a share accepted is forgotten with its last
      // session: otherwise an authorize flood with random names (16 per
      // connection, reconnecting) grows this table by thousands a second for
      // a day (test/server/floods.test.ts).
      if (stats.sessions <= 0 && stats.accepted === 0) this.workers.delete(name.full)
    }
    this.counters.closed[reason] = (this.counters.closed[reason] ?? 0) + 1
    if (session.debugging) session.log.debug({ reason, accepted: session.counters.accepted, rejected: session.counters.rejected }, 'disconnected')
  }

  /** Timeouts and vardiff for every session; housekeeping once a minute. */
  tick(): void {
    const now = this.now()
    const { auth_timeout_s, idle_timeout_s } = this.limits
    for (const session of this.sessions) {
      if (session.state !== 'authorized' && now - session.connectedAt >= auth_timeout_s * 1000) session.close('auth-timeout')
      else if (now - session.lastLineAt >= idle_timeout_s * 1000) session.close('idle-timeout')
      // No vardiff before the first job: a session waiting for work has no shares to judge.
      else if (session.state === 'authorized' && session.hasWork) session.applyDifficulty(session.vardiff.tick(now))
    }
    if (now - this.lastHousekeeping >= 60_000) {
      this.lastHousekeeping = now
      for (const [key, at] of this.refusalLogged) if (now - at >= REFUSAL_LOG_INTERVAL_MS) this.refusalLogged.delete(key)
      for (const [key, stats] of this.workers) {
        if (stats.sessions <= 0 && now - stats.lastShareAt >= WORKER_STATS_TTL_MS) this.workers.delete(key)
      }
    }
  }

  /** Disconnects every session of `worker` (admin). Returns how many. */
  kick(workerFull: string): number {
    let n = 0
    for (const session of this.sessions) {
      if (session.worker(workerFull) !== undefined) {
        session.close('kicked')
        n++
      }
    }
    return n
  }

  /** Sessions by state. */
  sessionStates(): Record<'connected' | 'subscribed' | 'authorized', number> {
    const out = { connected: 0, subscribed: 0, authorized: 0 }
    for (const s of this.sessions) out[s.state]++
    return out
  }

  /**
   * Applies a reloaded `[stratum]` section (SIGHUP): `auth` and `limits`
   * (address lists, connection limits, ban length, timeouts) take effect at
   * once for new connections and checks; bans and live counts are kept.
   * Submit-rate limits of sessions that have submitted keep their old values
   * (a session's limiter is made at its first submit). Returns the
   * changed keys that need a restart (listeners, sizes, masks, TLS), which
   * are NOT applied.
   */
  reload(next: StratumConfig): string[] {
    const restart: string[] = []
    for (const key of Object.keys(next) as (keyof StratumConfig)[]) {
      if (key === 'auth' || key === 'limits') continue
      if (JSON.stringify(next[key]) !== JSON.stringify(this.config[key])) restart.push(`stratum.${key}`)
    }
    this.access.reconfigure(next.limits)
    this.limits = next.limits
    this.config = { ...this.config, auth: next.auth, limits: next.limits }
    return restart
  }

  /**
   * A graceful stop (SIGTERM): stops accepting connections and reading
   * lines, waits (at most `limitMs`) until every share already being
   * recorded is answered, then closes each session after its replies are
   * flushed, and finally `close()`s.
   */
  async drain(limitMs = 5000): Promise<void> {
    for (const listener of this.servers) listener.close()
    for (const socket of this.handshaking) socket.destroy()
    for (const session of this.sessions) session.pauseInput()
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, limitMs)
        this.onIdle = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.onIdle = undefined
    }
    // Let the sessions write the replies their shares just earned.
    await new Promise((resolve) => setImmediate(resolve))
    for (const session of [...this.sessions]) session.closeAfterFlush('shutdown')
    await this.close()
  }

  /** Stops listening and closes every session. */
  async close(): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker)
    this.unsubscribe?.()
    this.pacer.clear()
    for (const timer of this.reconnects.values()) clearTimeout(timer)
    this.reconnects.clear()
    for (const session of this.sessions) session.close('shutdown')
    for (const socket of this.handshaking) socket.destroy()
    await Promise.all(this.servers.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))))
    this.servers.length = 0
  }
}
