/**
 * Builds the configured work sources. Checks what the schema alone cannot
 * (addresses against the network, the coinbase tag's room in the scriptSig)
 * so `check-config` reports the same problems `run` would hit.
 */
import { dirname, join } from 'node:path'
import { readFileSync } from 'node:fs'
import type { BitcoindSourceConfig, Config, UpstreamSourceConfig } from '../config/index.js'
import { ConfigError } from '../errors.js'
import type { Logger } from '../log.js'
import { BitcoindClient, rpcOptionsFromConfig } from '../bitcoind/index.js'
import { addressToScript } from './address.js'
import { maxTagLength } from './coinbase.js'
import { FoundBlockStore } from './found-blocks.js'
import { failoverProblems } from './failover-config.js'
import type { JobSource } from './job-source.js'
import type { Sha256d } from './merkle.js'
import { TemplateSource } from './template-source.js'
import { parseStratumUrl, type UpstreamEndpoint } from './upstream-client.js'
import { UpstreamSource } from './upstream-source.js'

/** A height far beyond today's (a 4-byte BIP34 push) to size the scriptSig for the years ahead. */
const SIZING_HEIGHT = 8_388_608

/** Every problem in the sources' addresses and tags, one line each (empty when fine). */
export function sourceProblems(config: Config): string[] {
  const problems: string[] = []
  const extranonceSize = config.stratum.extranonce1_size + config.stratum.extranonce2_size
  config.sources.forEach((source, i) => {
    const at = `sources.${i}`
    if (source.type === 'upstream') {
      if (source.tls_ca !== '') {
        try {
          readFileSync(source.tls_ca)
        } catch (err) {
          problems.push(`${at}.tls_ca: cannot read ${source.tls_ca}: ${(err as Error).message}`)
        }
      }
      return
    }
    for (const key of ['payout_address', 'treasury_address'] as const) {
      if (source[key] === '') continue
      try {
        addressToScript(source[key], source.network)
      } catch (err) {
        problems.push(`${at}.${key}: ${(err as Error).message}`)
      }
    }
    const tagBytes = Buffer.byteLength(source.coinbase_tag, 'utf8')
    const room = maxTagLength(SIZING_HEIGHT, extranonceSize)
    if (tagBytes > room) {
      problems.push(`${at}.coinbase_tag: ${tagBytes} bytes, at most ${room} fit in the coinbase scriptSig with ${extranonceSize} bytes of extranonce space`)
    }
  })
  problems.push(...failoverProblems(config))
  return problems
}

/** Where found blocks are kept: beside the ledger folder. */
export function foundBlocksPath(config: Config): string {
  return join(dirname(config.ledger.path), 'found-blocks.jsonl')
}

export interface BuiltSources {
  readonly sources: readonly JobSource[]
  /** The found-block store the sources write to (undefined without sources). */
  readonly blocks: FoundBlockStore | undefined
  close(): Promise<void>
}

/** Builds every configured source (not started). Throws ConfigError with every problem. */
export async function buildSources(config: Config, deps: { log: Logger; sha256d: Sha256d; source?: string }): Promise<BuiltSources> {
  const problems = sourceProblems(config)
  if (problems.length > 0) throw new ConfigError('HF_CONFIG_INVALID', problems, deps.source === undefined ? {} : { source: deps.source })
  if (config.sources.length === 0) return { sources: [], blocks: undefined, close: async () => {} }
  const blocks = await FoundBlockStore.open(foundBlocksPath(config))
  const sources = config.sources.map((s) => (s.type === 'upstream' ? upstreamSource(s, config, deps) : bitcoindSource(s, config, blocks, deps)))
  return { sources, blocks, close: () => blocks.close() }
}

/** An upstream pool source (proxy mode, docs/proxy.md); the URL was checked by the schema. */
function upstreamSource(s: UpstreamSourceConfig, config: Config, deps: { log: Logger }): UpstreamSource {
  return new UpstreamSource({
    name: s.name,
    endpoint: parseStratumUrl(s.url) as UpstreamEndpoint,
    user: s.user,
    password: s.password,
    versionMask: config.stratum.version_mask,
    followReconnect: s.follow_reconnect,
    connectTimeoutMs: s.connect_timeout_ms,
    responseTimeoutMs: s.response_timeout_ms,
    idleTimeoutMs: s.idle_timeout_s * 1000,
    reconnectMinMs: s.reconnect_min_ms,
    reconnectMaxMs: s.reconnect_max_ms,
    tlsCa: s.tls_ca === '' ? undefined : readFileSync(s.tls_ca),
    tlsInsecure: s.tls_insecure,
    prefixSize: config.stratum.extranonce1_size,
    maxMinerExtranonce2: config.stratum.extranonce2_size,
    maxConsecutiveRejects: s.max_consecutive_rejects,
    log: deps.log,
  })
}

function bitcoindSource(s: BitcoindSourceConfig, config: Config, blocks: FoundBlockStore, deps: { log: Logger; sha256d: Sha256d }): TemplateSource {
  const log = deps.log.child({ component: 'bitcoind', source: s.name })
  return new TemplateSource({
    name: s.name,
    network: s.network,
    nodes: s.nodes.map((node) => new BitcoindClient(rpcOptionsFromConfig(node, s.network, { timeoutMs: s.rpc_timeout_ms, log }))),
    payoutScript: addressToScript(s.payout_address, s.network),
    treasury:
      s.treasury_percent > 0 ? { script: addressToScript(s.treasury_address, s.network), basisPoints: Math.round(s.treasury_percent * 100) } : undefined,
    tag: s.coinbase_tag,
    extranonceSize: config.stratum.extranonce1_size + config.stratum.extranonce2_size,
    versionMask: config.stratum.version_mask,
    refreshMs: s.refresh_s * 1000,
    pollMs: s.poll_ms,
    longpoll: s.longpoll,
    zmqHashblock: s.zmq_hashblock,
    blocks,
    sha256d: deps.sha256d,
    log: deps.log,
  })
}
