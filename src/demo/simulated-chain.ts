/**
 * A SIMULATED Bitcoin chain for `headframe demo`: regtest rules, no peers,
 * no mempool, no wallet. It exists so a newcomer can watch Headframe work
 * on a laptop without bitcoind, through the production code paths (the
 * template source talks to it over JSON-RPC like to Bitcoin Core).
 *
 * What it keeps from regtest (chainparams.cpp, validation.cpp):
 *
 * - the regtest genesis block, chain name `regtest`, `bcrt1` addresses;
 * - subsidy 50 BTC halving every 150 blocks; BIP34 height first in the
 *   coinbase scriptSig; segwit active (`!segwit`, `default_witness_commitment`
 *   for the empty block); version 0x20000000; `mintime` = median time past + 1;
 * - the checks `submitblock` makes, in Core's order: decode, coinbase first,
 *   known block (`duplicate`), proof of work (`high-hash`), merkle root
 *   (`bad-txnmrklroot`, `bad-txns-duplicate`), size, one coinbase
 *   (`bad-cb-multiple`, `bad-cb-length`), unknown parent
 *   (`prev-blk-not-found`), `bad-diffbits`, `time-too-old`/`time-too-new`,
 *   `bad-version`, `bad-cb-height`, the BIP141 witness commitment
 *   (`bad-witness-nonce-size`, `bad-witness-merkle-match`,
 *   `unexpected-witness`), weight, spent inputs (there is no mempool, so any
 *   transaction beside the coinbase is `bad-txns-inputs-missingorspent`) and
 *   the coinbase amount (`bad-cb-amount`).
 *
 * What differs, on purpose: the chain's fixed `bits` is a constructor
 * option. Regtest's own (0x207fffff, the default) makes every hash of every
 * share a block (difficulty 4.66e-10), so a demo would show hundreds of
 * blocks and no ordinary shares; the demo picks a harder fixed target (still
 * within regtest's pow limit, still never retargeted, like regtest) so
 * blocks come a few times a minute and the PPLNS window spans many shares.
 *
 * Accepted blocks can be kept in a JSON-lines file, so a demo data folder
 * reused across runs keeps a chain consistent with its ledger.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { heightPush } from '../jobs/coinbase.js'
import type { Sha256d } from '../jobs/merkle.js'
import type { Logger } from '../log.js'
import { targetFromBits } from '../shares/target.js'
import { BlockDecodeError, decodeBlock, isCoinbase, merkleRootMutated, type DecodedTx } from './block-decode.js'

/** Regtest's proof-of-work limit (chainparams.cpp `consensus.powLimit`). */
export const REGTEST_POW_LIMIT = 0x7fffffn << 232n
/** Regtest's compact bits (the pow limit): every block on regtest carries it. */
export const REGTEST_BITS = 0x207fffff
/** Blocks between subsidy halvings on regtest. */
export const REGTEST_HALVING_INTERVAL = 150
/** The regtest genesis block header (hash 0f9188f1...466e2206). */
export const REGTEST_GENESIS_HEADER =
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4adae5494dffff7f2002000000'
/** Warning carried in `getblockchaininfo` / `getmininginfo`, so no one mistakes this for Bitcoin Core. */
export const SIMULATION_WARNING = 'SIMULATED regtest chain (headframe demo): not Bitcoin Core, no peers, blocks are worthless'

const MAX_BLOCK_WEIGHT = 4_000_000
const MAX_MONEY = 21_000_000n * 100_000_000n
const MAX_FUTURE_BLOCK_TIME = 2 * 60 * 60
const BLOCK_VERSION = 0x20000000
const RULES = ['csv', '!segwit', 'taproot']
const WITNESS_COMMITMENT_HEADER = Buffer.from('6a24aa21a9ed', 'hex')

/** A JSON-RPC error answer (code and message as Bitcoin Core gives them). */
export class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

/** A `getblocktemplate` answer, field for field as Bitcoin Core v30 writes it. */
export interface ChainTemplate {
  capabilities: string[]
  version: number
  rules: string[]
  vbavailable: Record<string, number>
  vbrequired: number
  previousblockhash: string
  transactions: never[]
  coinbaseaux: Record<string, string>
  coinbasevalue: number
  longpollid: string
  target: string
  mintime: number
  mutable: string[]
  noncerange: string
  sigoplimit: number
  sizelimit: number
  weightlimit: number
  curtime: number
  bits: string
  height: number
  default_witness_commitment: string
}

