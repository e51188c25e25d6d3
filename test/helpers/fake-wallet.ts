/**
 * A fake bitcoind wallet (tests only): a real HTTP JSON-RPC server on
 * 127.0.0.1 answering the wallet calls the payout sender makes, the way
 * Bitcoin Core v30 does (JSON-RPC 2.0 envelopes, `/wallet/<name>` paths,
 * HTTP Basic auth, error codes):
 *
 * - `sendmany "" {address: amount} minconf "comment"`: amounts as BTC
 *   strings or numbers (recorded: the tests insist on strings), at most 8
 *   decimals, positive; -6 "Insufficient funds" past the balance; the
 *   comment is kept with the transaction, like Core's mapValue["comment"].
 * - `listtransactions "*" count skip include_watchonly`: one `send` entry
 *   per output, oldest first, `skip` counted from the newest, like Core.
 * - `getbalances`: `mine.trusted` in BTC.
 * - `gettransaction txid`: `confirmations` (negative: conflicted by a block
 *   that deep), `replaced_by_txid` after a fee bump, `abandoned` on the send
 *   entries of `details`; -5 for a txid the wallet does not have. What
 *   happens to a send afterwards is the test's to say: `mine`, `bump`,
 *   `abandon`, `conflict`.
 *
 * Crash switches for the double-pay tests (`failNext`): drop the connection
 * before executing a call, or after executing it (the answer is lost: the
 * transaction exists but the caller never learns its txid), or answer an
 * RPC error; `onCall` lets a test act (kill a process) at the moment a
 * call arrives.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

export interface WalletSend {
  readonly txid: string
  readonly comment: string | undefined
  /** Address → satoshis. */
  readonly outputs: ReadonlyMap<string, bigint>
  /** Unix seconds. */
  readonly time: number
  /** True when every amount came as a string. */
  readonly stringAmounts: boolean
}

export type WalletFault =
  /** Close the connection without executing the call. */
  | { kind: 'drop-before'; method?: string }
  /** Execute the call, then close the connection without answering. */
  | { kind: 'drop-after'; method?: string }
  /** Answer this RPC error without executing the call. */
  | { kind: 'rpc-error'; method?: string; code: number; message: string }
  /** Never answer (the connection stays open until the client gives up). */
  | { kind: 'hang'; method?: string }

export interface FakeWalletOptions {
  /** Wallet name served at /wallet/<name> ('' = only the root path). */
  readonly wallet?: string
  readonly user?: string
  readonly password?: string
  /** Starting balance, satoshis (default 21 BTC). */
  readonly balanceSats?: bigint
  /** Unix seconds for transaction times (default: the real clock). */
  readonly now?: () => number
  /** Receive entries listed before any send (to make listtransactions page). */
  readonly noise?: number
}

const BTC_AMOUNT = /^\d{1,8}(\.\d{1,8})?$/

function btcTextToSats(text: string): bigint {
  const [whole, frac = ''] = text.split('.')
  return BigInt(whole as string) * 100_000_000n + BigInt(frac.padEnd(8, '0'))
}

function satsToBtcNumber(sats: bigint): number {
  const neg = sats < 0n
  const abs = neg ? -sats : sats
  const n = Number(`${abs / 100_000_000n}.${(abs % 100_000_000n).toString().padStart(8, '0')}`)
  return neg ? -n : n
}

/** What happened to a send after it was made (tests drive it). */
interface SendState {
  confirmations: number
  abandoned: boolean
  replacedBy: string | undefined
  replaces: string | undefined
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

export class FakeWallet {
  readonly sends: WalletSend[] = []
  /** Calls received per method (including dropped ones). */
  readonly calls = new Map<string, number>()
  balance: bigint
  /** Called when a request arrives, before faults and execution. */
  onCall: ((method: string, params: unknown[]) => void) | undefined
  private readonly faults: WalletFault[] = []
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly wallet: string
  private readonly auth: string
  private readonly now: () => number
  private readonly receives: { txid: string; time: number; amount: bigint }[] = []
  private readonly states = new Map<string, SendState>()
  /** txid -> the txid of the first send of its family (a send and its fee bumps: the same coins). */
  private readonly families = new Map<string, string>()
  private port = 0

