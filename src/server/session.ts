/**
 * One miner's connection: connected → subscribed → authorized.
 *
 * Requests are handled one at a time, in arrival order, and synchronously:
 * state changes (subscribe, authorize, difficulty) take effect before the
 * next pipelined request is looked at (Bitaxe sends configure, subscribe and
 * authorize back to back). Only the *reply* to a submit may wait, for the
 * share sink (the ledger) to commit the share; every outgoing line goes
 * through one ordered queue, so replies and notifications reach the miner
 * in the order they were produced even then.
 *
 * The session owns no timers: the server's tick drives timeouts and
 * vardiff for every session at once.
 */
import type { Socket } from 'node:net'
import type { Logger } from '../log.js'
import {
  LineFramer,
  decodeRequest,
  encodeConfigureResult,
  encodeError,
  encodeNotify,
  encodeReject,
  encodeResult,
  encodeSetDifficulty,
  encodeSetExtranonce,
  encodeSetVersionMask,
  encodeSubscribeResult,
  looksLikeTlsHello,
  type ConfigureRequest,
  type JsonRpcId,
  type StratumRequest,
  type SubmitRequest,
} from '../stratum/index.js'
import { aliasId, MAX_JOB_ALIASES, type Job } from '../jobs/job-book.js'
import type { ShareContext } from '../shares/validator.js'
import { difficultyForTarget, leToBigInt } from '../shares/target.js'
import type { SessionHost } from './session-host.js'
import { parseWorkerName, type WorkerName } from './worker-name.js'
import { JobDifficulties } from './job-difficulties.js'
import { StringPool } from './string-pool.js'
import type { DifficultyControl } from './difficulty-control.js'
import type { FanoutBatch } from './fanout.js'

export type SessionState = 'connected' | 'subscribed' | 'authorized'

/** Why a session ended (logged, counted). */
export type CloseReason =
  | 'client-closed'
  | 'line-too-long'
  | 'tls-probe'
  | 'auth-timeout'
  | 'idle-timeout'
  | 'slow-reader'
  | 'garbage'
  | 'auth-failures'
  | 'banned'
  | 'server-full'
  | 'kicked'
  | 'shutdown'
  | 'backlog'
  | 'socket-error'
  | 'reconnect'

/** Most workers one connection may authorize (proxies authorize a few; floods many). */
const MAX_WORKERS_PER_SESSION = 16
/** Failed authorizations before the connection is closed. */
const MAX_AUTH_FAILURES = 8
/** Consecutive undecodable lines before the connection is closed. */
const MAX_GARBAGE_LINES = 16
/** Job ids whose sent difficulty a session remembers (the job book keeps 64 jobs). */
const JOB_DIFFICULTY_MEMORY = 128
/** Replies waiting for the share sink before the session is closed as stuck. */
const MAX_PENDING_REPLIES = 1024

/** User agents shared by the sessions that send the same one (a farm runs few firmware versions). */
const userAgents = new StringPool(1024)

/** Where a socket's shared listeners find their session. */
const SESSION = Symbol('headframe.session')
type SessionSocket = Socket & { [SESSION]: Session }

/** One queued outgoing line; `line` undefined while its reply waits for the share sink. */
interface Outgoing {
  line: string | undefined
}

export class Session implements ShareContext {
  readonly id: number
  readonly address: string
  readonly connectedAt: number
  #log: Logger | undefined

  extranonce1: Buffer = Buffer.alloc(0)
  extranonce2Size: number
  versionMask = 0
  userAgent = ''
  /** Miner asked for `mining.set_extranonce` (configure or extranonce.subscribe). */
  extranonceSubscribed = false
  /** The version mask last told the miner (configure reply or set_version_mask); see `sendJob`. */
  private sentVersionMask = 0
  lastLineAt: number
  lastShareAt = 0
  closed = false
  closeReason: CloseReason | undefined