/** A block the chain knows. */
export interface ChainBlock {
  readonly hash: string
  readonly height: number
  readonly header: Buffer
  readonly nTx: number
}

export interface SimulatedChainOptions {
  readonly sha256d: Sha256d
  /** The chain's fixed compact target (default regtest's 0x207fffff); must be within regtest's pow limit. */
  readonly bits?: number
  /** ms clock (block times are checked against it). */
  readonly clock?: () => number
  /** JSON-lines file of accepted blocks: loaded at construction, appended to on each acceptance. */
  readonly storePath?: string
  readonly log?: Logger
}

/** What one `submitblock` did. */
export interface SubmitOutcome {
  /** null = accepted as the new tip; else Core's reason string. */
  readonly result: string | null
  readonly hash: string | undefined
  readonly height: number | undefined
}

export class SimulatedChain {
  readonly bits: number
  readonly target: bigint
  private readonly sha256d: Sha256d
  private readonly clock: () => number
  private readonly log: Logger | undefined
  private readonly storePath: string | undefined
  private readonly blocks = new Map<string, ChainBlock>()
  private readonly invalid = new Set<string>()
  private active: string[] = []
  private updates = 0
  private current: ChainTemplate | undefined
  private readonly listeners = new Set<() => void>()
  /** Blocks accepted as the tip since construction. */
  accepted = 0

  constructor(options: SimulatedChainOptions) {
    this.sha256d = options.sha256d
    this.bits = options.bits ?? REGTEST_BITS
    this.target = targetFromBits(this.bits)
    if (this.target <= 0n || this.target > REGTEST_POW_LIMIT || compactBits(this.target) !== this.bits) {
      throw new RangeError(`bits ${hex32(this.bits)}: expected a canonical compact target within the regtest pow limit (207fffff)`)
    }
    this.clock = options.clock ?? Date.now
    this.log = options.log
    this.storePath = options.storePath
    const genesis = Buffer.from(REGTEST_GENESIS_HEADER, 'hex')
    this.blocks.set(this.hashOf(genesis), { hash: this.hashOf(genesis), height: 0, header: genesis, nTx: 1 })
    this.active = [this.hashOf(genesis)]
    if (this.storePath !== undefined) this.load(this.storePath)
  }

  /** The active chain's tip. */
  get tip(): ChainBlock {
    return this.blocks.get(this.active[this.active.length - 1] as string) as ChainBlock
  }

  /** The network difficulty of `bits`, as Core's GetDifficulty computes it. */
  get difficulty(): number {
    return difficultyOfBits(this.bits)
  }

  /** Calls `listener` whenever the template changes (a new tip); returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Regtest subsidy at `height`: 50 BTC halving every 150 blocks. */
  subsidy(height: number): bigint {
    const halvings = Math.floor(height / REGTEST_HALVING_INTERVAL)
    return halvings >= 64 ? 0n : (50n * 100_000_000n) >> BigInt(halvings)
  }

  /** The template for the next block (the same object until the tip changes; `curtime` follows the clock). */
  template(): ChainTemplate {
    const tip = this.tip
    const mintime = this.medianTimePast(tip.hash) + 1
    const curtime = Math.max(mintime, Math.floor(this.clock() / 1000))
    if (this.current !== undefined && this.current.previousblockhash === tip.hash) {
      this.current.curtime = curtime
      return this.current
    }
    const height = tip.height + 1
    this.current = {
      capabilities: ['proposal'],
      version: BLOCK_VERSION,
      rules: [...RULES],
      vbavailable: {},
      vbrequired: 0,
      previousblockhash: tip.hash,
      transactions: [],
      coinbaseaux: {},
      coinbasevalue: Number(this.subsidy(height)),
      longpollid: `${tip.hash}${this.updates}`,
      target: this.target.toString(16).padStart(64, '0'),
      mintime,
      mutable: ['time', 'transactions', 'prevblock'],
      noncerange: '00000000ffffffff',
      sigoplimit: 80000,
      sizelimit: 4000000,
      weightlimit: 4000000,
      curtime,
      bits: hex32(this.bits),
      height,
      default_witness_commitment: emptyBlockWitnessCommitment(this.sha256d).toString('hex'),
    }
    return this.current
  }

