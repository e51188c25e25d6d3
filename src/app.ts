/**
 * The pool process: composes the components from a validated config.
 *
 * Today it brings up logging and the hasher. The Stratum server, job
 * sources, ledger and HTTP API join here as they land; until a work source
 * exists the pool says so at start and every few minutes, and keeps running
 * so that a systemd unit stays up.
 */
import type { Config, ConfigOrigin } from './config/index.js'
import { redactConfig } from './config/index.js'
import type { Logger } from './log.js'
import { selectHasher, type Hasher, type HasherEnv } from './shares/hasher.js'
import { PACKAGE_VERSION } from './package-info.js'

/** How often the "no work source" reminder repeats. */
const IDLE_REMINDER_MS = 10 * 60 * 1000

export interface PoolOptions {
  readonly config: Config
  readonly origin: ConfigOrigin
  readonly log: Logger
  /** Environment for the hasher choice (HEADFRAME_HASHER, HEADFRAME_SHA256). */
  readonly env?: HasherEnv
}

/** A running pool; `stop()` releases everything it holds. */
export interface Pool {
  readonly hasher: Hasher
  stop(): Promise<void>
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

  const idle = (): void => log.warn('no work source configured: miners cannot be given work yet (this version has no bitcoind or upstream source)')
  idle()
  const reminder = setInterval(idle, IDLE_REMINDER_MS)

  return {
    hasher,
    async stop() {
      clearInterval(reminder)
      log.info('headframe stopped')
    },
  }
}
