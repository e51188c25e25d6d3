/**
 * A scripted upstream Stratum pool over real TCP (tests only), speaking the
 * wire format by hand, independent of src/stratum and src/jobs. It answers
 * configure, subscribe, authorize and extranonce.subscribe, hands out jobs
 * built from Bitcoin Core's regtest fixtures, and checks every submitted
 * share the way a pool does: it rebuilds the coinbase from its own coinb1,
 * extranonce1 and the submitted extranonce2, hashes the header and compares
 * with the difficulty. Tests script the misbehaviours (garbage, long lines,
 * impossible sizes, reconnect requests) with `send`/`sendRaw`.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { selectHasher } from '../../src/shares/hasher.js'
import { hashMeetsTarget } from '../../src/shares/js-hasher.js'
import { bigIntToLe, targetForDifficulty } from '../../src/shares/target.js'
import type { Message, NotifyParams } from './fake-miner.js'
import { regtestCase } from './regtest.js'

const hasher = selectHasher({})

export interface FakeUpstreamOptions {
  extranonce1?: string
  extranonce2Size?: number
  /** Mask granted to `mining.configure`; undefined refuses version rolling. */
  versionMask?: number | undefined
  difficulty?: number
  /** Answer to authorize (true, or an error message). */
  authorize?: true | string
  /** Don't answer subscribe at all (handshake timeout tests). */
  silent?: boolean
  /** Decides each submit: true accepts, a string rejects with that message, null never answers. Default: checks the share. */
  judge?: (share: CheckedShare) => true | string | null
  /** Sends the first job before answering authorize (as ckpool does). */
  jobBeforeAuthorize?: boolean
}

export interface CheckedShare {
  params: string[]
  /** The share met the difficulty of its job (coinbase rebuilt by the pool). */
  valid: boolean
  reason: string | undefined
}

export interface Conn {
  socket: Socket
  lines: Message[]
  extranonce1: string
  extranonce2Size: number
  authorized: boolean
  versionMask: number | undefined
}

/** A job as mining.notify sends it (without the clean flag, given per notify), and its share difficulty. */
type FakeJob = Omit<NotifyParams, 'clean'> & { difficulty: number }

export class FakeUpstream {
  readonly conns: Conn[] = []
  readonly submits: CheckedShare[] = []
  port = 0
  private server: Server
  private jobs = new Map<string, FakeJob>()
  private seq = 0
  private height = 1000
  difficulty: number
  options: FakeUpstreamOptions

