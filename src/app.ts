/**
 * The pool process: composes the components from a validated config.
 *
 * Today: logging, the hasher, the ledger (LevelDB, the share sink), the
 * Stratum server, the first configured work source and the HTTP API;
 * failover joins here when it lands. Until a work source is attached the
 * pool says so at start and every few minutes; miners can connect,
 * subscribe and authorize, and get work as soon as there is some.
 */
import type { Config, ConfigOrigin } from './config/index.js'
import { redactConfig } from './config/index.js'
import type { Logger } from './log.js'
import { selectHasher, type Hasher, type HasherEnv } from './shares/hasher.js'
import { PACKAGE_VERSION } from './package-info.js'
import { StratumServer } from './server/index.js'
import type { JobSource } from './jobs/job-source.js'
import { buildSources } from './jobs/source-factory.js'
import { Ledger, ledgerOptions } from './ledger/index.js'
import { createHttpServer, type HttpServer } from './http/index.js'
import { ListenError } from './errors.js'
import { Vardiff, type VardiffOptions } from './vardiff/index.js'
import type { VardiffConfig } from './config/index.js'

/** How often found-block statuses (confirmations) are copied into the ledger. */
const BLOCK_SYNC_MS = 60_000
/** How often the "no work source" reminder repeats. */
const IDLE_REMINDER_MS = 10 * 60 * 1000

export interface PoolOptions {
  readonly config: Config
  readonly origin: ConfigOrigin
  readonly log: Logger
  /** Environment for the hasher choice (HEADFRAME_HASHER, HEADFRAME_SHA256). */
  readonly env?: HasherEnv
  /** A work source to attach instead of the configured ones (tests, embedding). */
  readonly source?: JobSource
}

/** A running pool; `stop()` releases everything it holds. */
export interface Pool {
  readonly hasher: Hasher
  readonly ledger: Ledger
  readonly stratum: StratumServer
  /** The Stratum port bound. */
  readonly port: number
  stop(): Promise<void>
}

/** The vardiff options of a config section. */
export function vardiffOptions(v: VardiffConfig): VardiffOptions {
  return {
    startDifficulty: v.start_difficulty,
    minDifficulty: v.min_difficulty,
    maxDifficulty: v.max_difficulty,
    targetInterval: v.target_interval_s,
    retargetInterval: v.retarget_interval_s,
    variance: v.variance,
    retargetShares: v.retarget_shares,
    fixedDifficulty: v.fixed_difficulty > 0 ? v.fixed_difficulty : undefined,
  }
}

