/**
 * A scripted Stratum miner over real TCP (tests only). It speaks the wire
 * format by hand (JSON lines), independent of src/stratum, and finds real
 * shares with the addon's nonce scan, the way an ASIC would.
 */
import { connect, type Socket } from 'node:net'
import { selectHasher } from '../../src/shares/hasher.js'
import { bigIntToLe, targetForDifficulty } from '../../src/shares/target.js'

const hasher = selectHasher({})

export interface Message {
  id?: unknown
  method?: string
  params?: unknown[]
  result?: unknown
  error?: unknown
}

export interface NotifyParams {
  jobId: string
  prevHash: string
  coinb1: string
  coinb2: string
  branch: string[]
  version: string
  nbits: string
  ntime: string
  clean: boolean
}

export class FakeMiner {
  readonly socket: Socket
  readonly received: Message[] = []
  private buffer = ''
  private waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void; reject: (e: Error) => void }[] = []
  private nextId = 1
  closed = false
  extranonce1 = ''
  extranonce2Size = 0
  difficulty = 1
  versionMask = 0

  private constructor(socket: Socket) {
    this.socket = socket
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => this.onData(chunk))
    socket.on('close', () => {
      this.closed = true
      for (const w of this.waiters.splice(0)) w.reject(new Error('connection closed'))
    })
    socket.on('error', () => {})
  }

  static async connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<FakeMiner> {
    const socket = connect({ port, host, ...(localAddress ? { localAddress } : {}) })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new FakeMiner(socket)
  }

  private onData(chunk: string): void {
    this.buffer += chunk
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl)
      this.buffer = this.buffer.slice(nl + 1)
      if (line.trim() === '') continue
      const msg = JSON.parse(line) as Message
      if (msg.method === 'mining.set_difficulty') this.difficulty = Number(msg.params?.[0])
      if (msg.method === 'mining.set_extranonce') {
        this.extranonce1 = String(msg.params?.[0])
        this.extranonce2Size = Number(msg.params?.[1])
      }
      this.received.push(msg)
      const still: typeof this.waiters = []
      for (const w of this.waiters) if (w.match(msg)) w.resolve(msg); else still.push(w)
      this.waiters = still
    }
  }

  /** Sends a raw line (a newline is added). */
  sendRaw(text: string): void {
    this.socket.write(text)
  }

  /** Sends a request; returns its id. */
  send(method: string, params: unknown[], id: unknown = this.nextId++): unknown {
    this.socket.write(`${JSON.stringify({ id, method, params })}\n`)
    return id
  }

  /** Resolves with the first message (already received or future) matching. */
  waitFor(match: (m: Message) => boolean, fromIndex = 0): Promise<Message> {
    const seen = this.received.slice(fromIndex).find(match)
    if (seen) return Promise.resolve(seen)
    if (this.closed) return Promise.reject(new Error('connection closed'))
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve, reject }))
  }

  /** Sends a request and waits for its reply. */
  async request(method: string, params: unknown[], id?: unknown): Promise<Message> {
    const from = this.received.length
    const sent = this.send(method, params, id)
    return this.waitFor((m) => m.method === undefined && JSON.stringify(m.id) === JSON.stringify(sent), from)
  }

  /** Waits for the next `mining.notify` after message index `fromIndex`. */
  async nextNotify(fromIndex = 0): Promise<NotifyParams> {
    const m = await this.waitFor((x) => x.method === 'mining.notify', fromIndex)
    return parseNotify(m)
  }

  /** The latest notify received so far. */
  lastNotify(): NotifyParams | undefined {
    const m = [...this.received].reverse().find((x) => x.method === 'mining.notify')
    return m ? parseNotify(m) : undefined
  }

  /** Standard handshake: subscribe then authorize. */
  async handshake(user = 'acct.rig1', agent = 'fake-miner/1.0'): Promise<void> {
    const sub = await this.request('mining.subscribe', [agent])
    const result = sub.result as [unknown, string, number]
    this.extranonce1 = result[1]
    this.extranonce2Size = result[2]
    const auth = await this.request('mining.authorize', [user, 'x'])
    if (auth.result !== true) throw new Error(`authorize failed: ${JSON.stringify(auth.error)}`)
  }

  /**
   * Finds a share for `job` at difficulty `difficulty` (default: the last
   * set_difficulty) by scanning nonces. Returns the submit params.
   */
  findShare(job: NotifyParams, options: { extranonce2?: Buffer; difficulty?: number; versionBits?: number; ntime?: string; maxDifficulty?: number } = {}): string[] {
    const en2 = options.extranonce2 ?? Buffer.alloc(this.extranonce2Size)
    const ntime = options.ntime ?? job.ntime
    const coinbase = Buffer.concat([Buffer.from(job.coinb1, 'hex'), Buffer.from(this.extranonce1, 'hex'), en2, Buffer.from(job.coinb2, 'hex')])
    const root = hasher.merkleRoot(hasher.sha256d(coinbase), Buffer.concat(job.branch.map((b) => Buffer.from(b, 'hex'))))
    const header = Buffer.alloc(80)
    const version = Number.parseInt(job.version, 16) | (options.versionBits ?? 0)
    header.writeUInt32LE(version >>> 0, 0)
    const prev = Buffer.from(job.prevHash, 'hex')
    prev.swap32()
    prev.copy(header, 4)
    root.copy(header, 36)
    header.writeUInt32LE(Number.parseInt(ntime, 16), 68)
    header.writeUInt32LE(Number.parseInt(job.nbits, 16), 72)
    const target = bigIntToLe(targetForDifficulty(options.difficulty ?? this.difficulty))
    const nonces = hasher.scanNonces(header, 0, 0xffffffff, target, 1)
    const nonce = nonces[0]
    if (nonce === undefined) throw new Error('no share found in the whole nonce range')
    const params = [en2.toString('hex'), ntime, nonce.toString(16).padStart(8, '0')]
    if (options.versionBits !== undefined) params.push(options.versionBits.toString(16).padStart(8, '0'))
    return params
  }

  /** Submits a share found by `findShare`; resolves with the reply. */
  submit(worker: string, jobId: string, found: string[], id?: unknown): Promise<Message> {
    return this.request('mining.submit', [worker, jobId, ...found], id)
  }

  close(): void {
    this.socket.destroy()
  }
}

export function parseNotify(m: Message): NotifyParams {
  const p = m.params as [string, string, string, string, string[], string, string, string, boolean]
  return { jobId: p[0], prevHash: p[1], coinb1: p[2], coinb2: p[3], branch: p[4], version: p[5], nbits: p[6], ntime: p[7], clean: p[8] }
}
