/**
 * From the `[payouts]` config to a running payout loop: the network payout
 * addresses are checked against, the account → address mapping, and the
 * sender of mode `onchain` (a bitcoind wallet named by a `[[sources]]`
 * entry or by its own URL and credentials).
 *
 * Every configured address is checked at start, so a typo stops the pool
 * with a clear message instead of failing a batch at payout time.
 */
import { rpcOptionsFromConfig } from '../bitcoind/index.js'
import type { BitcoindNodeConfig, Config, Network } from '../config/index.js'
import { ConfigError } from '../errors.js'
import { addressToScript } from '../jobs/address.js'
import type { BatchOp, Ledger, PayoutBatch } from '../ledger/index.js'
import type { Logger } from '../log.js'
import { OnchainSender } from './onchain-sender.js'
import { PayoutRunner, type PayoutEventType } from './payout-runner.js'
import type { PayoutSender } from './sender.js'

/** The network and RPC node of `[payouts.onchain]`. */
export function payoutNode(config: Config): { network: Network; node: BitcoindNodeConfig | undefined } {
  const onchain = config.payouts.onchain
  if (onchain.source !== '') {
    const source = config.sources.find((s) => s.name === onchain.source)
    if (source === undefined || source.type !== 'bitcoind') {
      throw new ConfigError('HF_CONFIG_INVALID', [`payouts.onchain.source: expected the name of a [[sources]] entry of type "bitcoind", got ${JSON.stringify(onchain.source)}`])
    }
    return { network: source.network, node: source.nodes[0] }
  }
  const { url, datadir, cookie_file, user, password, password_env } = onchain
  return { network: onchain.network, node: url === '' ? undefined : { url, datadir, cookie_file, user, password, password_env } }
}

/**
 * Account → payout address: `[payouts.addresses]` first, else the account
 * name itself when it is a valid address for `network`, else undefined.
 * @throws ConfigError listing every configured address that is not valid for `network`.
 */
export function payoutAddresses(addresses: Readonly<Record<string, string>>, network: Network): (account: string) => string | undefined {
  const problems: string[] = []
  for (const [account, address] of Object.entries(addresses)) {
    try {
      addressToScript(address, network)
    } catch (err) {
      problems.push(`payouts.addresses.${account}: expected a ${network} address, got one that is not (${(err as Error).message})`)
    }
  }
  if (problems.length > 0) throw new ConfigError('HF_CONFIG_INVALID', problems)
  const named = new Map<string, string | undefined>()
  return (account) => {
    if (Object.hasOwn(addresses, account)) return addresses[account]
    if (!named.has(account)) {
      let valid: string | undefined
      try {
        addressToScript(account, network)
        valid = account
      } catch {
        valid = undefined
      }
      named.set(account, valid)
    }
    return named.get(account)
  }
}

export interface PayoutSetup {
  readonly runner: PayoutRunner
  /** The onchain sender (mode onchain), for wallet balances in snapshots. */
  readonly sender: PayoutSender | undefined
  readonly network: Network
  /** Stops the loop, then closes the sender's connections. */
  stop(): Promise<void>
}

/** Builds (does not start) the payout loop of `config`. */
export function createPayouts(
  config: Config,
  deps: {
    readonly ledger: Ledger
    readonly log?: Logger | undefined
    readonly eventOps?: (type: PayoutEventType, batch: PayoutBatch) => BatchOp[]
    readonly eventsWritten?: () => void
  },
): PayoutSetup {
  const p = config.payouts
  const { network, node } = payoutNode(config)
  const addressOf = payoutAddresses(p.addresses, network)
  const log = deps.log?.child({ component: 'payouts' })
  let sender: PayoutSender | undefined
  if (p.mode === 'onchain') {
    if (node === undefined) throw new ConfigError('HF_CONFIG_INVALID', ['payouts.onchain: expected a source or a url when mode is "onchain"'])
    const rpc = rpcOptionsFromConfig(node, network, { timeoutMs: p.onchain.rpc_timeout_ms, ...(log === undefined ? {} : { log }) })
    sender = new OnchainSender({ rpc, wallet: p.onchain.wallet, minConf: p.onchain.min_conf, ...(log === undefined ? {} : { log }) })
  }
  const runner = new PayoutRunner({
    ledger: deps.ledger,
    sender,
    thresholdSats: BigInt(p.threshold_sats),
    addressOf,
    maxOutputs: p.onchain.max_outputs,
    reconcileGraceMs: p.onchain.reconcile_grace_s * 1000,
    confirmDepth: p.onchain.confirm_depth,
    dropDepth: p.onchain.drop_depth,
    log,
    ...(deps.eventOps === undefined ? {} : { eventOps: deps.eventOps }),
    ...(deps.eventsWritten === undefined ? {} : { eventsWritten: deps.eventsWritten }),
  })
  return {
    runner,
    sender,
    network,
    async stop() {
      await runner.stop()
      await sender?.close()
    },
  }
}
