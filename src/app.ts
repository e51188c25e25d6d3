/**
 * The pool process: composes the components from a validated config.
 *
 * Today: logging, the hasher, the ledger (LevelDB, the share sink), the
 * Stratum server, the configured work sources behind a failover source
 * (docs/failover.md) and the HTTP API. Until a work source is attached the
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
import { FailoverSource } from './jobs/failover-source.js'
import { failoverOptions } from './jobs/failover-config.js'
import { Ledger, ledgerOptions } from './ledger/index.js'
import { Accounting, blockSubsidy, networkDifficultyFromBits, networkDifficultyFromBlockHex, payoutOptions } from './accounting/index.js'
import { createHttpServer, type HttpServer } from './http/index.js'
import { createPayouts, type PayoutSetup } from './payouts/payout-setup.js'
import type { PayoutRunner } from './payouts/payout-runner.js'
import { TreasuryEvents, WebhookDispatcher, payoutEvent, webhookTargets } from './webhooks/index.js'
import { ListenError } from './errors.js'
import { Vardiff, resolveVardiffOptions, type VardiffOptions } from './vardiff/index.js'
import type { VardiffConfig } from './config/index.js'
import { reloadPlan, type ReloadPlan } from './config/changes.js'

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
  /** The failover over the configured sources (undefined without sources, or with `options.source`). */
  readonly failover: FailoverSource | undefined
  /** The payout loop (mode report or onchain, docs/payouts.md). */
  readonly payouts: PayoutRunner
  /** Treasury webhook delivery (docs/webhooks.md). */
  readonly webhooks: WebhookDispatcher
  /**
   * Applies a reloaded config (SIGHUP): vardiff (for sessions that connect
   * from now on), `[stratum.auth]` and `[stratum.limits]` (address lists,
   * limits, ban length) and `[log] level` at once; every other changed key is listed in
   * `needsRestart`, logged, and not applied.
   */
  reload(config: Config): ReloadPlan
  /** Drains (stops accepting, answers shares in flight), then releases everything; the ledger is flushed and closed last. */
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
    log, // the ledger names itself (component "ledger") and logs "ledger open"
  })
  // Payouts and treasury webhooks (docs/payouts.md, docs/webhooks.md): built
  // now so a bad payout address stops the start early; started last,
  // stopped before the ledger closes. Nothing here opens a socket yet.
  const webhooks = new WebhookDispatcher({ ledger, targets: webhookTargets(config.webhooks), log: log.child({ component: 'webhooks' }) })
  let payouts: PayoutSetup
  try {
    payouts = createPayouts(config, { ledger, log, eventOps: (type, batch) => webhooks.ops(payoutEvent(type, batch, Date.now())), eventsWritten: () => webhooks.wake() })
  } catch (err) {
    await webhooks.stop()
    await ledger.close()
    throw err
  }
  const payoutSender = payouts.sender
  const treasury = new TreasuryEvents({ ledger, dispatcher: webhooks, wallet: payoutSender === undefined ? undefined : () => payoutSender.available(), log: log.child({ component: 'webhooks' }) })
  // Resolved once: every session's Vardiff shares this options object.
  let difficulty = resolveVardiffOptions(vardiffOptions(config.vardiff))
  /** The config in force: the start config with every reload's live keys applied. */
  let running: Config = config
  const stratum = new StratumServer({
    config: config.stratum,
    hasher,
    log,
    shareSink: ledger,
    difficulty: (now) => new Vardiff(difficulty, now),
    workPacing: { burst: config.stratum.work_burst, intervalMs: config.stratum.work_interval_ms },
  })
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
  // Every configured source runs; miners get the work of the first healthy
  // one (a single source is wrapped too: one place judges health for stats).
  const failover =
    options.source === undefined && built.sources.length > 0
      ? new FailoverSource({ sources: built.sources, ...failoverOptions(config.failover), log })
      : undefined
  const source = options.source ?? failover

  /** The HTTP API over the running parts (read-only; admin routes need the token). */
  async function startHttp(): Promise<HttpServer> {
    const server = createHttpServer({
      stratum,
      ledger,
      hasher,
      sources: failover !== undefined ? failover.sources.map((s) => ({ name: s.name, health: s.health?.bind(s) })) : source === undefined ? [] : [{ name: source.name, health: source.health?.bind(source) }],
      ...(failover === undefined ? {} : { failover }),
      config: config.http,
      log, // the HTTP server names itself (component "http")
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
  // Then crediting (src/accounting): matured blocks split by [payouts]
  // scheme, orphaned ones reversed, PPS periods; each step idempotent.
  const currentDifficulty = (): number | undefined => {
    const work = source?.current()
    return work === undefined ? undefined : networkDifficultyFromBits(work.nbits)
  }
  const regtest = config.sources.some((s) => 'network' in s && s.network === 'regtest')
  const accounting = new Accounting(ledger, {
    ...payoutOptions(config.payouts),
    networkDifficulty: (block) => {
      const hex = built.blocks?.get(block.hash)?.hex
      return (hex === undefined ? undefined : networkDifficultyFromBlockHex(hex)) ?? currentDifficulty()
    },
    ppsInputs: () => {
      const work = source?.current()
      if (work?.height === undefined) return undefined
      return { reward: blockSubsidy(work.height, regtest ? 150 : 210_000), networkDifficulty: networkDifficultyFromBits(work.nbits) }
    },
    log: log.child({ component: 'accounting' }),
  })
  const syncBlocks = async (): Promise<void> => {
    if (built.blocks !== undefined) {
      try {
        await ledger.importFoundBlocks(built.blocks.list())
      } catch (err) {
        log.error({ err }, 'found blocks could not be copied into the ledger; they stay in the found-block file')
      }
    }
    await accounting.run()
    await treasury.checkBlocks().catch((err: unknown) => log.error({ err }, 'block webhook events could not be queued; the next sync retries'))
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
    log.info({ source: source.name, sources: failover?.sources.map((s) => s.name) }, 'work source started')
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
      log.warn('no work source configured: miners can connect but get no work until a [[sources]] entry (bitcoind or an upstream pool) is added; see docs/config.md')
    idle()
    reminder = setInterval(idle, IDLE_REMINDER_MS)
  }

  try {
    await webhooks.start()
  } catch (err) {
    log.error({ err }, 'webhook delivery could not start; events stay queued in the ledger until the next start')
  }
  payouts.runner.start(config.payouts.interval_minutes * 60_000)
  treasury.start(config.payouts.balance_snapshot_minutes * 60_000)
  log.child({ component: 'payouts' }).info({ mode: config.payouts.mode, network: payouts.network, webhooks: config.webhooks.length }, 'payouts scheduled')

  return {
    hasher,
    ledger,
    stratum,
    port,
    failover,
    payouts: payouts.runner,
    webhooks,
    reload(next) {
      const plan = reloadPlan(running, next)
      if (plan.applied.some((key) => key.startsWith('vardiff.'))) difficulty = resolveVardiffOptions(vardiffOptions(next.vardiff))
      stratum.reload(next.stratum)
      if (plan.applied.includes('log.level')) log.level = next.log.level
      running = { ...running, vardiff: next.vardiff, stratum: { ...running.stratum, auth: next.stratum.auth, limits: next.stratum.limits }, log: { ...running.log, level: next.log.level } }
      const reloadLog = log.child({ component: 'reload' })
      reloadLog.info({ applied: plan.applied, needsRestart: plan.needsRestart }, plan.applied.length === 0 && plan.needsRestart.length === 0 ? 'config reloaded: nothing changed' : 'config reloaded')
      if (plan.needsRestart.length > 0) reloadLog.warn({ needsRestart: plan.needsRestart }, `changed keys that need a restart (not applied): ${plan.needsRestart.join(', ')}`)
      return plan
    },
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
      await step('stratum server', () => stratum.drain())
      await step('work source', () => source?.stop())
      await step('payouts', () => payouts.stop())
      await step('found-block sync', syncBlocks)
      await step('found-block store', () => built.close())
      await step('treasury events', () => treasury.stop())
      await step('webhooks', () => webhooks.stop())
      // Last: flushes every share still queued for a group commit.
      await ledger.close()
      log.info('headframe stopped')
    },
  }
}