/** Starts the pool. Throws a `HeadframeError` when it cannot start. */
export async function startPool(options: PoolOptions): Promise<Pool> {
  const { config, origin, log } = options
  log.info(
    {
      version: PACKAGE_VERSION,
      node: process.version,
      config: redactConfig(config),
      configSource: origin.kind === 'file' ? origin.path : 'built-in defaults',
    },
    'headframe starting',
  )

  const hasher = selectHasher(options.env)
  log.child({ component: 'hasher' }).info(
    { backend: hasher.backend, implementation: hasher.implementation, available: hasher.available, reason: hasher.reason },
    `hasher: ${hasher.backend} ${hasher.implementation}`,
  )

  // The ledger first: a share is answered "accepted" only once it is committed there.
  const ledger = await Ledger.open({
    ...ledgerOptions(config.ledger),
    groupCommitMs: config.ledger.group_commit_ms,
    groupCommitMax: config.ledger.group_commit_max,
    log: log.child({ component: 'ledger' }),
  })
  log.child({ component: 'ledger' }).info({ path: config.ledger.path, sync: config.ledger.sync }, 'ledger open')
  const difficulty = vardiffOptions(config.vardiff)
  const stratum = new StratumServer({ config: config.stratum, hasher, log, shareSink: ledger, difficulty: (now) => new Vardiff(difficulty, now) })
  let port: number
  try {
    ;({ port } = await stratum.listen())
  } catch (err) {
    await ledger.close()
    throw err
  }

  let built: Awaited<ReturnType<typeof buildSources>>
  try {
    built = await buildSources(config, { log, sha256d: hasher.sha256d, ...(origin.kind === 'file' ? { source: origin.path } : {}) })
  } catch (err) {
    await stratum.close()
    await ledger.close()
    throw err
  }
  // Failover between several sources is its own component (issue #5); until
  // then the first configured source serves.
  const source = options.source ?? built.sources[0]
  if (built.sources.length > 1) log.warn({ sources: built.sources.map((s) => s.name) }, 'several sources configured: only the first is used until failover lands')

  /** The HTTP API over the running parts (read-only; admin routes need the token). */
  async function startHttp(): Promise<HttpServer> {
    const server = createHttpServer({
      stratum,
      ledger,
      hasher,
      sources: source === undefined ? [] : [{ name: source.name, health: source.health?.bind(source) }],
      config: config.http,
      log: log.child({ component: 'http' }),
      startedAt: Date.now(),
    })
    try {
      const { port: httpPort } = await server.listen()
      log.child({ component: 'http' }).info({ host: config.http.host, port: httpPort, admin: config.http.admin_token !== '' }, 'http api listening')
    } catch (err) {
      await server.close().catch(() => {})
      throw new ListenError('HF_HTTP_LISTEN', `the HTTP API cannot listen on ${config.http.host}:${config.http.port}: ${(err as Error).message}`, { cause: err })
    }
    return server
  }

  // Found blocks reach the ledger from the found-block store (the record
  // written before submitblock): at start, after each block, and each minute
  // for confirmation changes. The import is idempotent.
  const syncBlocks = async (): Promise<void> => {
    if (built.blocks === undefined) return
    try {
      await ledger.importFoundBlocks(built.blocks.list())
    } catch (err) {
      log.error({ err }, 'found blocks could not be copied into the ledger; they stay in the found-block file')
    }
  }
  await syncBlocks()
  const blockSync = setInterval(() => void syncBlocks(), BLOCK_SYNC_MS)
  blockSync.unref()
  const onBlock = (): void => void syncBlocks()
  stratum.on('block', onBlock)

  let reminder: NodeJS.Timeout | undefined
  let http: HttpServer | undefined
  if (source !== undefined) {
    try {
      await source.start()
      if (config.http.enabled) http = await startHttp()
    } catch (err) {
      await source.stop().catch(() => {})
      // A pool that cannot start must not keep its port: systemd restarts it.
      clearInterval(blockSync)
      stratum.off('block', onBlock)
      await stratum.close()
      await built.close()
      await ledger.close()
      throw err
    }
    stratum.attachSource(source)
    log.info({ source: source.name }, 'work source started')
  } else {
    if (config.http.enabled) {
      try {
        http = await startHttp()
      } catch (err) {
        clearInterval(blockSync)
        stratum.off('block', onBlock)
        await stratum.close()
        await built.close()
        await ledger.close()
        throw err
      }
    }
    const idle = (): void =>
      log.warn('no work source configured: miners can connect but get no work yet (this version has no bitcoind or upstream source)')
    idle()
    reminder = setInterval(idle, IDLE_REMINDER_MS)
  }

  return {
    hasher,
    ledger,
    stratum,
    port,
    async stop() {
      // Each step on its own: one failing must not keep the ledger from
      // flushing and closing, which always comes last.
      const step = async (what: string, run: () => Promise<void> | void): Promise<void> => {
        try {
          await run()
        } catch (err) {
          log.error({ err }, `stopping: ${what} failed`)
        }
      }
      if (reminder !== undefined) clearInterval(reminder)
      clearInterval(blockSync)
      stratum.off('block', onBlock)
      await step('http api', () => http?.close())
      await step('stratum server', () => stratum.close())
      await step('work source', () => source?.stop())
      await step('found-block sync', syncBlocks)
      await step('found-block store', () => built.close())
      // Last: flushes every share still queued for a group commit.
      await ledger.close()
      log.info('headframe stopped')
    },
  }
}
