/**
 * From a `[[sources.nodes]]` config table to `RpcClientOptions`: which
 * credentials (user/password, an explicit cookie file, or the cookie in the
 * datadir's network subfolder) and the timeout.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { BitcoindNodeConfig } from '../config/index.js'
import type { Logger } from '../log.js'
import { cookiePath, type Network } from './network.js'
import type { RpcClientOptions } from './rpc-client.js'

/**
 * Options for one configured node. Precedence: `user` (+ `password`), then
 * `cookie_file`, then `datadir`, then bitcoind's default datadir
 * (`~/.bitcoin`) with the network subfolder.
 */
export function rpcOptionsFromConfig(
  node: BitcoindNodeConfig,
  network: Network,
  extra: { timeoutMs?: number; log?: Logger; defaultDatadir?: string } = {},
): RpcClientOptions {
  const auth =
    node.user !== ''
      ? { user: node.user, password: node.password }
      : node.cookie_file !== ''
        ? { cookieFile: node.cookie_file }
        : { cookieFile: cookiePath(node.datadir !== '' ? node.datadir : (extra.defaultDatadir ?? join(homedir(), '.bitcoin')), network) }
  return {
    url: node.url,
    auth,
    ...(extra.timeoutMs === undefined ? {} : { timeoutMs: extra.timeoutMs }),
    ...(extra.log === undefined ? {} : { log: extra.log }),
  }
}