  /** The block at `height` of the active chain. */
  blockAt(height: number): ChainBlock | undefined {
    const hash = this.active[height]
    return hash === undefined ? undefined : this.blocks.get(hash)
  }

  block(hash: string): ChainBlock | undefined {
    return this.blocks.get(hash)
  }

  /** Confirmations as `getblockheader` reports them (-1 off the active chain). */
  confirmations(block: ChainBlock): number {
    return this.active[block.height] === block.hash ? this.tip.height - block.height + 1 : -1
  }

  /** Median of the last 11 block times ending at `hash`. */
  medianTimePast(hash: string): number {
    const times: number[] = []
    let block = this.blocks.get(hash)
    while (block !== undefined && times.length < 11) {
      times.push(block.header.readUInt32LE(68))
      block = block.height === 0 ? undefined : this.blocks.get(display(block.header.subarray(4, 36)))
    }
    times.sort((a, b) => a - b)
    return times[Math.floor(times.length / 2)] as number
  }

  /** `submitblock`: checks the block like Bitcoin Core and, when it extends the tip, makes it the tip. */
  submit(hex: string): SubmitOutcome {
    let hash: string | undefined
    let height: number | undefined
    const result = this.check(hex, (h, ht) => {
      hash = h
      height = ht
    })
    const level = result === null ? 'info' : 'warn'
    this.log?.[level]({ simulated: true, hash, height, result }, result === null ? `SIMULATED chain: block ${height} accepted` : `SIMULATED chain: block rejected (${result})`)
    return { result, hash, height }
  }

  private check(hex: string, report: (hash: string, height: number | undefined) => void): string | null {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new RpcFailure(-22, 'Block decode failed')
    let decoded: ReturnType<typeof decodeBlock>
    try {
      decoded = decodeBlock(Buffer.from(hex, 'hex'))
    } catch (err) {
      if (err instanceof BlockDecodeError) throw new RpcFailure(-22, 'Block decode failed')
      throw err
    }
    const { header, txs } = decoded
    const coinbase = txs[0]
    if (coinbase === undefined || !isCoinbase(coinbase)) throw new RpcFailure(-22, 'Block does not start with a coinbase')
    const hash = this.hashOf(header)
    const prevHash = display(header.subarray(4, 36))
    const prev = this.blocks.get(prevHash)
    report(hash, prev === undefined ? undefined : prev.height + 1)

    // submitblock: a block already known.
    if (this.blocks.has(hash)) return 'duplicate'
    if (this.invalid.has(hash)) return 'duplicate-invalid'

    // CheckBlock: proof of work, merkle root, size, transactions.
    const bits = header.readUInt32LE(72)
    if (!this.meetsPow(header, bits)) return 'high-hash'
    const { root, mutated } = merkleRootMutated(
      txs.map((tx) => this.sha256d(tx.stripped)),
      this.sha256d,
    )
    if (!root.equals(header.subarray(36, 68))) return 'bad-txnmrklroot'
    if (mutated) return 'bad-txns-duplicate'
    const strippedSize = 80 + varIntLength(txs.length) + txs.reduce((n, tx) => n + tx.stripped.length, 0)
    if (txs.length * 4 > MAX_BLOCK_WEIGHT || strippedSize * 4 > MAX_BLOCK_WEIGHT) return 'bad-blk-length'
    if (txs.slice(1).some(isCoinbase)) return 'bad-cb-multiple'
    for (const [i, tx] of txs.entries()) {
      const reason = checkTransaction(tx, i === 0)
      if (reason !== undefined) return reason
    }

    // AcceptBlockHeader / ContextualCheckBlockHeader.
    if (prev === undefined) return 'prev-blk-not-found'
    const height = prev.height + 1
    if (bits !== this.bits) return this.markInvalid(hash, 'bad-diffbits')
    const time = header.readUInt32LE(68)
    if (time <= this.medianTimePast(prev.hash)) return this.markInvalid(hash, 'time-too-old')
    if (time > Math.floor(this.clock() / 1000) + MAX_FUTURE_BLOCK_TIME) return 'time-too-new'
    const version = header.readInt32LE(0)
    if (version < 4) return this.markInvalid(hash, `bad-version(0x${hex32(version >>> 0)})`)

    // ContextualCheckBlock: BIP34 height, BIP141 witness commitment, weight.
    const push = heightPush(height)
    if (!(coinbase.inputs[0] as { scriptSig: Buffer }).scriptSig.subarray(0, push.length).equals(push)) return this.markInvalid(hash, 'bad-cb-height')
    const witness = this.checkWitness(txs)
    if (witness !== undefined) return witness // BLOCK_MUTATED: Core does not cache it as invalid
    const weight = strippedSize * 3 + 80 + varIntLength(txs.length) + txs.reduce((n, tx) => n + tx.raw.length, 0)
    if (weight > MAX_BLOCK_WEIGHT) return this.markInvalid(hash, 'bad-blk-weight')

    // A valid block that does not extend the tip is stored, not connected.
    const block: ChainBlock = { hash, height, header: Buffer.from(header), nTx: txs.length }
    if (height <= this.tip.height) {
      this.blocks.set(hash, block)
      return 'inconclusive'
    }

    // ConnectBlock: no mempool, so nothing but the coinbase can be spent; the coinbase pays at most the subsidy.
    if (txs.length > 1) return this.markInvalid(hash, 'bad-txns-inputs-missingorspent')
    const paid = coinbase.outputs.reduce((n, out) => n + out.value, 0n)
    if (paid > this.subsidy(height)) return this.markInvalid(hash, 'bad-cb-amount')
    if (paid < this.subsidy(height)) this.log?.warn({ simulated: true, hash, paid: paid.toString() }, 'SIMULATED chain: the coinbase pays less than it may; the difference is burnt')

    this.blocks.set(hash, block)
    this.activate(block)
    this.store(block)
    this.accepted++
    return null
  }

