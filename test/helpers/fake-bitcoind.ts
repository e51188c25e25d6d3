/**
 * A fake bitcoind (tests only): a real HTTP JSON-RPC server on 127.0.0.1
 * that serves the real regtest templates of test/fixtures/regtest, answers
 * like Bitcoin Core v30 (result/error shapes, HTTP statuses, reject strings)
 * and checks every submitted block fully, the way `submitblock` does:
 *
 * - CheckBlock: proof of work against the header's nBits and the network's
 *   pow limit (`high-hash`), merkle root from the txids (`bad-txnmrklroot`),
 *   CVE-2012-2459 duplicates (`bad-txns-duplicate`), size, one coinbase
 *   first (`bad-cb-multiple`), coinbase scriptSig 2-100 bytes (`bad-cb-length`).
 * - AcceptBlock: known block (`duplicate`, `duplicate-invalid`), unknown
 *   parent (`prev-blk-not-found`), nBits as expected (`bad-diffbits`), time
 *   against median time past and the clock (`time-too-old`, `time-too-new`),
 *   version (`bad-version(0x...)`), BIP34 height first in the coinbase
 *   scriptSig (`bad-cb-height`), BIP141 witness commitment
 *   (`bad-witness-nonce-size`, `bad-witness-merkle-match`,
 *   `unexpected-witness`) and weight (`bad-blk-weight`). Like Core's
 *   submitblock (UpdateUncommittedBlockStructures), a coinbase with no
 *   witness at all gets the 32-byte zero reserved value added first.
 * - ConnectBlock (when the block extends the tip): every transaction known
 *   to the mempool (`bad-txns-inputs-missingorspent`) and the coinbase paying
 *   subsidy + fees (`bad-cb-amount`). Stricter than Core on one point, on
 *   purpose: a coinbase paying LESS than that is also `bad-cb-amount` (Core
 *   accepts it and burns the difference; for a pool that is lost money).
 *   `strictCoinbaseValue: false` restores Core's behaviour.
 * - A valid block that does not extend the tip (same height as the tip or
 *   lower) is stored and answered `inconclusive`, like Core; one with more
 *   work than the tip reorganizes onto it.
 *
 * On acceptance the chain advances: the block becomes the tip, its
 * transactions leave the mempool, and a derived template (height + 1,
 * subsidy + the remaining fees, recomputed `depends` and witness
 * commitment) replaces the old one. Long polls (a getblocktemplate whose
 * `longpollid` is the current one) hang until the template changes.
 *
 * Fault switches (docs/bitcoind.md): `inject()` per request (401, 403, hang,
 * delay, garbage, truncated JSON, HTTP 5xx, connection reset), and states:
 * `refuse()`/`resume()` (stop listening), `warmUp()` (-28), `setInitialBlockDownload()`,
 * `setChain()`, `restart()` (new cookie), `advance()`, `reorg()`.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { rpcAnswer, templateRequest, type JsonRpcRequest } from '../../src/demo/chain-rpc.js'
import { checkTransaction, difficultyOfBits, RpcFailure } from '../../src/demo/simulated-chain.js'
import { selectHasher } from '../../src/shares/hasher.js'
import {
  WITNESS_COMMITMENT_HEADER,
  compactSizeLength,
  display,
  heightPush,
  isCoinbase,
  merkleRoot,
  parseBlock,
  parseTx,
  serializeTx,
  targetOf,
  witnessCommitmentScript,
  type ParsedTx,
} from './block.js'
import { fixture } from './fixtures.js'

const sha256d = selectHasher({}).sha256d

/** Networks as Headframe names them. */
export type FakeNetwork = 'mainnet' | 'testnet3' | 'testnet4' | 'signet' | 'regtest'

const CHAIN: Record<FakeNetwork, string> = { mainnet: 'main', testnet3: 'test', testnet4: 'testnet4', signet: 'signet', regtest: 'regtest' }
const SUBFOLDER: Record<FakeNetwork, string> = { mainnet: '', testnet3: 'testnet3', testnet4: 'testnet4', signet: 'signet', regtest: 'regtest' }
/** Consensus pow limits (chainparams.cpp). */
const POW_LIMIT: Record<FakeNetwork, bigint> = {
  mainnet: 0xffffn << 208n,
  testnet3: 0xffffn << 208n,
  testnet4: 0xffffn << 208n,
  signet: 0x377aen << 216n,
  regtest: 0x7fffffn << 232n,
}
const HALVING_INTERVAL: Record<FakeNetwork, number> = { mainnet: 210_000, testnet3: 210_000, testnet4: 210_000, signet: 210_000, regtest: 150 }
const MAX_BLOCK_WEIGHT = 4_000_000

/** The regtest fixture cases (test/fixtures/regtest). */
export const FIXTURE_NAMES = ['empty-mempool', 'segwit-txs', 'many-txs', 'big-template'] as const
export type FixtureName = (typeof FIXTURE_NAMES)[number]

