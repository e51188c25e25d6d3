/**
 * The simulated chain's JSON-RPC server: what the demo's template source
 * talks to instead of bitcoind. It speaks bitcoind's HTTP protocol on
 * 127.0.0.1 (POST, Basic auth from a cookie file `__cookie__:<hex>` written
 * in `<datadir>/regtest/.cookie` and removed at close, JSON-RPC 1.0 and 2.0
 * answer shapes and HTTP statuses), so Headframe's real `BitcoindClient`
 * and `TemplateSource` run against it unchanged: cookie reading, long polls
 * (`longpollid`), `getbestblockhash` polling, `submitblock`, `getblockheader`
 * for confirmations.
 *
 * Calls: getblocktemplate, submitblock, getblockchaininfo, getmininginfo,
 * getbestblockhash, getblockcount, getblockhash, getblockheader,
 * getdifficulty. Anything else is -32601 "Method not found".
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import type { Logger } from '../log.js'
import { RpcFailure, SIMULATION_WARNING, type ChainBlock, type SimulatedChain } from './simulated-chain.js'

/** Largest request body read (a block of 4 MB weight is at most 4 MB, 8 MB as hex). */
const MAX_BODY_BYTES = 10 * 1024 * 1024

export interface ChainRpcOptions {
  readonly chain: SimulatedChain
  /** Where the cookie goes: `<datadir>/regtest/.cookie`, as bitcoind -regtest writes it. */
  readonly datadir: string
  /** Port on 127.0.0.1 (0 = any free one). */
  readonly port?: number
  readonly log?: Logger
}

/** A JSON-RPC request as received: every field unchecked. */
export interface JsonRpcRequest {
  jsonrpc?: unknown
  id?: unknown
  method?: unknown
  params?: unknown
}

export class ChainRpcServer {
  /** submitblock answers given, in order (null = accepted). */
  readonly submissions: (string | null)[] = []
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly waiters = new Set<() => void>()
  private readonly credentials: string
  private readonly unsubscribe: () => void
  private listenPort = 0