  private markInvalid(hash: string, reason: string): string {
    this.invalid.add(hash)
    return reason
  }

  private meetsPow(header: Buffer, bits: number): boolean {
    const negative = (bits & 0x00800000) !== 0 && (bits & 0x007fffff) !== 0
    const target = targetFromBits(bits)
    if (negative || target === 0n || target > REGTEST_POW_LIMIT) return false
    return BigInt(`0x${this.hashOf(header)}`) <= target
  }

  /** CheckWitnessMalleation, after submitblock's UpdateUncommittedBlockStructures (a missing reserved value is added). */
  private checkWitness(txs: readonly DecodedTx[]): string | undefined {
    const coinbase = txs[0] as DecodedTx
    let commitPos = -1
    coinbase.outputs.forEach((out, i) => {
      if (out.script.length >= 38 && out.script.subarray(0, 6).equals(WITNESS_COMMITMENT_HEADER)) commitPos = i
    })
    if (commitPos < 0) return txs.some((tx) => tx.hasWitness) ? 'unexpected-witness' : undefined
    const stack = coinbase.hasWitness ? (coinbase.inputs[0] as { witness: readonly Buffer[] }).witness : [Buffer.alloc(32)]
    const reserved = stack[0]
    if (stack.length !== 1 || reserved === undefined || reserved.length !== 32) return 'bad-witness-nonce-size'
    const wtxids = [Buffer.alloc(32), ...txs.slice(1).map((tx) => this.sha256d(tx.raw))]
    const commitment = this.sha256d(Buffer.concat([merkleRootMutated(wtxids, this.sha256d).root, reserved]))
    if (!commitment.equals((coinbase.outputs[commitPos] as { script: Buffer }).script.subarray(6, 38))) return 'bad-witness-merkle-match'
    return undefined
  }

  /** Makes `block` the tip (its branch becomes the active chain) and announces the new template. */
  private activate(block: ChainBlock): void {
    const branch: string[] = []
    let b: ChainBlock | undefined = block
    while (b !== undefined && this.active[b.height] !== b.hash) {
      branch.unshift(b.hash)
      b = this.blocks.get(display(b.header.subarray(4, 36)))
    }
    this.active = [...this.active.slice(0, block.height - branch.length + 1), ...branch]
    this.updates++
    this.current = undefined
    for (const listener of [...this.listeners]) listener()
  }

  private store(block: ChainBlock): void {
    if (this.storePath === undefined) return
    try {
      mkdirSync(dirname(this.storePath), { recursive: true })
      appendFileSync(this.storePath, `${JSON.stringify({ hash: block.hash, height: block.height, header: block.header.toString('hex'), nTx: block.nTx })}\n`)
    } catch (err) {
      // The chain goes on in memory; a later run starts from an older tip.
      this.log?.error({ err, path: this.storePath }, 'SIMULATED chain: could not save the block')
    }
  }

