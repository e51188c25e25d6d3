/**
 * `BitcoindClient`: the typed calls Headframe makes to one bitcoind, on top
 * of `RpcClient` (transport, auth, timeouts, retries). Each answer is
 * validated at this edge (answers.ts); `checkReady` tells whether the node
 * can serve work for the configured network.
 */
import { BitcoindError } from '../errors.js'
import {
  blockchainInfoSchema,
  blockHashSchema,
  blockHeaderInfoSchema,
  blockTemplateSchema,
  parseAnswer,
  submitBlockSchema,
  type BlockchainInfo,
  type BlockHeaderInfo,
  type BlockTemplate,
} from './answers.js'
import { CHAIN_NAMES, type Network } from './network.js'
import { RpcClient, type CallOptions, type RpcClientOptions } from './rpc-client.js'

export class BitcoindClient {
  readonly rpc: RpcClient

  constructor(options: RpcClientOptions) {
    this.rpc = new RpcClient(options)
  }

  /** The node URL without credentials. */
  get url(): string {
    return this.rpc.url
  }

  /** Any RPC; the result is not validated. */
  call(method: string, params?: readonly unknown[] | Readonly<Record<string, unknown>>, options?: CallOptions): Promise<unknown> {
    return this.rpc.call(method, params, options)
  }

  /**
   * `getblocktemplate {"rules": rules[, "longpollid": longpollid]}`. With a
   * `longpollid` bitcoind holds the answer until the template changes (a new
   * block, or new transactions after a while): pass a `timeoutMs` longer
   * than you are willing to wait, and call again on HF_BITCOIND_TIMEOUT.
   */
  async getBlockTemplate(rules: readonly string[], longpollid?: string, timeoutMs?: number): Promise<BlockTemplate> {
    const request: Record<string, unknown> = { rules: [...rules] }
    if (longpollid !== undefined) request.longpollid = longpollid
    const result = await this.rpc.call('getblocktemplate', [request], timeoutMs === undefined ? {} : { timeoutMs })
    return parseAnswer(blockTemplateSchema, result, { url: this.url, method: 'getblocktemplate' })
  }

  /**
   * `submitblock <hex>`: `null` when bitcoind accepted the block, else its
   * BIP 22 reason (`duplicate`, `inconclusive`, `high-hash`, ...). Never
   * retried here: on a `BitcoindError` with `transport` true the block may
   * or may not have arrived, and submitting it again is safe (`duplicate`).
   */
  async submitBlock(hex: string, timeoutMs?: number): Promise<string | null> {
    const result = await this.rpc.call('submitblock', [hex], timeoutMs === undefined ? {} : { timeoutMs })
    return parseAnswer(submitBlockSchema, result, { url: this.url, method: 'submitblock' })
  }

  async getBlockchainInfo(options?: CallOptions): Promise<BlockchainInfo> {
    const result = await this.rpc.call('getblockchaininfo', [], options)
    return parseAnswer(blockchainInfoSchema, result, { url: this.url, method: 'getblockchaininfo' })
  }

  /** The tip's hash (display-order hex). */
  async getBestBlockHash(options?: CallOptions): Promise<string> {
    const result = await this.rpc.call('getbestblockhash', [], options)
    return parseAnswer(blockHashSchema, result, { url: this.url, method: 'getbestblockhash' })
  }

  /** A block's header and place in the chain (`confirmations` -1 = not in the active chain). RPC error -5 when unknown. */
  async getBlockHeader(hash: string, options?: CallOptions): Promise<BlockHeaderInfo> {
    const result = await this.rpc.call('getblockheader', [hash, true], options)
    return parseAnswer(blockHeaderInfoSchema, result, { url: this.url, method: 'getblockheader' })
  }

  /**
   * Whether the node can serve work for `network`: `getblockchaininfo`, then
   * the chain must match (HF_BITCOIND_WRONG_NETWORK) and the node must be out
   * of initial block download (HF_BITCOIND_IBD). A node still starting
   * answers -28 (HF_BITCOIND_WARMING_UP). Resolves with the info when ready.
   */
  async checkReady(network: Network, options?: CallOptions): Promise<BlockchainInfo> {
    const info = await this.getBlockchainInfo(options)
    assertReady(info, network, this.url)
    return info
  }

  /** Ends calls in flight and the connections. */
  close(): Promise<void> {
    return this.rpc.close()
  }
}

/** Throws HF_BITCOIND_WRONG_NETWORK or HF_BITCOIND_IBD when `info` says the node cannot serve work for `network`. */
export function assertReady(info: BlockchainInfo, network: Network, url: string): void {
  const expected = CHAIN_NAMES[network]
  if (info.chain !== expected) {
    throw new BitcoindError(
      'HF_BITCOIND_WRONG_NETWORK',
      `bitcoind at ${url} runs chain "${info.chain}" but the configured network is ${network} (chain "${expected}")`,
      { url, method: 'getblockchaininfo' },
    )
  }
  if (info.initialblockdownload) {
    const progress = (info.verificationprogress * 100).toFixed(2)
    throw new BitcoindError(
      'HF_BITCOIND_IBD',
      `bitcoind at ${url} is in initial block download (block ${info.blocks} of ${info.headers} headers, ${progress} % verified)`,
      { url, method: 'getblockchaininfo', retryable: true },
    )
  }
}