  private constructor(options: FakeWalletOptions) {
    this.wallet = options.wallet ?? 'pool'
    this.auth = `Basic ${Buffer.from(`${options.user ?? 'rpc'}:${options.password ?? 'secret'}`).toString('base64')}`
    this.balance = options.balanceSats ?? 2_100_000_000n
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000))
    for (let i = 0; i < (options.noise ?? 0); i++) this.receives.push({ txid: randomBytes(32).toString('hex'), time: this.now() - 1000 + i, amount: 1000n })
    this.server = createServer((req, res) => void this.onRequest(req, res))
    this.server.on('connection', (socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
  }

  static async start(options: FakeWalletOptions = {}): Promise<FakeWallet> {
    const wallet = new FakeWallet(options)
    await new Promise<void>((resolve) => wallet.server.listen(0, '127.0.0.1', resolve))
    wallet.port = (wallet.server.address() as { port: number }).port
    return wallet
  }

  /** The node URL (without the wallet path). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Applies `fault` to the next matching call. */
  failNext(fault: WalletFault): void {
    this.faults.push(fault)
  }

  clearFaults(): void {
    this.faults.length = 0
  }

  /**
   * Satoshis each address got or is getting: per send and its fee bumps
   * (one "family", the same coins), the one mined if any, else the newest
   * one still live; nothing for a family all abandoned or conflicted.
   */
  paid(): Map<string, bigint> {
    const out = new Map<string, bigint>()
    for (const s of this.sends) {
      if (this.families.get(s.txid) !== s.txid) continue // one entry per family: its first send
      const members = this.family(s.txid)
      const mined = members.find((m) => this.stateOf(m.txid).confirmations > 0)
      const live = members.filter((m) => this.stateOf(m.txid).confirmations >= 0 && !this.stateOf(m.txid).abandoned)
      const paying = mined ?? live[live.length - 1]
      if (paying === undefined) continue
      for (const [a, v] of paying.outputs) out.set(a, (out.get(a) ?? 0n) + v)
    }
    return out
  }

  /** `txid` is mined `confirmations` deep; every other transaction spending its coins (its fee bumps, or what it bumped) is conflicted that deep. */
  mine(txid: string, confirmations: number): void {
    this.change(txid, () => {
      for (const m of this.family(txid)) {
        const st = this.stateOf(m.txid)
        st.confirmations = m.txid === txid ? confirmations : -confirmations
        if (m.txid === txid) st.abandoned = false
      }
    })
  }

  /** `bumpfee`: a new transaction with the same outputs and comment replaces `txid` (unconfirmed, not replaced, not abandoned); returns its txid. */
  bump(txid: string): string {
    const st = this.stateOf(txid)
    if (st.confirmations !== 0 || st.abandoned || st.replacedBy !== undefined) throw new Error(`fake wallet: ${txid} cannot be bumped`)
    const replacement: WalletSend = { ...this.send(txid), txid: randomBytes(32).toString('hex'), time: this.now() }
    this.sends.push(replacement)
    this.families.set(replacement.txid, this.families.get(txid) as string)
    st.replacedBy = replacement.txid
    this.stateOf(replacement.txid).replaces = txid
    return replacement.txid
  }

  /** `abandontransaction` (Core refuses it for a mined transaction); the coins are the wallet's again once no transaction of the family is live. */
  abandon(txid: string): void {
    if (this.stateOf(txid).confirmations > 0) throw new Error(`fake wallet: ${txid} is mined and cannot be abandoned`)
    this.change(txid, () => void (this.stateOf(txid).abandoned = true))
  }

  /** A transaction outside the wallet's view spending the same coins is mined `depth` deep: `txid` and its whole family are conflicted. */
  conflict(txid: string, depth: number): void {
    this.change(txid, () => {
      for (const m of this.family(txid)) this.stateOf(m.txid).confirmations = -depth
    })
  }

  /** Applies `fn` to `txid`'s family and moves the balance when the family's coins are freed (or taken again). */
  private change(txid: string, fn: () => void): void {
    const before = this.familyLive(txid)
    fn()
    const after = this.familyLive(txid)
    const amount = total(this.send(txid))
    if (before && !after) this.balance += amount
    if (!before && after) this.balance -= amount
  }

  private familyLive(txid: string): boolean {
    return this.family(txid).some((m) => this.stateOf(m.txid).confirmations >= 0 && !this.stateOf(m.txid).abandoned)
  }

  private family(txid: string): WalletSend[] {
    const id = this.families.get(txid)
    return this.sends.filter((s) => this.families.get(s.txid) === id)
  }

  private send(txid: string): WalletSend {
    const found = this.sends.find((s) => s.txid === txid)
    if (found === undefined) throw new Error(`fake wallet: no send ${txid}`)
    return found
  }

  private stateOf(txid: string): SendState {
    this.send(txid)
    let st = this.states.get(txid)
    if (st === undefined) this.states.set(txid, (st = { confirmations: 0, abandoned: false, replacedBy: undefined, replaces: undefined }))
    return st
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    if (req.headers.authorization !== this.auth) {
      res.writeHead(401).end()
      return
    }
    let request: { id?: unknown; method?: unknown; params?: unknown }
    try {
      request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof request
    } catch {
      this.answer(res, null, undefined, new RpcError(-32700, 'Parse error'))
      return
    }
    const path = req.url ?? '/'
    if (path !== `/wallet/${encodeURIComponent(this.wallet)}` && !(path === '/' && this.wallet === '')) {
      this.answer(res, request.id, undefined, new RpcError(-18, 'Requested wallet does not exist or is not loaded'))
      return
    }
    const method = String(request.method)
    const params = Array.isArray(request.params) ? (request.params as unknown[]) : []
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1)
    this.onCall?.(method, params)
    const i = this.faults.findIndex((f) => f.method === undefined || f.method === method)
    const fault = i < 0 ? undefined : this.faults.splice(i, 1)[0]
    if (fault?.kind === 'drop-before') return void req.socket.destroy()
    if (fault?.kind === 'hang') return
    if (fault?.kind === 'rpc-error') return this.answer(res, request.id, undefined, new RpcError(fault.code, fault.message))
    let result: unknown
    let error: RpcError | undefined
    try {
      result = this.execute(method, params)
    } catch (err) {
      if (!(err instanceof RpcError)) throw err
      error = err
    }
    if (fault?.kind === 'drop-after') return void req.socket.destroy()
    this.answer(res, request.id, result, error)
  }