  constructor(options: FakeUpstreamOptions = {}) {
    this.options = options
    this.difficulty = options.difficulty ?? 0.001
    this.server = createServer((socket) => this.accept(socket))
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => resolve())
    })
    this.port = (this.server.address() as { port: number }).port
    return this.port
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  /** The newest connection. */
  get conn(): Conn {
    const c = this.conns.at(-1)
    if (c === undefined) throw new Error('no connection yet')
    return c
  }

  /** Live connections that finished the handshake. */
  get ready(): Conn[] {
    return this.conns.filter((c) => c.authorized && !c.socket.destroyed)
  }

  private accept(socket: Socket): void {
    const conn: Conn = {
      socket,
      lines: [],
      extranonce1: this.options.extranonce1 ?? (0xa0b0c000 + this.conns.length).toString(16),
      extranonce2Size: this.options.extranonce2Size ?? 8,
      authorized: false,
      versionMask: undefined,
    }
    this.conns.push(conn)
    socket.on('error', () => {})
    let buffer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      let nl: number
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line.trim() === '') continue
        const msg = JSON.parse(line) as Conn['lines'][number]
        conn.lines.push(msg)
        this.onMessage(conn, msg)
      }
    })
  }

  private onMessage(conn: Conn, msg: Conn['lines'][number]): void {
    const reply = (result: unknown, error: unknown = null): void => this.send(conn, { id: msg.id, result, error })
    const p = msg.params ?? []
    switch (msg.method) {
      case 'mining.configure': {
        const granted = this.options.versionMask
        if (granted === undefined) return reply({ 'version-rolling': false })
        conn.versionMask = granted
        return reply({ 'version-rolling': true, 'version-rolling.mask': granted.toString(16).padStart(8, '0') })
      }
      case 'mining.subscribe':
        if (this.options.silent === true) return
        return reply([[['mining.set_difficulty', '1'], ['mining.notify', '1']], conn.extranonce1, conn.extranonce2Size])
      case 'mining.authorize': {
        if (this.options.authorize !== undefined && this.options.authorize !== true) return reply(false, [24, this.options.authorize, null])
        this.setDifficulty(conn, this.difficulty)
        if (this.options.jobBeforeAuthorize === true) this.notify(conn, true)
        conn.authorized = true
        reply(true)
        if (this.options.jobBeforeAuthorize !== true) this.notify(conn, true)
        return
      }
      case 'mining.extranonce.subscribe':
        return reply(true)
      case 'mining.submit': {
        const checked = this.check(conn, p as string[])
        this.submits.push(checked)
        const verdict = this.options.judge === undefined ? (checked.valid ? true : (checked.reason ?? 'invalid')) : this.options.judge(checked)
        if (verdict === null) return
        return verdict === true ? reply(true) : reply(null, [23, verdict, null])
      }
      default:
        return // responses to our pings etc.
    }
  }

  /** Checks a share exactly as a pool would (coinbase rebuilt from this pool's own parts). */
  check(conn: Conn, params: string[]): CheckedShare {
    const [, jobId, en2, ntime, nonce, bits] = params
    const job = this.jobs.get(String(jobId))
    if (job === undefined) return { params, valid: false, reason: 'job not found' }
    if (String(en2).length !== conn.extranonce2Size * 2) return { params, valid: false, reason: 'bad extranonce2 size' }
    const coinbase = Buffer.concat([Buffer.from(job.coinb1, 'hex'), Buffer.from(conn.extranonce1, 'hex'), Buffer.from(String(en2), 'hex'), Buffer.from(job.coinb2, 'hex')])
    const root = hasher.merkleRoot(hasher.sha256d(coinbase), Buffer.concat(job.branch.map((b) => Buffer.from(b, 'hex'))))
    const header = Buffer.alloc(80)
    const mask = conn.versionMask ?? 0
    const rolled = bits === undefined ? 0 : Number.parseInt(bits, 16)
    if ((rolled & ~mask) !== 0) return { params, valid: false, reason: 'bad version bits' }
    header.writeUInt32LE(((Number.parseInt(job.version, 16) & ~mask) | rolled) >>> 0, 0)
    const prev = Buffer.from(job.prevHash, 'hex')
    prev.swap32()
    prev.copy(header, 4)
    root.copy(header, 36)
    header.writeUInt32LE(Number.parseInt(String(ntime), 16), 68)
    header.writeUInt32LE(Number.parseInt(job.nbits, 16), 72)
    header.writeUInt32LE(Number.parseInt(String(nonce), 16), 76)
    const hash = hasher.sha256d(header)
    const valid = hashMeetsTarget(hash, bigIntToLe(targetForDifficulty(job.difficulty)))
    return { params, valid, reason: valid ? undefined : 'low difficulty share' }
  }

  /** Sends a JSON message (a newline is added). */
  send(conn: Conn, message: unknown): void {
    if (!conn.socket.destroyed) conn.socket.write(`${JSON.stringify(message)}\n`)
  }

  /** Sends raw bytes as they are. */
  sendRaw(conn: Conn, text: string | Buffer): void {
    if (!conn.socket.destroyed) conn.socket.write(text)
  }

  setDifficulty(conn: Conn, difficulty: number): void {
    this.send(conn, { id: null, method: 'mining.set_difficulty', params: [difficulty] })
  }

  setExtranonce(conn: Conn, extranonce1: string, extranonce2Size: number): void {
    conn.extranonce1 = extranonce1
    conn.extranonce2Size = extranonce2Size
    this.send(conn, { id: null, method: 'mining.set_extranonce', params: [extranonce1, extranonce2Size] })
  }

  /** A new job on every ready connection (`clean`: a new previous block). */
  notifyAll(clean: boolean): void {
    if (clean) this.height++
    for (const c of this.ready) this.notify(c, clean, false)
  }

  /** A job built from the regtest fixture; the difficulty in force is remembered with it. */
  notify(conn: Conn, clean: boolean, bump = true): FakeJob {
    if (clean && bump) this.height++
    const s = regtestCase('segwit-txs').stratum
    const prev = Buffer.alloc(32, this.height & 0xff)
    prev.swap32()
    const job: FakeJob = {
      jobId: `j${(++this.seq).toString(16)}`,
      prevHash: prev.toString('hex'),
      coinb1: s.coinb1,
      coinb2: s.coinb2,
      branch: s.merkle_branch,
      version: s.version,
      // Mainnet-like bits: test shares are never blocks here (the block path is tested against a Headframe pool).
      nbits: '1703a30c',
      ntime: s.ntime,
      difficulty: this.difficulty,
    }
    this.jobs.set(job.jobId, job)
    this.send(conn, { id: null, method: 'mining.notify', params: [job.jobId, job.prevHash, job.coinb1, job.coinb2, job.branch, job.version, job.nbits, job.ntime, clean] })
    return job
  }
}