  /**
   * The first worker authorized on this connection, nearly always the only
   * one; `#moreWorkers` holds them all once a second one is authorized
   * (proxies). A Map of its own costs a single-worker session ~180 bytes.
   */
  #worker: WorkerName | undefined
  #moreWorkers: Map<string, WorkerName> | undefined
  /** Vardiff or a fixed difficulty; restarted when the first job arrives (see `sendJob`). */
  vardiff: DifficultyControl
  /** The floor the miner asked for (suggest_difficulty, configure), re-applied on a restart. */
  private floor: number | undefined
  readonly counters = { accepted: 0, rejected: 0, acceptedDifficulty: 0, blocks: 0 }

  private subscribed = false
  private authFailures = 0
  private garbageLines = 0
  private readonly framer: LineFramer
  /** Replies queued behind one waiting for the share sink; made when a share is first submitted (see `send`). */
  private out: Outgoing[] | undefined
  private readonly jobDifficulty = new JobDifficulties(JOB_DIFFICULTY_MEMORY)
  private lastJob: Job | undefined
  /** The job `lastJob` aliases were derived from (its seq), and the next alias number (see `applyDifficulty`). */
  private aliasSeq = -1
  private nextAlias = 1
  private firstChunk = true
  /** Lines written this tick, not yet handed to the socket (see `write`). */
  private pendingOut = ''