  private constructor(private readonly options: ChainRpcOptions) {
    this.credentials = `__cookie__:${randomBytes(32).toString('hex')}`
    this.server = createServer((req, res) => void this.onRequest(req, res))
    this.server.on('connection', (socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
    this.unsubscribe = options.chain.onChange(() => this.wake())
  }

  /** Writes the cookie and listens on 127.0.0.1. */
  static async start(options: ChainRpcOptions): Promise<ChainRpcServer> {
    const rpc = new ChainRpcServer(options)
    mkdirSync(join(options.datadir, 'regtest'), { recursive: true })
    writeFileSync(rpc.cookieFile, rpc.credentials, { mode: 0o600 })
    await new Promise<void>((resolve, reject) => {
      rpc.server.once('error', reject)
      rpc.server.listen(options.port ?? 0, '127.0.0.1', () => {
        rpc.server.off('error', reject)
        resolve()
      })
    })
    rpc.listenPort = (rpc.server.address() as { port: number }).port
    options.log?.info({ simulated: true, url: rpc.url, cookie: rpc.cookieFile }, 'SIMULATED chain RPC listening (regtest rules, not Bitcoin Core)')
    return rpc
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.listenPort}`
  }

  get cookieFile(): string {
    return join(this.options.datadir, 'regtest', '.cookie')
  }

  /** Long polls waiting for a new template. */
  get longPolls(): number {
    return this.waiters.size
  }

  /** Stops listening, ends long polls and connections, removes the cookie (as bitcoind does at exit). */
  async close(): Promise<void> {
    this.unsubscribe()
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections()
    for (const socket of this.sockets) socket.destroy()
    this.wake()
    await closed
    rmSync(this.cookieFile, { force: true })
  }

  private wake(): void {
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiters) wake()
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text: string
    try {
      text = await readBody(req)
    } catch {
      return send(res, 413, 'request too large', 'text/plain')
    }
    if (req.method !== 'POST') return send(res, 405, 'JSONRPC server handles only POST requests', 'text/plain')
    const auth = req.headers.authorization
    if (auth === undefined || !auth.startsWith('Basic ') || Buffer.from(auth.slice(6), 'base64').toString('utf8') !== this.credentials) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="jsonrpc"', 'content-length': '0' }).end()
      return
    }
    let request: unknown
    try {
      request = JSON.parse(text)
    } catch {
      return this.reply(res, {}, new RpcFailure(-32700, 'Parse error'))
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) return this.reply(res, {}, new RpcFailure(-32600, 'Invalid Request object'))
    const call = request as JsonRpcRequest
    if (typeof call.method !== 'string') return this.reply(res, call, new RpcFailure(-32600, 'Method must be a string'))
    let outcome: unknown
    try {
      outcome = await this.dispatch(call.method, Array.isArray(call.params) ? (call.params as unknown[]) : [], res)
    } catch (err) {
      outcome = err instanceof RpcFailure ? err : new RpcFailure(-1, err instanceof Error ? err.message : String(err))
    }
    this.reply(res, call, outcome)
  }

  private reply(res: ServerResponse, request: JsonRpcRequest, outcome: unknown): void {
    const { status, json } = rpcAnswer(request, outcome)
    send(res, status, json, 'application/json')
  }

  private async dispatch(method: string, args: unknown[], res: ServerResponse): Promise<unknown> {
    const chain = this.options.chain
    switch (method) {
      case 'getblocktemplate':
        return this.getBlockTemplate(args[0], res)
      case 'submitblock': {
        if (typeof args[0] !== 'string') throw new RpcFailure(-3, 'JSON value is not of expected type string')
        const { result } = chain.submit(args[0])
        this.submissions.push(result)
        return result
      }
      case 'getblockchaininfo':
        return this.blockchainInfo()
      case 'getmininginfo':
        return { blocks: chain.tip.height, difficulty: chain.difficulty, networkhashps: 0, pooledtx: 0, chain: 'regtest', warnings: [SIMULATION_WARNING] }
      case 'getbestblockhash':
        return chain.tip.hash
      case 'getblockcount':
        return chain.tip.height
      case 'getdifficulty':
        return chain.difficulty
      case 'getblockhash': {
        const block = typeof args[0] === 'number' ? chain.blockAt(args[0]) : undefined
        if (block === undefined) throw new RpcFailure(-8, 'Block height out of range')
        return block.hash
      }
      case 'getblockheader':
        return this.blockHeader(args[0], args[1])
      default:
        throw new RpcFailure(-32601, 'Method not found')
    }
  }

  private async getBlockTemplate(request: unknown, res: ServerResponse): Promise<unknown> {
    const req = templateRequest(request)
    if (typeof req.longpollid === 'string' && req.longpollid === this.options.chain.template().longpollid) {
      // Held until the tip changes (Core also wakes after new transactions; there are none here).
      await new Promise<void>((resolve) => {
        this.waiters.add(resolve)
        res.on('close', () => this.waiters.delete(resolve))
      })
    }
    return this.options.chain.template()
  }

  private blockchainInfo(): unknown {
    const chain = this.options.chain
    const tip = chain.tip
    return {
      chain: 'regtest',
      blocks: tip.height,
      headers: tip.height,
      bestblockhash: tip.hash,
      bits: chain.bits.toString(16).padStart(8, '0'),
      target: chain.target.toString(16).padStart(64, '0'),
      difficulty: chain.difficulty,
      time: tip.header.readUInt32LE(68),
      mediantime: chain.medianTimePast(tip.hash),
      verificationprogress: 1,
      initialblockdownload: false,
      chainwork: chainwork(chain, tip),
      size_on_disk: 0,
      pruned: false,
      warnings: [SIMULATION_WARNING],
    }
  }

  private blockHeader(hash: unknown, verbose: unknown): unknown {
    if (typeof hash !== 'string') throw new RpcFailure(-3, 'JSON value of type null is not of expected type string')
    if (!/^[0-9a-fA-F]{64}$/.test(hash)) throw new RpcFailure(-8, `blockhash must be of length 64 and hexadecimal (not '${hash}')`)
    const chain = this.options.chain
    const block = chain.block(hash.toLowerCase())
    if (block === undefined) throw new RpcFailure(-5, 'Block not found')
    if (verbose === false) return block.header.toString('hex')
    const confirmations = chain.confirmations(block)
    const next = confirmations > 0 ? chain.blockAt(block.height + 1) : undefined
    const version = block.header.readInt32LE(0)
    return {
      hash: block.hash,
      confirmations,
      height: block.height,
      version,
      versionHex: (version >>> 0).toString(16).padStart(8, '0'),
      merkleroot: Buffer.from(block.header.subarray(36, 68)).reverse().toString('hex'),
      time: block.header.readUInt32LE(68),
      mediantime: chain.medianTimePast(block.hash),
      nonce: block.header.readUInt32LE(76),
      bits: block.header.readUInt32LE(72).toString(16).padStart(8, '0'),
      difficulty: chain.difficulty,
      chainwork: chainwork(chain, block),
      nTx: block.nTx,
      ...(block.height === 0 ? {} : { previousblockhash: Buffer.from(block.header.subarray(4, 36)).reverse().toString('hex') }),
      ...(next === undefined ? {} : { nextblockhash: next.hash }),
    }
  }
}

/**
 * Bitcoin Core's answer to `request` (the tests' fake bitcoind answers with
 * it too): `outcome` is the result, or the RpcFailure thrown. JSON-RPC 2.0
 * errors come with HTTP 200; 1.0 (legacy) errors with 500, 404 (method not
 * found) or 400 (invalid request).
 */
export function rpcAnswer(request: JsonRpcRequest, outcome: unknown): { readonly status: number; readonly json: string } {
  const id = request.id ?? null
  const v2 = request.jsonrpc === '2.0'
  let status = 200
  let body: unknown
  if (outcome instanceof RpcFailure) {
    const error = { code: outcome.code, message: outcome.message }
    body = v2 ? { jsonrpc: '2.0', error, id } : { result: null, error, id }
    if (!v2) status = outcome.code === -32600 ? 400 : outcome.code === -32601 ? 404 : 500
  } else {
    body = v2 ? { jsonrpc: '2.0', result: outcome, id } : { result: outcome, error: null, id }
  }
  return { status, json: `${JSON.stringify(body)}\n` }
}

/**
 * A getblocktemplate request's argument, checked as Core checks it: template
 * mode only, and the segwit rule must be asked for. Throws the RpcFailure
 * Core would answer; the tests' fake bitcoind checks requests with it too.
 */
export function templateRequest(request: unknown): { readonly rules: readonly unknown[]; readonly longpollid: unknown } {
  const req = (typeof request === 'object' && request !== null ? request : {}) as { rules?: unknown; longpollid?: unknown; mode?: unknown }
  if (req.mode !== undefined && req.mode !== 'template') throw new RpcFailure(-8, 'Invalid mode')
  const rules: readonly unknown[] = Array.isArray(req.rules) ? req.rules : []
  if (!rules.includes('segwit')) throw new RpcFailure(-8, 'getblocktemplate must be called with the segwit rule set (call with {"rules": ["segwit"]})')
  return { rules, longpollid: req.longpollid }
}

/** Total work up to `block` (every block carries the chain's fixed bits but genesis, which has regtest's). */
function chainwork(chain: SimulatedChain, block: ChainBlock): string {
  const work = (target: bigint): bigint => (1n << 256n) / (target + 1n)
  const total = work(0x7fffffn << 232n) + work(chain.target) * BigInt(block.height)
  return total.toString(16).padStart(64, '0')
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data')
        reject(new Error('body too large'))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  if (res.destroyed) return
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
