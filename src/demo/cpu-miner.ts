/**
 * A CPU miner for `headframe demo`: a real Stratum V1 client over TCP
 * (subscribe, authorize, `mining.set_difficulty`, `mining.notify`,
 * `mining.submit`) that hashes with the hasher's `scanNonces` (the native
 * addon's midstate nonce scan, or its node:crypto fallback).
 *
 * It behaves like a small ASIC so the pool's real paths are exercised:
 * a difficulty applies from the next job it receives (the server re-sends
 * the current job after a retarget, as cgminer expects); each job is mined
 * over extranonce2 values starting from a seeded counter; `clean_jobs`
 * abandons the old job at once.
 *
 * Its speed is capped at `hashrate` hashes a second (scans in slices of a
 * few milliseconds on the event loop, then yields) so several miners, the
 * pool and the simulated chain share one process politely on a laptop.
 */
import { EventEmitter } from 'node:events'
import { connect, type Socket } from 'node:net'
import type { Hasher } from '../shares/hasher.js'
import { bigIntToLe, targetForDifficulty } from '../shares/target.js'

/** How often the mining loop wakes (ms). */
const TICK_MS = 25
/** The most nonces hashed in one go, so the event loop (the pool's) is never held long. */
const MAX_SLICE = 1 << 16
/** Share results to keep before the oldest are forgotten. */
const MAX_PENDING = 1000

export interface CpuMinerOptions {
  readonly host: string
  readonly port: number
  /** `account.worker`. */
  readonly user: string
  /** Hashes per second, at most. */
  readonly hashrate: number
  readonly hasher: Pick<Hasher, 'sha256d' | 'merkleRoot' | 'scanNonces'>
  /** Seeds the first extranonce2 (reproducible runs). */
  readonly seed?: number
  readonly userAgent?: string
}

interface MinerJob {
  readonly id: string
  readonly coinb1: Buffer
  readonly coinb2: Buffer
  readonly branch: Buffer
  readonly version: number
  /** Header prevhash, internal byte order. */
  readonly prevHash: Buffer
  readonly nbits: number
  readonly ntime: number
  readonly difficulty: number
}

/** Events: 'difficulty' (new, old), 'job' (id, clean), 'accepted' (difficulty), 'rejected' (reason), 'problem' (Error: socket errors, bad lines), 'close'. */
export class CpuMiner extends EventEmitter {
  /** Shares answered true / rejected, and hashes done. */
  accepted = 0
  rejected = 0
  hashes = 0
  /** The difficulty of the last `mining.set_difficulty` (Stratum's default 1 before any). */
  difficulty = 1
  private difficultySet = false
  private socket: Socket | undefined
  private buffer = ''
  private nextId = 1
  private readonly pending = new Map<number, (message: StratumMessage) => void>()
  private extranonce1 = Buffer.alloc(0)
  private extranonce2Size = 0
  private extranonce2: bigint
  private job: MinerJob | undefined
  private header: Buffer | undefined
  private nonce = 0
  private timer: NodeJS.Timeout | undefined
  private lastTick = 0
  private credit = 0
  private stopped = false
  private readonly submitted = new Map<number, number>()

  constructor(private readonly options: CpuMinerOptions) {
    super()
    if (!(options.hashrate > 0)) throw new RangeError(`hashrate ${options.hashrate}: expected a number > 0`)
    // A seeded start: different miners (and runs with different seeds) roll different extranonce2 ranges.
    this.extranonce2 = BigInt((options.seed ?? 0) >>> 0) << 16n
  }

  /** Connects, subscribes, authorizes; resolves once authorized. Mining starts with the first job. */
  async start(): Promise<void> {
    const socket = connect({ host: this.options.host, port: this.options.port })
    this.socket = socket
    socket.setEncoding('utf8')
    socket.setNoDelay(true)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    socket.on('data', (chunk: string) => this.onData(chunk))
    socket.on('error', (err) => this.emit('problem', err))
    socket.on('close', () => {
      this.halt()
      for (const waiter of this.pending.values()) waiter({ error: [0, 'connection closed', null] })
      this.pending.clear()
      this.emit('close')
    })
    const sub = await this.request('mining.subscribe', [this.options.userAgent ?? 'headframe-demo-cpu/1.0'])
    const result = sub.result as [unknown, string, number] | null
    if (!Array.isArray(result) || typeof result[1] !== 'string' || typeof result[2] !== 'number') throw new Error(`mining.subscribe failed: ${JSON.stringify(sub.error)}`)
    this.extranonce1 = Buffer.from(result[1], 'hex')
    this.extranonce2Size = result[2]
    this.extranonce2 &= (1n << BigInt(8 * this.extranonce2Size)) - 1n
    const auth = await this.request('mining.authorize', [this.options.user, 'x'])
    if (auth.result !== true) throw new Error(`mining.authorize ${this.options.user} failed: ${JSON.stringify(auth.error)}`)
    this.lastTick = performance.now()
    this.timer = setInterval(() => this.tick(), TICK_MS)
  }

  /** Stops mining and closes the connection. */
  stop(): void {
    this.stopped = true
    this.halt()
    this.socket?.destroy()
  }

  private halt(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  private request(method: string, params: unknown[]): Promise<StratumMessage> {
    const id = this.nextId++
    return new Promise((resolve) => {
      this.pending.set(id, resolve)
      this.socket?.write(`${JSON.stringify({ id, method, params })}\n`)
    })
  }

  private onData(chunk: string): void {
    this.buffer += chunk
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim()
      this.buffer = this.buffer.slice(nl + 1)
      if (line === '') continue
      let message: StratumMessage
      try {
        message = JSON.parse(line) as StratumMessage
      } catch {
        this.emit('problem', new Error(`not JSON from the pool: ${line.slice(0, 80)}`))
        continue
      }
      this.onMessage(message)
    }
  }