  constructor(
    private readonly host: SessionHost,
    private readonly socket: Socket,
    id: number,
    address: string,
    vardiff: DifficultyControl,
    now: number,
  ) {
    this.id = id
    this.vardiff = vardiff
    this.address = address
    this.connectedAt = now
    this.lastLineAt = now
    this.extranonce2Size = host.config.extranonce2_size
    this.framer = new LineFramer({ maxLineBytes: host.config.max_line_bytes })
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 60_000)
    // Listeners shared by every session, finding theirs on the socket: three
    // closures and their context cost about 350 bytes per session.
    ;(socket as SessionSocket)[SESSION] = this
    /* eslint-disable @typescript-eslint/unbound-method -- called with `this` = the socket, on purpose */
    socket.on('data', Session.onSocketData)
    socket.on('error', Session.onSocketError)
    socket.on('close', Session.onSocketClose)
    /* eslint-enable @typescript-eslint/unbound-method */
  }

  private static onSocketData(this: Socket, chunk: Buffer): void {
    ;(this as SessionSocket)[SESSION].onData(chunk)
  }

  private static onSocketError(this: Socket, err: Error): void {
    const session = (this as SessionSocket)[SESSION]
    if (session.debugging) session.log.debug({ err }, 'socket error')
    session.close('socket-error')
  }

  private static onSocketClose(this: Socket): void {
    ;(this as SessionSocket)[SESSION].close('client-closed')
  }

  /**
   * The session's child logger (`{ session, address }`), made on first use:
   * most sessions never log, and a pino child costs about 300 bytes each
   * (docs/benchmarks.md, sessions).
   */
  get log(): Logger {
    return (this.#log ??= this.host.log.child({ session: this.id, address: this.address }))
  }

  /** Debug logging is on (checked before a debug line would make the child logger). */
  get debugging(): boolean {
    return this.host.log.isLevelEnabled('debug')
  }

  get state(): SessionState {
    if (!this.subscribed) return 'connected'
    return this.#worker !== undefined ? 'authorized' : 'subscribed'
  }

  /** An authorized worker of this connection, by its full name. */
  worker(full: string): WorkerName | undefined {
    if (this.#moreWorkers !== undefined) return this.#moreWorkers.get(full)
    return this.#worker?.full === full ? this.#worker : undefined
  }

  /** The workers authorized on this connection, in order. */
  workers(): WorkerName[] {
    if (this.#moreWorkers !== undefined) return [...this.#moreWorkers.values()]
    return this.#worker === undefined ? [] : [this.#worker]
  }

  /** How many workers are authorized on this connection. */
  get workerCount(): number {
    return this.#moreWorkers?.size ?? (this.#worker === undefined ? 0 : 1)
  }

  /** The difficulty in force now. */
  get difficulty(): number {
    return this.vardiff.difficulty
  }

  /** ShareContext: the difficulty in force when `jobId` was sent to this session. */
  difficultyForJob(jobId: string): number | undefined {
    const id = Number.parseInt(jobId, 16)
    // Only the id exactly as it was sent (lower-case hex, no leading zeros).
    return id.toString(16) === jobId ? this.jobDifficulty.get(id) : undefined
  }

  /** Bytes waiting in the socket's write buffer. */
  get writeBacklog(): number {
    return this.socket.writableLength
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return
    if (this.firstChunk) {
      this.firstChunk = false
      // bfgminer probes TLS on every connect, then reconnects speaking JSON.
      if (looksLikeTlsHello(chunk)) return this.close('tls-probe')
    }
    const { lines, overflow } = this.framer.push(chunk)
    const now = this.host.now()
    if (lines.length > 0) this.lastLineAt = now
    for (const line of lines) {
      if (this.closed) return
      this.handleLine(line, now)
    }
    if (overflow && !this.closed) {
      this.send(encodeReject(null, 'line-too-long', `line longer than ${this.framer.maxLineBytes} bytes`))
      this.closeAfterFlush('line-too-long', true)
    }
  }

  private handleLine(line: string, now: number): void {
    const decoded = decodeRequest(line)
    if (!decoded.ok) {
      this.host.countGarbage()
      this.send(encodeError(decoded.id, decoded.error.code, decoded.error.message))
      if (++this.garbageLines >= MAX_GARBAGE_LINES) this.closeAfterFlush('garbage', true)
      return
    }
    this.garbageLines = 0
    this.handleRequest(decoded.request, now)
  }

  private handleRequest(req: StratumRequest, now: number): void {
    switch (req.kind) {
      case 'configure':
        return this.onConfigure(req)
      case 'subscribe':
        return this.onSubscribe(req.id, req.userAgent, req.sessionId)
      case 'authorize':
        return this.onAuthorize(req.id, req.user, req.password)
      case 'submit':
        return this.onSubmit(req, now)
      case 'extranonce-subscribe':
        this.extranonceSubscribed = true
        return this.send(encodeResult(req.id, true))
      case 'suggest-difficulty':
        this.send(encodeResult(req.id, true))
        return this.suggestFloor(req.difficulty, now)
      case 'suggest-target': {
        this.send(encodeResult(req.id, true))
        const difficulty = difficultyForTarget(leToBigInt(Buffer.from(req.target).reverse()))
        if (Number.isFinite(difficulty) && difficulty > 0) this.suggestFloor(difficulty, now)
        return
      }
      case 'multi-version':
        return this.send(encodeResult(req.id, true))
      case 'get-transactions':
        // bfgminer asks after every authorize; an empty list is a full answer.
        return this.send(encodeResult(req.id, []))
      case 'ping':
        return this.send(encodeResult(req.id, 'pong'))
      case 'response':
        return // a miner's answer to our ping / get_version: nothing to do
      case 'unknown':
        return this.send(encodeReject(req.id, 'method-not-found', `method not found: ${req.method.slice(0, 64)}`))
    }
  }

  /** BIP 310. Answer exactly the extensions asked for. */
  private onConfigure(req: ConfigureRequest): void {
    let versionRollingMask: number | undefined
    if (req.versionRolling !== undefined) {
      // Within the pool's mask and, in proxy mode, the upstream's grant.
      const upstreamMask = this.host.currentJob()?.work.versionMask ?? 0xffffffff
      const granted = (this.host.config.version_mask & upstreamMask & req.versionRolling.mask) >>> 0
      // BIP 310: fewer bits than min-bit-count cannot serve the miner: refuse.
      if (popcount(granted) >= req.versionRolling.minBitCount) {
        versionRollingMask = granted
        this.versionMask = granted
        this.sentVersionMask = granted
      }
    }
    const floor = req.minimumDifficulty !== undefined && req.minimumDifficulty.value > 0 ? req.minimumDifficulty.value : undefined
    if (req.subscribeExtranonce) this.extranonceSubscribed = true
    this.send(
      encodeConfigureResult(req.id, req.requested, {
        ...(versionRollingMask !== undefined ? { versionRollingMask } : {}),
        minimumDifficulty: req.minimumDifficulty !== undefined,
        subscribeExtranonce: req.subscribeExtranonce,
        info: req.info !== undefined,
      }),
    )
    // After the reply; a configure late in the session changes the difficulty visibly.
    if (floor !== undefined) this.suggestFloor(floor, this.host.now())
  }

  /** A difficulty floor asked by the miner. */
  private suggestFloor(difficulty: number, now: number): void {
    this.floor = difficulty
    this.applyDifficulty(this.vardiff.suggest(difficulty, now))
  }

  private onSubscribe(id: JsonRpcId, userAgent: string | undefined, sessionId: string | undefined): void {
    if (userAgent !== undefined) this.userAgent = userAgents.intern(userAgent)
    if (!this.subscribed) {
      const extranonce1 = this.host.allocateExtranonce1(sessionId)
      if (extranonce1 === undefined) {
        this.send(encodeError(id, 20, 'pool is full: no extranonce1 left'))
        return this.closeAfterFlush('server-full')
      }
      this.extranonce1 = extranonce1
      this.subscribed = true
      // The size the current work leaves (proxy mode: the upstream's split), else the configured one.
      const work = this.host.currentJob()?.work
      if (work !== undefined && work.extranonceSize - extranonce1.length >= 1) this.extranonce2Size = work.extranonceSize - extranonce1.length
    }
    const en1 = this.extranonce1.toString('hex')
    this.send(encodeSubscribeResult(id, { subscriptionId: en1, extranonce1: en1, extranonce2Size: this.extranonce2Size }))
    if (this.debugging) this.log.debug({ userAgent: this.userAgent, extranonce1: en1, resumed: sessionId === en1 }, 'subscribed')
    if (this.#worker !== undefined) this.startWork() // authorized before subscribing (tolerated)
  }

  private onAuthorize(id: JsonRpcId, user: string, password: string): void {
    const name = parseWorkerName(user)
    const refusal = name === undefined ? 'worker name must be account[.worker] of letters, digits and -_.@:' : this.host.authorize(name, password)
    if (refusal !== undefined || name === undefined) {
      this.send(encodeReject(id, 'unauthorized', refusal))
      if (++this.authFailures >= MAX_AUTH_FAILURES) this.closeAfterFlush('auth-failures')
      return
    }
    const first = this.#worker === undefined
    if (this.worker(name.full) === undefined) {
      if (this.workerCount >= MAX_WORKERS_PER_SESSION) {
        this.send(encodeReject(id, 'unauthorized', `at most ${MAX_WORKERS_PER_SESSION} workers per connection`))
        return
      }
      if (this.#worker === undefined) this.#worker = name
      else (this.#moreWorkers ??= new Map([[this.#worker.full, this.#worker]])).set(name.full, name)
      this.host.workerAuthorized(this, name)
    }
    this.send(encodeResult(id, true))
    if (this.debugging) this.log.debug({ worker: name.full }, 'authorized')
    // Answer authorize before the first notify.
    if (first && this.subscribed) this.startWork()
  }

  /** Difficulty and the current job, once subscribed and authorized. */
  private startWork(): void {
    // Through the reply queue: after the authorize reply, whatever waits before it.
    this.send(encodeSetDifficulty(this.difficulty))
    const job = this.host.currentJob()
    // A miner's first job is always clean: it has nothing older to keep.
    if (job !== undefined) this.sendJob(job, this.host.notifyLine(job, true))
  }

  private onSubmit(req: SubmitRequest, now: number): void {
    if (!this.subscribed) return this.rejectSubmit(req.id, 'not-subscribed', 'subscribe first')
    const name = this.worker(req.worker)
    if (name === undefined) return this.rejectSubmit(req.id, 'unauthorized', `worker ${req.worker.slice(0, 64)} is not authorized on this connection`)
    const outcome = this.host.checkShare(req, this, now)
    if (!outcome.ok) return this.rejectSubmit(req.id, outcome.reason, outcome.detail, name)
    this.host.submitRate(this, true, now)
    const out = (this.out ??= [])
    if (out.length >= MAX_PENDING_REPLIES) {
      // The share sink has stopped answering: do not queue without bound.
      this.host.forgetShare(outcome)
      return this.close('backlog')
    }
    // Hold the reply until the share sink has the share: "accepted" is
    // never said of a share that was not recorded.
    const slot: Outgoing = { line: undefined }
    out.push(slot)
    this.host.recordShare(this, name, req, outcome, now, (err) => {
      if (err !== undefined) {
        this.log.error({ err }, 'share could not be recorded')
        this.host.forgetShare(outcome)
        return this.fill(slot, encodeError(req.id, 20, 'share could not be recorded, resubmit'))
      }
      this.counters.accepted++
      this.counters.acceptedDifficulty += outcome.difficulty
      this.lastShareAt = now
      if (outcome.block !== undefined) this.counters.blocks++
      this.fill(slot, encodeResult(req.id, true))
      this.applyDifficulty(this.vardiff.recordShare(this.host.now(), outcome.difficulty))
    })
  }

  private rejectSubmit(id: JsonRpcId, reason: Parameters<typeof encodeReject>[1], detail: string, name?: WorkerName): void {
    this.counters.rejected++
    this.send(encodeReject(id, reason, detail))
    this.host.shareRejected(this, reason, name)
    this.host.submitRate(this, false, this.host.now())
  }

  /**
   * A vardiff decision: send the new difficulty, then the current job again
   * under a fresh alias id, so shares of the earlier id are still judged by
   * the difficulty they were found at.
   */
  applyDifficulty(changed: number | undefined): void {
    if (changed === undefined || this.#worker === undefined || !this.subscribed || this.closed) return
    this.notify(encodeSetDifficulty(changed))
    const job = this.lastJob
    if (job === undefined) return
    if (this.aliasSeq !== job.seq) {
      this.aliasSeq = job.seq
      this.nextAlias = 1
    }
    if (this.nextAlias > MAX_JOB_ALIASES) return this.sendJob(job, this.host.notifyLine(job))
    const id = aliasId(job, this.nextAlias++)
    this.rememberJob(id)
    this.notify(encodeNotify({ ...job.notify, jobId: id, cleanJobs: false }))
  }

  /**
   * A new job (fan-out from the server): `line` is the notify built once for
   * all sessions; `batch`, the server's batched write of it (fanout.ts).
   */
  sendJob(job: Job, line: string, batch?: FanoutBatch): void {
    if (this.closed) return
    // Proxy mode: new work may change the extranonce2 size or the version mask.
    const en2Size = job.work.extranonceSize - this.extranonce1.length
    if (en2Size !== this.extranonce2Size && en2Size >= 1) {
      // A miner that cannot take set_extranonce gets client.reconnect (staggered by the host) and no job it would hash wrongly.
      if (!this.extranonceSubscribed) return this.host.requestReconnect(this)
      this.setExtranonce(this.extranonce1, en2Size)
    }
    if (this.versionMask !== 0) {
      const mask = job.work.versionMask === undefined ? this.versionMask : (this.versionMask & job.work.versionMask) >>> 0
      if (mask !== this.sentVersionMask) {
        this.sentVersionMask = mask
        this.notify(encodeSetVersionMask(mask))
      }
    }
    if (this.lastJob === undefined) {
      // Vardiff's clock starts with the first job: time spent waiting for
      // work (no source yet, bitcoind down) says nothing about the miner.
      const now = this.host.now()
      this.vardiff = this.host.newDifficulty(now)
      if (this.floor !== undefined) this.vardiff.suggest(this.floor, now)
    }
    this.lastJob = job
    this.rememberJob(job.id)
    // Into the batch only with nothing gathered before it (order); the batch checks the socket's queues.
    if (batch !== undefined && this.pendingOut === '' && batch.add(this, this.socket, line)) return
    this.notify(line)
  }

  /** What the batched fan-out's write did not take (fanout.ts): queued behind what it took. */
  finishNotify(rest: Uint8Array): void {
    if (this.closed) return
    this.socket.write(rest)
    if (this.socket.writableLength > this.host.limits.max_write_buffer_bytes) this.close('slow-reader')
  }

  /** Pushes a new extranonce1 (proxy mode); miners without set_extranonce are asked to reconnect by the caller. */
  setExtranonce(extranonce1: Buffer, extranonce2Size: number): void {
    this.extranonce1 = extranonce1
    this.extranonce2Size = extranonce2Size
    this.notify(encodeSetExtranonce(extranonce1, extranonce2Size))
  }

  /** Sends a reply now, or queues it behind a reply still waiting for the share sink. */
  send(line: string): void {
    if (this.closed) return
    if (this.out === undefined || this.out.length === 0) this.write(line)
    else this.out.push({ line })
  }

  /**
   * Sends a notification (notify, set_difficulty, set_extranonce) now: it
   * needs no order against replies, only against other notifications, and
   * a new block's clean job must not wait for a slow ledger.
   */
  notify(line: string): void {
    if (this.closed) return
    // A fan-out goes out now, one write per session, unless lines are waiting (order).
    if (this.pendingOut !== '') return this.write(line)
    this.socket.write(line)
    if (this.socket.writableLength > this.host.limits.max_write_buffer_bytes) this.close('slow-reader')
  }

  /** True once the session has been sent a job. */
  get hasWork(): boolean {
    return this.lastJob !== undefined
  }

  private fill(slot: Outgoing, line: string): void {
    slot.line = line
    const out = this.out as Outgoing[]
    while (out.length > 0 && out[0]?.line !== undefined) {
      const next = out.shift() as Outgoing
      if (!this.closed) this.write(next.line as string)
    }
  }

  /**
   * Lines produced in one go (the answers to a chunk of pipelined submits,
   * the accepts of one ledger group commit) leave in one `socket.write`
   * after the current tick: one syscall instead of one per line, which was
   * the largest cost of the share path (see docs/benchmarks.md, load).
   */
  private write(line: string): void {
    if (this.pendingOut === '') {
      this.pendingOut = line
      process.nextTick(flushSession, this)
    } else {
      this.pendingOut += line
    }
  }

  /** Writes what `write` gathered (called once per tick with lines waiting). */
  flushOut(): void {
    const data = this.pendingOut
    if (data === '' || this.closed) return
    this.pendingOut = ''
    this.socket.write(data)
    if (this.socket.writableLength > this.host.limits.max_write_buffer_bytes) this.close('slow-reader')
  }

  private rememberJob(id: string): void {
    this.jobDifficulty.remember(Number.parseInt(id, 16), this.difficulty)
  }

  /** Stops reading from the miner (a draining shutdown): replies already owed still go out. */
  pauseInput(): void {
    this.socket.pause()
  }

  /**
   * Closes once what was written is flushed (an error reply before a
   * disconnect). `abusive` (an over-long line, a run of garbage): stop
   * reading at once and cut the connection as soon as the reply is handed
   * to the kernel, instead of reading and dropping whatever the peer keeps
   * sending until it closes its side (a 10 MB-line flood pushed gigabytes
   * through loopback that way, docs/reliability.md).
   */
  closeAfterFlush(reason: CloseReason, abusive = false): void {
    if (this.closed) return
    // The error reply gathered this tick goes out before the end.
    const data = this.pendingOut
    this.pendingOut = ''
    this.markClosed(reason)
    if (data !== '') this.socket.write(data)
    if (abusive) {
      this.socket.pause()
      this.socket.once('finish', () => this.socket.destroy())
    }
    this.socket.end()
    // A peer that never reads would hold the socket open: cut it after 5 s.
    setTimeout(() => this.socket.destroy(), 5000).unref()
  }

  close(reason: CloseReason): void {
    if (this.closed) return
    this.markClosed(reason)
    this.socket.destroy()
  }

  private markClosed(reason: CloseReason): void {
    this.closed = true
    this.closeReason = reason
    if (this.out !== undefined) this.out.length = 0
    this.pendingOut = ''
    this.host.sessionClosed(this, reason)
  }
}

function flushSession(session: Session): void {
  session.flushOut()
}

function popcount(n: number): number {
  let v = n >>> 0
  let count = 0
  while (v !== 0) {
    v &= v - 1
    count++
  }
  return count
}