  private answer(res: ServerResponse, id: unknown, result: unknown, error: RpcError | undefined): void {
    const body = JSON.stringify(error === undefined ? { jsonrpc: '2.0', result, id } : { jsonrpc: '2.0', error: { code: error.code, message: error.message }, id })
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  }

  private execute(method: string, params: unknown[]): unknown {
    switch (method) {
      case 'sendmany':
        return this.sendmany(params)
      case 'listtransactions':
        return this.listTransactions(params)
      case 'gettransaction':
        return this.getTransaction(params)
      case 'getbalances':
        return { mine: { trusted: satsToBtcNumber(this.balance), untrusted_pending: 0, immature: 0 } }
      default:
        throw new RpcError(-32601, 'Method not found')
    }
  }

  private sendmany(params: unknown[]): string {
    const [dummy, amounts, , comment] = params
    if (dummy !== '' || typeof amounts !== 'object' || amounts === null || Array.isArray(amounts)) throw new RpcError(-8, 'Dummy value must be set to ""')
    const outputs = new Map<string, bigint>()
    let stringAmounts = true
    for (const [address, value] of Object.entries(amounts as Record<string, unknown>)) {
      let text: string
      if (typeof value === 'string') text = value
      else if (typeof value === 'number') {
        stringAmounts = false
        text = value.toFixed(8)
      } else throw new RpcError(-3, 'Amount is not a number or string')
      if (!BTC_AMOUNT.test(text)) throw new RpcError(-3, 'Invalid amount')
      const sats = btcTextToSats(text)
      if (sats <= 0n) throw new RpcError(-3, 'Amount out of range')
      outputs.set(address, sats)
    }
    if (outputs.size === 0) throw new RpcError(-6, 'Transaction must have at least one recipient')
    const total = [...outputs.values()].reduce((a, b) => a + b, 0n)
    if (total > this.balance) throw new RpcError(-6, 'Insufficient funds')
    this.balance -= total
    const send: WalletSend = { txid: randomBytes(32).toString('hex'), comment: typeof comment === 'string' && comment !== '' ? comment : undefined, outputs, time: this.now(), stringAmounts }
    this.sends.push(send)
    this.families.set(send.txid, send.txid)
    return send.txid
  }

  private getTransaction(params: unknown[]): unknown {
    const s = this.sends.find((x) => x.txid === params[0])
    if (s === undefined) throw new RpcError(-5, 'Invalid or non-wallet transaction id')
    const st = this.stateOf(s.txid)
    return {
      amount: satsToBtcNumber(-total(s)),
      fee: -0.0001,
      confirmations: st.confirmations,
      trusted: st.confirmations > 0,
      txid: s.txid,
      walletconflicts: this.family(s.txid)
        .map((m) => m.txid)
        .filter((t) => t !== s.txid),
      ...(st.replacedBy === undefined ? {} : { replaced_by_txid: st.replacedBy }),
      ...(st.replaces === undefined ? {} : { replaces_txid: st.replaces }),
      time: s.time,
      timereceived: s.time,
      'bip125-replaceable': st.confirmations === 0 ? 'yes' : 'no',
      ...(s.comment === undefined ? {} : { comment: s.comment }),
      details: [...s.outputs].map(([address, sats]) => ({ address, category: 'send', amount: satsToBtcNumber(-sats), vout: 0, fee: -0.0001, abandoned: st.abandoned })),
      hex: '',
    }
  }

  private listTransactions(params: unknown[]): unknown[] {
    const count = typeof params[1] === 'number' ? params[1] : 10
    const skip = typeof params[2] === 'number' ? params[2] : 0
    const entries: Record<string, unknown>[] = this.receives.map((r) => ({ category: 'receive', amount: satsToBtcNumber(r.amount), txid: r.txid, time: r.time, confirmations: 10 }))
    for (const s of this.sends) {
      for (const [address, sats] of s.outputs) {
        const st = this.states.get(s.txid)
        entries.push({ address, category: 'send', amount: satsToBtcNumber(-sats), txid: s.txid, time: s.time, confirmations: st?.confirmations ?? 0, abandoned: st?.abandoned ?? false, ...(s.comment === undefined ? {} : { comment: s.comment }) })
      }
    }
    // Core: the `count` most recent after skipping `skip` most recent, returned oldest first.
    const end = Math.max(0, entries.length - skip)
    return entries.slice(Math.max(0, end - count), end)
  }
}

function total(s: WalletSend): bigint {
  let sum = 0n
  for (const v of s.outputs.values()) sum += v
  return sum
}