  private onMessage(message: StratumMessage): void {
    if (typeof message.method === 'string') {
      const params = Array.isArray(message.params) ? message.params : []
      if (message.method === 'mining.set_difficulty') {
        const next = Number(params[0])
        if (!(next > 0) || !Number.isFinite(next)) return
        // The first one is the session's start, not a change.
        const old = this.difficultySet ? this.difficulty : undefined
        this.difficulty = next
        this.difficultySet = true
        if (old !== undefined && old !== next) this.emit('difficulty', next, old)
      } else if (message.method === 'mining.notify') {
        this.onNotify(params)
      }
      return
    }
    if (typeof message.id !== 'number') return
    const waiter = this.pending.get(message.id)
    if (waiter !== undefined) {
      this.pending.delete(message.id)
      waiter(message)
    }
  }

  private onNotify(params: unknown[]): void {
    const [id, prevHash, coinb1, coinb2, branch, version, nbits, ntime, clean] = params as [string, string, string, string, string[], string, string, string, boolean]
    const prev = Buffer.from(prevHash, 'hex')
    if (prev.length !== 32 || !Array.isArray(branch)) return
    // Stratum sends the prevhash with each 4-byte word byte-swapped.
    prev.swap32()
    const job: MinerJob = {
      id,
      coinb1: Buffer.from(coinb1, 'hex'),
      coinb2: Buffer.from(coinb2, 'hex'),
      branch: Buffer.concat(branch.map((b) => Buffer.from(b, 'hex'))),
      version: Number.parseInt(version, 16),
      prevHash: prev,
      nbits: Number.parseInt(nbits, 16),
      ntime: Number.parseInt(ntime, 16),
      difficulty: this.difficulty,
    }
    // A clean job, or the same work re-sent under a new id (after a retarget): either way mine it now,
    // from the next extranonce2, so no header hashed for the earlier id is hashed again (a duplicate).
    this.job = job
    this.header = undefined
    this.extranonce2 = (this.extranonce2 + 1n) & ((1n << BigInt(8 * this.extranonce2Size)) - 1n)
    this.emit('job', id, clean === true)
  }

  /** Builds the header for the current job and extranonce2. */
  private buildHeader(job: MinerJob): Buffer {
    const en2 = Buffer.alloc(this.extranonce2Size)
    let v = this.extranonce2
    for (let i = this.extranonce2Size - 1; i >= 0; i--) {
      en2[i] = Number(v & 0xffn)
      v >>= 8n
    }
    const coinbase = Buffer.concat([job.coinb1, this.extranonce1, en2, job.coinb2])
    const root = this.options.hasher.merkleRoot(this.options.hasher.sha256d(coinbase), job.branch)
    const header = Buffer.alloc(80)
    header.writeUInt32LE(job.version >>> 0, 0)
    job.prevHash.copy(header, 4)
    root.copy(header, 36)
    header.writeUInt32LE(job.ntime >>> 0, 68)
    header.writeUInt32LE(job.nbits >>> 0, 72)
    this.nonce = 0
    return header
  }

  /** Hashes what the rate allows since the last tick, in slices. */
  private tick(): void {
    const now = performance.now()
    this.credit = Math.min(this.credit + ((now - this.lastTick) / 1000) * this.options.hashrate, this.options.hashrate)
    this.lastTick = now
    while (this.credit >= 1 && !this.stopped && this.job !== undefined) {
      const job = this.job
      if (this.header === undefined) this.header = this.buildHeader(job)
      const count = Math.min(Math.floor(this.credit), MAX_SLICE, 2 ** 32 - this.nonce)
      const target = bigIntToLe(targetForDifficulty(job.difficulty))
      const found = this.options.hasher.scanNonces(this.header, this.nonce, count, target, 64)
      this.hashes += count
      this.credit -= count
      this.nonce += count
      const en2 = this.currentExtranonce2()
      for (const nonce of found) this.submit(job, en2, nonce)
      if (this.nonce >= 2 ** 32) {
        this.extranonce2 = (this.extranonce2 + 1n) & ((1n << BigInt(8 * this.extranonce2Size)) - 1n)
        this.header = undefined
      }
      // A few ms per miner per tick at most: the pool shares this event loop.
      if (performance.now() - now > TICK_MS / 4) break
    }
  }

  private currentExtranonce2(): string {
    return this.extranonce2.toString(16).padStart(this.extranonce2Size * 2, '0')
  }

  private submit(job: MinerJob, en2: string, nonce: number): void {
    const params = [this.options.user, job.id, en2, job.ntime.toString(16).padStart(8, '0'), nonce.toString(16).padStart(8, '0')]
    const sentAt = this.nextId
    this.submitted.set(sentAt, job.difficulty)
    if (this.submitted.size > MAX_PENDING) this.submitted.delete(this.submitted.keys().next().value as number)
    void this.request('mining.submit', params).then((reply) => {
      const difficulty = this.submitted.get(sentAt) ?? job.difficulty
      this.submitted.delete(sentAt)
      if (reply.result === true) {
        this.accepted++
        this.emit('accepted', difficulty)
      } else {
        this.rejected++
        const error = reply.error as [number, string, unknown] | null | undefined
        this.emit('rejected', Array.isArray(error) ? String(error[1]) : 'rejected')
      }
    })
  }
}

interface StratumMessage {
  id?: unknown
  method?: unknown
  params?: unknown
  result?: unknown
  error?: unknown
}