/** A transaction of a getblocktemplate answer, as Bitcoin Core writes it. */
export interface GbtTransaction {
  data: string
  txid: string
  hash: string
  depends: number[]
  fee: number
  sigops: number
  weight: number
}

/** A getblocktemplate answer, as Bitcoin Core writes it (JSON numbers). */
export interface GbtTemplate {
  previousblockhash: string
  transactions: GbtTransaction[]
  coinbasevalue: number
  longpollid: string
  bits: string
  height: number
  curtime: number
  mintime: number
  version: number
  rules: string[]
  default_witness_commitment?: string
  [field: string]: unknown
}

/** One fixture file. */
export interface RegtestFixture {
  name: string
  getblocktemplate: GbtTemplate
  stratum: { block: string; header: string; block_hash: string; coinbase_with_witness: string; [field: string]: unknown }
  submitblock: string | null
  accepted_block_hash: string
  broken_blocks: { mutation: string; submitblock: string; block?: string }[]
}

/** Reads test/fixtures/regtest/<name>.json. */
export function loadFixture(name: FixtureName): RegtestFixture {
  return JSON.parse(fixture(`regtest/${name}.json`).toString('utf8')) as RegtestFixture
}

/** Per-request faults (see `inject`). */
export type FaultKind =
  /** HTTP 401, empty body (as bitcoind on bad credentials). */
  | 'unauthorized'
  /** HTTP 403, empty body (as bitcoind for an address outside rpcallowip). */
  | 'forbidden'
  /** Never answer (the connection stays open). */
  | 'hang'
  /** Answer normally after `delayMs`. */
  | 'delay'
  /** HTTP 200 with a body that is not JSON. */
  | 'garbage'
  /** HTTP 200 with the real answer cut in half (a complete HTTP message, truncated JSON). */
  | 'truncated'
  /** HTTP `status` (default 503) with a plain-text body, as bitcoind's "Work queue depth exceeded". */
  | 'server-error'
  /** Close the connection without answering. */
  | 'reset'

export interface FaultOptions {
  /** Only requests for this RPC method (default: every request). */
  method?: string
  /** How many requests it applies to, then it clears itself (default: until `clearFaults`). */
  times?: number
  /** For 'delay'. */
  delayMs?: number
  /** For 'server-error'. */
  status?: number
}

interface Fault extends FaultOptions {
  kind: FaultKind
  remaining: number
}

export interface FakeBitcoindOptions {
  /** The first template: a fixture name or a getblocktemplate answer (default 'empty-mempool'). */
  template?: FixtureName | GbtTemplate
  /** Which network it plays: its `chain`, cookie subfolder, pow limit and halving interval (default 'regtest'). */
  network?: FakeNetwork
  /** 'cookie' (default): writes `<datadir>[/<network>]/.cookie`; or a fixed user and password. */
  auth?: 'cookie' | { user: string; password: string }
  /** Datadir for the cookie (default: a new temporary folder, removed by `close()`). */
  datadir?: string
  /** A coinbase paying less than subsidy + fees is `bad-cb-amount` (default true; Core accepts it). */
  strictCoinbaseValue?: boolean
}

/** What the fake answered to one submitblock. */
export interface Submission {
  readonly hex: string
  /** The block hash (display order), when the block decoded. */
  readonly hash: string | undefined
  /** `null` = accepted; a reject reason; or the RPC error it answered. */
  readonly result: string | null | { code: number; message: string }
}

interface StoredBlock {
  hash: string
  height: number
  prev: string | undefined
  /** Undefined for the placeholder parent of a fixture template (its header is unknown). */
  header: Buffer | undefined
  time: number
  /** Non-coinbase transactions, as template entries (they return to the mempool on a reorg). */
  txs: GbtTransaction[]
  nTx: number
}

export class FakeBitcoind {
  readonly network: FakeNetwork
  readonly datadir: string
  /** Every submitblock, in order. */
  readonly submissions: Submission[] = []
  /** Every RPC that passed authentication, in order. */
  readonly calls: { method: string; params: unknown }[] = []
  /** HTTP requests received, faulted ones included. */
  requestCount = 0
  /** HTTP 401 answers given (bad credentials or the 'unauthorized' fault). */
  unauthorizedCount = 0

  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly ownsDatadir: boolean
  private readonly fixedAuth: { user: string; password: string } | undefined
  private readonly strictCoinbaseValue: boolean
  private cookie: { user: string; password: string } | undefined
  private listenPort = 0
  private listening = false

  private faults: Fault[] = []
  private warmup: string | undefined
  private ibd = false
  private chainName: string

  private readonly blocks = new Map<string, StoredBlock>()
  private readonly invalid = new Set<string>()
  private active = new Map<number, string>()
  private tipHash = ''
  private tipHeight = 0
  private mempool: GbtTransaction[] = []
  private current!: GbtTemplate
  private bits = 0x207fffff
  private baseVersion = 0x20000000
  private baseRules: string[] = ['csv', '!segwit', 'taproot']
  private clock = 0
  private updates = 0
  private waiters = new Set<() => void>()

