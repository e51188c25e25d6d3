/**
 * Builds the configured work sources. Checks what the schema alone cannot
 * (addresses against the network, the coinbase tag's room in the scriptSig)
 * so `check-config` reports the same problems `run` would hit.
 */
import { dirname, join } from 'node:path'
import type { BitcoindSourceConfig, Config } from '../config/index.js'
import { ConfigError } from '../errors.js'
import type { Logger } from '../log.js'
import { BitcoindClient, rpcOptionsFromConfig } from '../bitcoind/index.js'
import { addressToScript } from './address.js'
import { maxTagLength } from './coinbase.js'
import { FoundBlockStore } from './found-blocks.js'
import type { JobSource } from './job-source.js'
import type { Sha256d } from './merkle.js'
import { TemplateSource } from './template-source.js'

/** A height far beyond today's (a 4-byte BIP34 push) to size the scriptSig for the years ahead. */
const SIZING_HEIGHT = 8_388_608

/** Every problem in the sources' addresses and tags, one line each (empty when fine). */
export function sourceProblems(config: Config): string[] {
  const problems: string[] = []
  const extranonceSize = config.stratum.extranonce1_size + config.stratum.extranonce2_size
  config.sources.forEach((source, i) => {
    const at = `sources.${i}`
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
  const sources = config.sources.map((s) => bitcoindSource(s, config, blocks, deps))
  return { sources, blocks, close: () => blocks.close() }
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
