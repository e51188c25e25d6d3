/** The bitcoind RPC client (docs/bitcoind.md). */
export { BitcoindClient, assertReady } from './client.js'
export { RpcClient, IDEMPOTENT_METHODS, DEFAULT_TIMEOUT_MS, type RpcClientOptions, type CallOptions, type RetryOptions } from './rpc-client.js'
export { RpcCredentials, type RpcAuth } from './auth.js'
export { RPC_IN_WARMUP, RPC_CLIENT_IN_INITIAL_DOWNLOAD, RPC_CLIENT_NOT_CONNECTED } from './rpc-answer.js'
export {
  MAX_MONEY_SATS,
  type BlockTemplate,
  type TemplateTransaction,
  type BlockchainInfo,
  type BlockHeaderInfo,
} from './answers.js'
export { CHAIN_NAMES, DATADIR_SUBFOLDERS, cookiePath, networkOfChain, templateRules, type Network } from './network.js'
export { rpcOptionsFromConfig } from './config.js'
export { BitcoindError, type BitcoindErrorCode, type BitcoindErrorDetails } from '../errors.js'
