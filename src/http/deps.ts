/**
 * What the HTTP server reads: the running parts of the pool, passed in
 * (never constructed here) so tests hand it real servers and ledgers.
 */
import type { HttpConfig } from '../config/index.js'
import type { Ledger } from '../ledger/index.js'
import type { Logger } from '../log.js'
import type { StratumServer } from '../server/stratum-server.js'
import type { Hasher } from '../shares/hasher.js'
import type { FailoverStatus, SwitchToResult } from '../jobs/failover-source.js'

/** A source's health as `TemplateSource.health()` reports it. */
export interface SourceHealthLike {
  readonly healthy: boolean
  readonly lastError: string | undefined
  readonly lastTemplateAt: number | undefined
  readonly height: number | undefined
}

/** A job source as the API lists it; `health` when the source reports one. */
export interface SourceEntry {
  readonly name: string
  readonly health?: () => SourceHealthLike
}

/** The failover over the sources (docs/failover.md): its judgement for stats, and the operator's forced switch. */
export interface FailoverControl {
  status(): FailoverStatus
  switchTo(name: string | null): SwitchToResult
}

export interface HttpDeps {
  readonly stratum: StratumServer
  readonly ledger: Ledger
  readonly hasher: Pick<Hasher, 'backend' | 'implementation'>
  readonly sources: readonly SourceEntry[]
  /** When the pool runs a failover over `sources`: `/api/sources`, metrics and the admin switch use it. */
  readonly failover?: FailoverControl
  readonly config: Pick<HttpConfig, 'host' | 'port' | 'admin_token'> & Partial<Pick<HttpConfig, 'enabled'>>
  readonly log: Logger
  /** ms clock; defaults to Date.now. Pass the Stratum server's clock. */
  readonly clock?: () => number
  /** When the pool started (ms, same clock). */
  readonly startedAt: number
  /** Most distinct `account` label values on metrics before `other` (default 100). */
  readonly maxMetricAccounts?: number
}

/** The deps with defaults filled in, as route modules take them. */
export interface HttpContext extends HttpDeps {
  readonly clock: () => number
}