  /** Loads saved blocks: each must hash right and extend a known block; others are skipped. */
  private load(path: string): void {
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    let best: ChainBlock | undefined
    let skipped = 0
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      try {
        const saved = JSON.parse(line) as { header: string; nTx: number }
        const header = Buffer.from(saved.header, 'hex')
        const prev = header.length === 80 ? this.blocks.get(display(header.subarray(4, 36))) : undefined
        if (prev === undefined || !this.meetsPow(header, header.readUInt32LE(72)) || header.readUInt32LE(72) !== this.bits) {
          skipped++
          continue
        }
        const block: ChainBlock = { hash: this.hashOf(header), height: prev.height + 1, header, nTx: Number(saved.nTx) || 1 }
        this.blocks.set(block.hash, block)
        if (best === undefined || block.height > best.height) best = block
      } catch {
        skipped++
      }
    }
    if (best !== undefined) this.activate(best)
    this.log?.info({ simulated: true, path, height: this.tip.height, skipped }, 'SIMULATED chain: saved blocks loaded')
  }

  private hashOf(header: Buffer): string {
    return display(this.sha256d(header))
  }
}

/** What CheckTransaction reads of a transaction (a decoded one here, a parsed one in the tests' fake bitcoind). */
export interface CheckedTx {
  readonly inputs: readonly { readonly prevTxid: Buffer; readonly prevIndex: number; readonly scriptSig: Buffer }[]
  readonly outputs: readonly { readonly value: bigint }[]
}

/** Core's CheckTransaction (consensus/tx_check.cpp), the context-free rules: the reject reason, or undefined. */
export function checkTransaction(tx: CheckedTx, coinbase: boolean): string | undefined {
  if (tx.inputs.length === 0) return 'bad-txns-vin-empty'
  if (tx.outputs.length === 0) return 'bad-txns-vout-empty'
  let total = 0n
  for (const out of tx.outputs) {
    if (out.value > MAX_MONEY) return 'bad-txns-vout-toolarge'
    total += out.value
    if (total > MAX_MONEY) return 'bad-txns-txouttotal-toolarge'
  }
  const seen = new Set<string>()
  for (const input of tx.inputs) {
    const key = `${input.prevTxid.toString('hex')}:${input.prevIndex}`
    if (seen.has(key)) return 'bad-txns-inputs-duplicate'
    seen.add(key)
  }
  if (coinbase) {
    const length = tx.inputs[0]?.scriptSig.length ?? 0
    if (length < 2 || length > 100) return 'bad-cb-length'
  } else if (tx.inputs.some((input) => input.prevIndex === 0xffffffff && input.prevTxid.every((b) => b === 0))) {
    return 'bad-txns-prevout-null'
  }
  return undefined
}

/**
 * The BIP141 commitment script of a block with only a coinbase: the witness
 * tree has one leaf (the coinbase's wtxid, defined as zero), so its root is
 * zero; the commitment is sha256d(root || 32-byte zero reserved value).
 */
export function emptyBlockWitnessCommitment(sha256d: Sha256d): Buffer {
  return Buffer.concat([WITNESS_COMMITMENT_HEADER, sha256d(Buffer.alloc(64))])
}

/** Core's `arith_uint256::GetCompact`: the canonical compact form of a target. */
export function compactBits(target: bigint): number {
  if (target <= 0n) return 0
  let size = Math.ceil(target.toString(16).length / 2)
  let mantissa = size <= 3 ? Number(target << BigInt(8 * (3 - size))) : Number(target >> BigInt(8 * (size - 3)))
  if (mantissa & 0x00800000) {
    mantissa >>= 8
    size++
  }
  return ((size << 24) | mantissa) >>> 0
}

/** Core's GetDifficulty: difficulty 1 (0x1d00ffff) over the target of `bits`. */
export function difficultyOfBits(bits: number): number {
  let shift = (bits >>> 24) & 0xff
  let diff = 0x0000ffff / (bits & 0x00ffffff)
  while (shift < 29) {
    diff *= 256
    shift++
  }
  while (shift > 29) {
    diff /= 256
    shift--
  }
  return diff
}

function varIntLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}

/** Internal byte order → display (RPC) hex. */
function display(bytes: Uint8Array): string {
  return Buffer.from(bytes).reverse().toString('hex')
}
