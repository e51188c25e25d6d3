/**
 * Networks as Headframe names them (the config's `network`) against what
 * Bitcoin Core calls them: the `chain` field of `getblockchaininfo`
 * (`CChainParams::GetChainTypeString`) and the datadir subfolder its cookie
 * file lives in (`-testnet` writes `testnet3/`, mainnet the datadir root).
 */
import { join } from 'node:path'
import type { Network } from '../config/index.js'

export type { Network }

/** `getblockchaininfo.chain` for each network. */
export const CHAIN_NAMES: Readonly<Record<Network, string>> = Object.freeze({
  mainnet: 'main',
  testnet3: 'test',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
})

/** The datadir subfolder of each network ('' = the datadir itself). */
export const DATADIR_SUBFOLDERS: Readonly<Record<Network, string>> = Object.freeze({
  mainnet: '',
  testnet3: 'testnet3',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
})

/** The network whose `getblockchaininfo.chain` is `chain`, if any. */
export function networkOfChain(chain: string): Network | undefined {
  for (const [network, name] of Object.entries(CHAIN_NAMES)) if (name === chain) return network as Network
  return undefined
}

/** `<datadir>[/<network subfolder>]/.cookie`, where bitcoind writes its RPC cookie. */
export function cookiePath(datadir: string, network: Network): string {
  const sub = DATADIR_SUBFOLDERS[network]
  return sub === '' ? join(datadir, '.cookie') : join(datadir, sub, '.cookie')
}

/**
 * The `rules` getblocktemplate must be called with on `network`: segwit
 * always (Bitcoin Core refuses without it), signet too on signet.
 */
export function templateRules(network: Network): string[] {
  return network === 'signet' ? ['segwit', 'signet'] : ['segwit']
}