  private constructor(options: FakeBitcoindOptions) {
    this.network = options.network ?? 'regtest'
    this.chainName = CHAIN[this.network]
    this.ownsDatadir = options.datadir === undefined
    this.datadir = options.datadir ?? mkdtempSync(join(tmpdir(), 'fake-bitcoind-'))
    this.fixedAuth = options.auth === undefined || options.auth === 'cookie' ? undefined : options.auth
    this.strictCoinbaseValue = options.strictCoinbaseValue ?? true
    if (this.fixedAuth === undefined) this.rotateCookie()
    this.setTemplate(options.template ?? 'empty-mempool')
    this.server = createServer((req, res) => void this.onRequest(req, res))
    this.server.keepAliveTimeout = 30_000 // bitcoind's -rpcservertimeout
    this.server.on('connection', (socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
  }

  /** Starts a fake on an ephemeral 127.0.0.1 port. */
  static async start(options: FakeBitcoindOptions = {}): Promise<FakeBitcoind> {
    const fake = new FakeBitcoind(options)
    await fake.resume()
    return fake
  }

  /** Starts a fake closed at the end of test `t` (tap's `t.teardown`). */
  static async startFor(t: { teardown(fn: () => unknown): void }, options: FakeBitcoindOptions = {}): Promise<FakeBitcoind> {
    const fake = await FakeBitcoind.start(options)
    t.teardown(() => fake.close())
    return fake
  }

  /** What an RPC client needs to reach it: the URL and its cookie file (or the fixed user/password). */
  clientOptions(): { url: string; auth: { cookieFile: string } | { user: string; password: string } } {
    return { url: this.url, auth: this.fixedAuth === undefined ? { cookieFile: this.cookieFile } : { ...this.fixedAuth } }
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.listenPort}`
  }

  get port(): number {
    return this.listenPort
  }

  /** The cookie file (cookie auth), `<datadir>[/<network>]/.cookie`. */
  get cookieFile(): string {
    const sub = SUBFOLDER[this.network]
    return sub === '' ? join(this.datadir, '.cookie') : join(this.datadir, sub, '.cookie')
  }

  /** The credentials it accepts now (the cookie's, or the fixed ones). */
  get credentials(): { user: string; password: string } {
    return (this.fixedAuth ?? this.cookie) as { user: string; password: string }
  }

  /** The template getblocktemplate serves now. */
  get template(): GbtTemplate {
    return this.current
  }

  get tip(): { hash: string; height: number } {
    return { hash: this.tipHash, height: this.tipHeight }
  }

  /** Long polls waiting for the template to change. */
  get longPolls(): number {
    return this.waiters.size
  }

  /** Hashes of the blocks it accepted from submitblock, in order. */
  get accepted(): string[] {
    return this.submissions.filter((s) => s.result === null).map((s) => s.hash as string)
  }

  // ---- chain and templates ----------------------------------------------

  /**
   * Serves `template` (a fixture name or a getblocktemplate answer) as it is:
   * its parent becomes the tip (a placeholder block when unknown), its
   * transactions the mempool. Wakes long polls.
   */
  setTemplate(template: FixtureName | GbtTemplate): void {
    const gbt = typeof template === 'string' ? loadFixture(template).getblocktemplate : template
    this.bits = Number.parseInt(gbt.bits, 16)
    this.baseVersion = gbt.version
    this.baseRules = [...gbt.rules]
    this.clock = gbt.curtime
    if (!this.blocks.has(gbt.previousblockhash)) {
      this.blocks.set(gbt.previousblockhash, {
        hash: gbt.previousblockhash,
        height: gbt.height - 1,
        prev: undefined,
        header: undefined,
        time: gbt.mintime - 1,
        txs: [],
        nTx: 1,
      })
    }
    this.activate(gbt.previousblockhash)
    this.mempool = gbt.transactions.map((tx) => ({ ...tx }))
    this.current = gbt
    this.updates++
    this.wake()
  }

  /** Adds transactions to the mempool (`data` hex and `fee` in satoshis); the template changes. */
  addTransactions(txs: readonly { data: string; fee: number; sigops?: number }[]): void {
    for (const tx of txs) {
      const { tx: parsed } = parseTx(Buffer.from(tx.data, 'hex'))
      this.mempool.push({
        data: tx.data,
        txid: display(sha256d(parsed.stripped)),
        hash: display(sha256d(parsed.raw)),
        depends: [],
        fee: tx.fee,
        sigops: tx.sigops ?? 0,
        weight: parsed.stripped.length * 3 + parsed.raw.length,
      })
    }
    this.templateChanged()
  }

  /** Mines `n` blocks (coinbase only) on the tip, like `generatetoaddress`; returns their hashes. */
  advance(n = 1): string[] {
    const hashes: string[] = []
    for (let i = 0; i < n; i++) {
      const block = this.mine(this.tipHash, this.tipHeight + 1, '/fake-bitcoind/')
      this.blocks.set(block.hash, block)
      this.activate(block.hash)
      hashes.push(block.hash)
    }
    this.templateChanged()
    return hashes
  }

  /**
   * Replaces the tip with another block at the same height (a one-block
   * reorg): the old tip leaves the active chain (`confirmations` -1), its
   * transactions return to the mempool. Returns the new tip's hash.
   */
  reorg(): string {
    const old = this.blocks.get(this.tipHash) as StoredBlock
    if (old.prev === undefined) throw new Error('fake bitcoind: cannot reorg the placeholder tip; advance() first')
    const block = this.mine(old.prev, old.height, `/fake-bitcoind-reorg-${this.updates}/`)
    this.blocks.set(block.hash, block)
    this.activate(block.hash)
    this.templateChanged()
    return block.hash
  }

  // ---- fault switches -----------------------------------------------------

  /** Makes requests (all, or one method's) fail as `kind`, `times` times or until `clearFaults()`. */
  inject(kind: FaultKind, options: FaultOptions = {}): void {
    this.faults.push({ ...options, kind, remaining: options.times ?? Number.POSITIVE_INFINITY })
  }

  /** Removes every injected fault (requests already hanging keep hanging until the client gives up). */
  clearFaults(): void {
    this.faults = []
  }

  /** Every call answers RPC error -28 with `message` (bitcoind starting), until `warmUp(false)`. */
  warmUp(message: string | false = 'Loading block index…'): void {
    this.warmup = message === false ? undefined : message
  }

  /** Reports `initialblockdownload` (and getblocktemplate answers -10) while on. */
  setInitialBlockDownload(on: boolean): void {
    this.ibd = on
  }

  /** Reports another `chain` in getblockchaininfo (e.g. 'main'), or the network's own with no argument. */
  setChain(chain: string = CHAIN[this.network]): void {
    this.chainName = chain
  }

  /** Stops listening and drops every connection: clients get "connection refused". */
  async refuse(): Promise<void> {
    if (!this.listening) return
    this.listening = false
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections()
    for (const socket of this.sockets) socket.destroy()
    await closed
  }

  /** Listens again, on the same port. */
  async resume(): Promise<void> {
    if (this.listening) return
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.server.once('error', onError)
      this.server.listen(this.listenPort, '127.0.0.1', () => {
        this.server.off('error', onError)
        resolve()
      })
    })
    this.listenPort = (this.server.address() as { port: number }).port
    this.listening = true
  }

  /** Writes a new cookie (cookie auth): the old credentials get 401 from now on. */
  rotateCookie(): void {
    if (this.fixedAuth !== undefined) return
    this.cookie = { user: '__cookie__', password: randomBytes(32).toString('hex') }
    mkdirSync(dirname(this.cookieFile), { recursive: true })
    writeFileSync(this.cookieFile, `${this.cookie.user}:${this.cookie.password}`, { mode: 0o600 })
  }

  /** Like a bitcoind restart: connections dropped, a new cookie, optionally warming up (-28) afterwards. */
  async restart(options: { warmup?: string } = {}): Promise<void> {
    await this.refuse()
    this.rotateCookie()
    if (options.warmup !== undefined) this.warmUp(options.warmup)
    await this.resume()
  }

  /** Back to normal: no faults, no warmup, no IBD, its own chain, listening. */
  async heal(): Promise<void> {
    this.clearFaults()
    this.warmUp(false)
    this.ibd = false
    this.setChain()
    await this.resume()
  }

  /** Stops for good and removes its temporary datadir. */
  async close(): Promise<void> {
    this.clearFaults()
    await this.refuse()
    if (this.ownsDatadir) rmSync(this.datadir, { recursive: true, force: true })
  }

  // ---- HTTP and JSON-RPC --------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text: string
    try {
      text = await readBody(req)
    } catch {
      return
    }
    let request: unknown
    let parseFailed = false
    try {
      request = JSON.parse(text)
    } catch {
      parseFailed = true
    }
    const method = isRequest(request) && typeof request.method === 'string' ? request.method : undefined
    this.requestCount++
    const fault = this.takeFault(method)
    let truncate = false
    if (fault !== undefined) {
      switch (fault.kind) {
        case 'unauthorized':
          this.unauthorizedCount++
          return void res.writeHead(401, { 'www-authenticate': 'Basic realm="jsonrpc"', 'content-length': '0' }).end()
        case 'forbidden':
          return void res.writeHead(403, { 'content-length': '0' }).end()
        case 'hang':
          return
        case 'reset':
          return void req.socket.destroy()
        case 'garbage':
          return send(res, 200, '<html><body>502 Bad Gateway (this is not JSON)</body></html>\n', 'application/json')
        case 'server-error':
          return send(res, fault.status ?? 503, 'Work queue depth exceeded', 'text/plain')
        case 'delay':
          await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 1000))
          if (res.destroyed) return
          break
        case 'truncated':
          truncate = true
          break
      }
    }
    if (req.method !== 'POST') return send(res, 405, 'JSONRPC server handles only POST requests', 'text/plain')
    if (!this.authorized(req.headers.authorization)) {
      this.unauthorizedCount++
      return void res.writeHead(401, { 'www-authenticate': 'Basic realm="jsonrpc"', 'content-length': '0' }).end()
    }
    if (parseFailed) return this.reply(res, {}, new RpcFailure(-32700, 'Parse error'), truncate)
    if (!isRequest(request)) return this.reply(res, {}, new RpcFailure(-32600, 'Invalid Request object'), truncate)
    if (typeof request.method !== 'string') return this.reply(res, request, new RpcFailure(-32600, 'Method must be a string'), truncate)
    const params = request.params ?? []
    this.calls.push({ method: request.method, params })
    let outcome: unknown
    try {
      outcome = await this.dispatch(request.method, params, res)
    } catch (err) {
      // RPC_MISC_ERROR for anything unexpected: a fake bug must not crash the test process.
      outcome = err instanceof RpcFailure ? err : new RpcFailure(-1, err instanceof Error ? err.message : String(err))
    }
    if (res.destroyed) return
    this.reply(res, request, outcome, truncate)
  }

  /** Bitcoin Core's answer shapes: JSON-RPC 2.0 errors with HTTP 200, 1.0 (legacy) errors with 500/404/400. */
  private reply(res: ServerResponse, request: JsonRpcRequest, outcome: unknown, truncate: boolean): void {
    const { status, json } = rpcAnswer(request, outcome)
    send(res, status, truncate ? json.slice(0, Math.floor(json.length / 2)) : json, 'application/json')
  }

  private takeFault(method: string | undefined): Fault | undefined {
    const fault = this.faults.find((f) => f.method === undefined || f.method === method)
    if (fault === undefined) return undefined
    fault.remaining--
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault)
    return fault
  }

  private authorized(header: string | undefined): boolean {
    if (header === undefined || !header.startsWith('Basic ')) return false
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
    const creds = this.credentials
    return decoded === `${creds.user}:${creds.password}`
  }

  private async dispatch(method: string, params: unknown, res: ServerResponse): Promise<unknown> {
    if (this.warmup !== undefined) throw new RpcFailure(-28, this.warmup)
    const args = Array.isArray(params) ? (params as unknown[]) : []
    switch (method) {
      case 'getblocktemplate':
        return this.getBlockTemplate(args[0], res)
      case 'submitblock':
        return this.submitBlock(args[0])
      case 'getblockchaininfo':
        return this.blockchainInfo()
      case 'getbestblockhash':
        return this.tipHash
      case 'getblockcount':
        return this.tipHeight
      case 'getblockhash': {
        const hash = typeof args[0] === 'number' ? this.active.get(args[0]) : undefined
        if (hash === undefined) throw new RpcFailure(-8, 'Block height out of range')
        return hash
      }
      case 'getblockheader':
        return this.blockHeader(args[0], args[1])
      default:
        throw new RpcFailure(-32601, 'Method not found')
    }
  }

  private async getBlockTemplate(request: unknown, res: ServerResponse): Promise<unknown> {
    const req = templateRequest(request)
    if (this.network === 'signet' && !req.rules.includes('signet')) {
      throw new RpcFailure(-8, 'getblocktemplate must be called with the signet rule set (call with {"rules": ["segwit", "signet"]})')
    }
    if (this.ibd) throw new RpcFailure(-10, 'Bitcoin Core is in initial sync and waiting for blocks...')
    if (typeof req.longpollid === 'string' && req.longpollid === this.current.longpollid) {
      await new Promise<void>((resolve) => {
        const wake = (): void => resolve()
        this.waiters.add(wake)
        res.on('close', () => this.waiters.delete(wake))
      })
    }
    return this.current
  }

  private blockchainInfo(): unknown {
    const tip = this.blocks.get(this.tipHash) as StoredBlock
    return {
      chain: this.chainName,
      blocks: this.tipHeight,
      headers: this.ibd ? this.tipHeight + 1000 : this.tipHeight,
      bestblockhash: this.tipHash,
      bits: hex32(this.bits),
      target: targetOf(this.bits).value.toString(16).padStart(64, '0'),
      difficulty: difficultyOfBits(this.bits),
      time: tip.time,
      mediantime: this.medianTimePast(this.tipHash),
      verificationprogress: this.ibd ? 0.5 : 1,
      initialblockdownload: this.ibd,
      chainwork: chainwork(this.tipHeight, this.bits),
      size_on_disk: 1_000_000,
      pruned: false,
      warnings: [],
    }
  }

  private blockHeader(hash: unknown, verbose: unknown): unknown {
    if (typeof hash !== 'string') throw new RpcFailure(-3, 'JSON value of type null is not of expected type string')
    if (hash.length !== 64) throw new RpcFailure(-8, `blockhash must be of length 64 (not ${hash.length}, for '${hash}')`)
    if (!/^[0-9a-fA-F]{64}$/.test(hash)) throw new RpcFailure(-8, `blockhash must be hexadecimal string (not '${hash}')`)
    const block = this.blocks.get(hash.toLowerCase())
    if (block === undefined) throw new RpcFailure(-5, 'Block not found')
    const header = block.header ?? Buffer.alloc(80)
    if (verbose === false) return header.toString('hex')
    const inChain = this.active.get(block.height) === block.hash
    const next = inChain ? this.active.get(block.height + 1) : undefined
    const bits = block.header === undefined ? this.bits : header.readUInt32LE(72)
    const version = block.header === undefined ? this.baseVersion : header.readInt32LE(0)
    return {
      hash: block.hash,
      confirmations: inChain ? this.tipHeight - block.height + 1 : -1,
      height: block.height,
      version,
      versionHex: hex32(version >>> 0),
      merkleroot: display(header.subarray(36, 68)),
      time: block.time,
      mediantime: this.medianTimePast(block.hash),
      nonce: header.readUInt32LE(76),
      bits: hex32(bits),
      target: targetOf(bits).value.toString(16).padStart(64, '0'),
      difficulty: difficultyOfBits(bits),
      chainwork: chainwork(block.height, bits),
      nTx: block.nTx,
      ...(block.prev === undefined ? {} : { previousblockhash: block.prev }),
      ...(next === undefined ? {} : { nextblockhash: next }),
    }
  }

  // ---- submitblock --------------------------------------------------------

  private submitBlock(hex: unknown): string | null {
    if (typeof hex !== 'string') throw new RpcFailure(-3, 'JSON value is not of expected type string')
    let hash: string | undefined
    try {
      const result = this.checkBlock(hex, (h) => (hash = h))
      this.submissions.push({ hex, hash, result })
      return result
    } catch (err) {
      if (err instanceof RpcFailure) this.submissions.push({ hex, hash, result: { code: err.code, message: err.message } })
      throw err
    }
  }

  /** Bitcoin Core's submitblock, in its order of checks. */
  private checkBlock(hex: string, reportHash: (hash: string) => void): string | null {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new RpcFailure(-22, 'Block decode failed')
    let block: ReturnType<typeof parseBlock>
    try {
      block = parseBlock(Buffer.from(hex, 'hex'))
    } catch {
      throw new RpcFailure(-22, 'Block decode failed')
    }
    const coinbase = block.txs[0]
    if (coinbase === undefined || !isCoinbase(coinbase)) throw new RpcFailure(-22, 'Block does not start with a coinbase')
    const { header, txs } = block
    const hash = display(sha256d(header))
    reportHash(hash)
    const version = header.readInt32LE(0)
    const prevHash = display(header.subarray(4, 36))
    const time = header.readUInt32LE(68)
    const bits = header.readUInt32LE(72)

    // CheckBlock (validation.cpp): header, merkle root, sizes, transactions.
    if (!this.meetsPow(header, bits)) return 'high-hash'
    const txids = txs.map((tx) => sha256d(tx.stripped))
    const { root, mutated } = merkleRoot(txids)
    if (!root.equals(header.subarray(36, 68))) return 'bad-txnmrklroot'
    if (mutated) return 'bad-txns-duplicate'
    const strippedSize = 80 + compactSizeLength(txs.length) + txs.reduce((n, tx) => n + tx.stripped.length, 0)
    if (txs.length * 4 > MAX_BLOCK_WEIGHT || strippedSize * 4 > MAX_BLOCK_WEIGHT) return 'bad-blk-length'
    for (const tx of txs.slice(1)) if (isCoinbase(tx)) return 'bad-cb-multiple'
    for (const [i, tx] of txs.entries()) {
      const reason = checkTransaction(tx, i === 0)
      if (reason !== undefined) return reason
    }

    // AcceptBlockHeader / AcceptBlock.
    if (this.blocks.has(hash)) return 'duplicate'
    if (this.invalid.has(hash)) return 'duplicate-invalid'
    const prev = this.blocks.get(prevHash)
    if (prev === undefined) return 'prev-blk-not-found'
    const height = prev.height + 1
    if (bits !== this.bits) return 'bad-diffbits'
    if (time <= this.medianTimePast(prev.hash)) return 'time-too-old'
    if (time > this.clock + 2 * 60 * 60) return 'time-too-new'
    if (version < 4) return `bad-version(0x${hex32(version >>> 0)})`

    // ContextualCheckBlock: BIP34 height, BIP141 witness commitment, weight.
    if (!coinbase.inputs[0]?.scriptSig.subarray(0, heightPush(height).length).equals(heightPush(height))) return this.markInvalid(hash, 'bad-cb-height')
    const witnessReason = checkWitness(txs)
    if (witnessReason !== undefined) return witnessReason // BLOCK_MUTATED: not cached as invalid
    const weight = strippedSize * 3 + 80 + compactSizeLength(txs.length) + txs.reduce((n, tx) => n + tx.raw.length, 0)
    if (weight > MAX_BLOCK_WEIGHT) return this.markInvalid(hash, 'bad-blk-weight')

    // Stored. It becomes the tip only with more work than the tip.
    if (height <= this.tipHeight) {
      this.blocks.set(hash, this.stored(hash, height, prevHash, header, time, txs, []))
      return 'inconclusive'
    }

    // ConnectBlock: transactions known, coinbase amount.
    const available = new Map(this.mempool.map((tx) => [tx.txid, tx]))
    for (const h of this.disconnectedBy(prevHash)) for (const tx of (this.blocks.get(h) as StoredBlock).txs) available.set(tx.txid, tx)
    const included: GbtTransaction[] = []
    for (const tx of txs.slice(1)) {
      const entry = available.get(display(sha256d(tx.stripped)))
      if (entry === undefined) return this.markInvalid(hash, 'bad-txns-inputs-missingorspent')
      included.push(entry)
    }
    const allowed = this.subsidy(height) + included.reduce((n, tx) => n + BigInt(tx.fee), 0n)
    const paid = coinbase.outputs.reduce((n, out) => n + out.value, 0n)
    if (paid > allowed || (this.strictCoinbaseValue && paid < allowed)) return this.markInvalid(hash, 'bad-cb-amount')

    this.blocks.set(hash, this.stored(hash, height, prevHash, header, time, txs, included))
    this.activate(hash)
    this.templateChanged()
    return null
  }

  private markInvalid(hash: string, reason: string): string {
    this.invalid.add(hash)
    return reason
  }

  private meetsPow(header: Buffer, bits: number): boolean {
    const target = targetOf(bits)
    if (target.negative || target.overflow || target.value === 0n || target.value > POW_LIMIT[this.network]) return false
    return BigInt(`0x${display(sha256d(header))}`) <= target.value
  }

  private stored(hash: string, height: number, prev: string, header: Buffer, time: number, txs: readonly ParsedTx[], included: GbtTransaction[]): StoredBlock {
    return { hash, height, prev, header: Buffer.from(header), time, txs: included, nTx: txs.length }
  }

  // ---- chain state --------------------------------------------------------

  /** Blocks of the active chain that making `prevHash`'s branch active would disconnect. */
  private disconnectedBy(prevHash: string): string[] {
    const fork = this.forkPoint(prevHash)
    const out: string[] = []
    for (let h = this.tipHeight; h > fork; h--) out.push(this.active.get(h) as string)
    return out
  }

  /** Height of the last block of `hash`'s ancestry that is in the active chain (-1 if none). */
  private forkPoint(hash: string): number {
    let block = this.blocks.get(hash)
    while (block !== undefined) {
      if (this.active.get(block.height) === block.hash) return block.height
      block = block.prev === undefined ? undefined : this.blocks.get(block.prev)
    }
    return -1
  }

  /** Makes `hash` the tip: disconnects blocks off its branch (their transactions back to the mempool), connects its branch. */
  private activate(hash: string): void {
    const target = this.blocks.get(hash) as StoredBlock
    const fork = this.forkPoint(hash)
    const returned: GbtTransaction[] = []
    for (let h = this.tipHeight; h > fork && fork >= 0; h--) {
      const gone = this.blocks.get(this.active.get(h) as string) as StoredBlock
      returned.unshift(...gone.txs)
      this.active.delete(h)
    }
    if (fork < 0) this.active = new Map()
    const branch: StoredBlock[] = []
    for (let b: StoredBlock | undefined = target; b !== undefined && b.height > fork; b = b.prev === undefined ? undefined : this.blocks.get(b.prev)) branch.unshift(b)
    const confirmed = new Set<string>()
    for (const b of branch) {
      this.active.set(b.height, b.hash)
      for (const tx of b.txs) confirmed.add(tx.txid)
    }
    this.mempool = [...returned, ...this.mempool].filter((tx) => !confirmed.has(tx.txid))
    this.tipHash = target.hash
    this.tipHeight = target.height
  }

  /** Median of the times of the last 11 blocks ending at `hash` (a placeholder stands in for its unknown ancestors). */
  private medianTimePast(hash: string): number {
    const times: number[] = []
    let block = this.blocks.get(hash)
    while (block !== undefined && times.length < 11) {
      times.push(block.time)
      if (block.prev === undefined) while (times.length < 11) times.push(block.time)
      block = block.prev === undefined ? undefined : this.blocks.get(block.prev)
    }
    times.sort((a, b) => a - b)
    return times[Math.floor(times.length / 2)] ?? 0
  }

  private subsidy(height: number): bigint {
    const halvings = Math.floor(height / HALVING_INTERVAL[this.network])
    return halvings >= 64 ? 0n : (50n * 100_000_000n) >> BigInt(halvings)
  }

  /** A coinbase-only block on `prev`, with a valid proof of work. */
  private mine(prev: string, height: number, tag: string): StoredBlock {
    const coinbase = serializeTx({
      version: 2,
      inputs: [{ prevTxid: Buffer.alloc(32), prevIndex: 0xffffffff, scriptSig: Buffer.concat([heightPush(height), push(Buffer.from(tag))]), sequence: 0xffffffff, witness: [] }],
      outputs: [{ value: this.subsidy(height), script: Buffer.from([0x51]) }],
      locktime: 0,
    })
    const time = Math.max(this.medianTimePast(prev) + 1, this.clock)
    const header = Buffer.alloc(80)
    header.writeInt32LE(this.baseVersion | 0, 0)
    Buffer.from(prev, 'hex').reverse().copy(header, 4)
    sha256d(coinbase).copy(header, 36)
    header.writeUInt32LE(time, 68)
    header.writeUInt32LE(this.bits, 72)
    for (let nonce = 0; ; nonce++) {
      header.writeUInt32LE(nonce, 76)
      if (this.meetsPow(header, this.bits)) break
    }
    return { hash: display(sha256d(header)), height, prev, header, time, txs: [], nTx: 1 }
  }

  /** A template derived from the tip and the mempool, as Core's CreateNewBlock would make it. */
  private deriveTemplate(): GbtTemplate {
    const height = this.tipHeight + 1
    const index = new Map(this.mempool.map((tx, i) => [tx.txid, i + 1]))
    const transactions = this.mempool.map((tx) => {
      const { tx: parsed } = parseTx(Buffer.from(tx.data, 'hex'))
      const depends = [...new Set(parsed.inputs.map((input) => index.get(display(input.prevTxid))).filter((i): i is number => i !== undefined))]
      return { ...tx, depends: depends.sort((a, b) => a - b) }
    })
    const fees = transactions.reduce((n, tx) => n + BigInt(tx.fee), 0n)
    const mintime = this.medianTimePast(this.tipHash) + 1
    return {
      capabilities: ['proposal'],
      version: this.baseVersion,
      rules: [...this.baseRules],
      vbavailable: {},
      vbrequired: 0,
      previousblockhash: this.tipHash,
      transactions,
      coinbaseaux: {},
      coinbasevalue: Number(this.subsidy(height) + fees),
      longpollid: `${this.tipHash}${this.updates}`,
      target: targetOf(this.bits).value.toString(16).padStart(64, '0'),
      mintime,
      mutable: ['time', 'transactions', 'prevblock'],
      noncerange: '00000000ffffffff',
      sigoplimit: 80000,
      sizelimit: 4000000,
      weightlimit: 4000000,
      curtime: Math.max(mintime, this.clock),
      bits: hex32(this.bits),
      height,
      default_witness_commitment: witnessCommitmentScript(transactions.map((tx) => tx.hash)).toString('hex'),
    }
  }

  private templateChanged(): void {
    this.updates++
    this.current = this.deriveTemplate()
    this.wake()
  }

  private wake(): void {
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiters) wake()
  }
}

// ---- helpers ------------------------------------------------------------------

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}

/** BIP141 checks of ContextualCheckBlock (CheckWitnessMalleation), after submitblock filled a missing reserved value. */
function checkWitness(txs: readonly ParsedTx[]): string | undefined {
  const coinbase = txs[0] as ParsedTx
  let commitPos = -1
  coinbase.outputs.forEach((out, i) => {
    if (out.script.length >= 38 && out.script.subarray(0, 6).equals(WITNESS_COMMITMENT_HEADER)) commitPos = i
  })
  if (commitPos >= 0) {
    // UpdateUncommittedBlockStructures: a coinbase without any witness gets the zero reserved value.
    const stack = coinbase.hasWitness ? (coinbase.inputs[0]?.witness ?? []) : [Buffer.alloc(32)]
    const reserved = stack[0]
    if (stack.length !== 1 || reserved === undefined || reserved.length !== 32) return 'bad-witness-nonce-size'
    const wtxids = [Buffer.alloc(32), ...txs.slice(1).map((tx) => sha256d(tx.raw))]
    const commitment = sha256d(Buffer.concat([merkleRoot(wtxids).root, reserved]))
    if (!commitment.equals((coinbase.outputs[commitPos] as { script: Buffer }).script.subarray(6, 38))) return 'bad-witness-merkle-match'
    return undefined
  }
  if (txs.some((tx) => tx.hasWitness)) return 'unexpected-witness'
  return undefined
}

function push(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([data.length]), data])
}

function chainwork(height: number, bits: number): string {
  const target = targetOf(bits).value
  const work = (1n << 256n) / (target + 1n)
  return (work * BigInt(height + 1)).toString(16).padStart(64, '0')
}

function isRequest(value: unknown): value is JsonRpcRequest {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  if (res.destroyed) return
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

