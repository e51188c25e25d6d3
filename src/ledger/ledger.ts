/**
 * The ledger: Headframe's accounting store on LevelDB (docs/ledger.md).
 *
 * It is the Stratum server's `ShareSink`: `record(share)` resolves only once
 * the share is in a committed (and, with `sync`, fsynced) group commit, so a
 * miner is told "accepted" only for shares that are on disk. It also keeps
 * the difficulty tallies, rounds, blocks, balances with their journal, and
 * upstream revenue, and answers the questions payouts and reports ask.
 */
import type { LedgerConfig } from '../config/index.js'
import type { Logger } from '../log.js'
import { type BlockChange, type BlockInput, type BlockStatus, type FoundBlockLike, type LedgerBlock, addBlock, getBlock, importFoundBlocks, listBlocks, updateBlock } from './blocks.js'
import { type JournalEntry, type PostingEntry, type PostingOptions, balance, balances, journal, post, postingByRef } from './balances.js'
import { EventRecorder, type EventTotal, type RejectedShare, type UpstreamResult, eventTotals, rejectEvent, upstreamEvent } from './event-tallies.js'
import { type PpsPeriodRecord, ppsPeriods, putPpsPeriod } from './pps-periods.js'
import { type LedgerContext, type LedgerDb, writeFailure } from './context.js'
import { type DifficultyQuery, type DifficultyTotal, type WorkerTotal, acceptedDifficulty, workerTotals } from './difficulty-query.js'
import { type SeriesPoint, type SeriesQuery, difficultySeries } from './difficulty-series.js'
import { GroupCommit } from './group-commit.js'
import { LedgerError } from './ledger-error.js'
import { type PplnsQuery, type PplnsWindow, pplnsWindow } from './pplns-window.js'
import { RetentionPruner } from './retention.js'
import { type RoundTotals, roundTotals } from './rounds.js'
import { SCHEMA_VERSION, openDatabase } from './schema-version.js'
import { commitShares } from './share-commit.js'
import { PendingTallies, foldTallies, recoverTallies } from './tally-fold.js'
import { type LedgerShare, type StoredShare, sharesBetween, validateShare } from './share-records.js'
import { TallyCache } from './tally.js'
import { type UpstreamRevenue, type UpstreamRevenueInput, addUpstreamRevenue, upstreamRevenue } from './upstream-revenue.js'
import { WriteLock } from './write-lock.js'
import { PayoutBatchStore } from './payout-batches.js'
import { Outbox } from './outbox.js'

export interface LedgerOptions {
  /** Folder of the LevelDB database (created if missing). */
  readonly path: string
  /** fsync each group commit: power-loss safe, slower accepts (docs/ledger.md). */
  readonly sync: boolean
  /** Days share records are kept; tallies, rounds, blocks and money are kept forever. */
  readonly retentionDays: number
  /** ms clock for ledger times (pruning, journal, block updates); tests move it. */
  readonly clock?: () => number
  readonly log?: Logger
  /** A group is written once its oldest share waited this long (ms). Default 1. */
  readonly groupCommitMs?: number
  /** ... or as soon as this many shares wait. Default 1000. */
  readonly groupCommitMax?: number
  /** Background prune period (ms); 0 = only `prune()`. Default 10 minutes. */
  readonly pruneIntervalMs?: number
  /** Share records deleted per prune batch. Default 1000. */
  readonly pruneBatchSize?: number
  /**
   * Tallies are written behind the share records, at most this long after
   * (ms), and before every read, flush and close (tally-fold.ts). Default 1000.
   */
  readonly tallyFoldMs?: number
}

/** The options the `[ledger]` config section sets. */
export function ledgerOptions(config: LedgerConfig): Pick<LedgerOptions, 'path' | 'sync' | 'retentionDays'> {
  return { path: config.path, sync: config.sync, retentionDays: config.retention_days }
}

/** Counters for logs and the stats API. */
export interface LedgerStats {
  /** Shares waiting for a group commit. */
  readonly queued: number
  readonly groups: number
  readonly failedGroups: number
  readonly shares: number
  readonly lastGroupSize: number
  /** Share records pruned since open. */
  readonly pruned: number
  /** The round new shares go to. */
  readonly round: number
  /** Upstream results and local rejects written, and those lost (malformed or a failed write). */
  readonly events: number
  readonly failedEvents: number
  /** Tally folds that failed, and the last one's error until a fold succeeds (the shares are safe; tally reads fail meanwhile). */
  readonly failedFolds: number
  readonly foldError: string | undefined
}

/**
 * Upstream answers and rejects (`recordUpstream`, `recordReject`) are
 * written at most this long after they happen (ms). They are tallies per
 * worker and minute that nobody waits for; a share group's 1 ms would write
 * the same keys hundreds of times a second under a flood of rejects
 * (docs/benchmarks.md, history). A crash loses at most this much of them.
 */
const EVENT_COMMIT_MS = 250

/** Told after each share group commit (ms, ms, shares). */
export type CommitListener = (writeMs: number, oldestWaitMs: number, items: number) => void

export class Ledger {
  /** Folder of the database. */
  readonly path: string
  private readonly commitListeners = new Set<CommitListener>()
  private readonly ctx: LedgerContext
  private readonly commits: GroupCommit<LedgerShare>
  private readonly pruner: RetentionPruner
  private readonly events: EventRecorder
  private closing: Promise<void> | undefined
  private payoutStore: PayoutBatchStore | undefined
  private outboxStore: Outbox | undefined
  /** What committed shares add to the tallies, until the next fold. */
  private readonly pending = new PendingTallies()
  private readonly tallyFoldMs: number
  private foldTimer: NodeJS.Timeout | undefined
  /** Folds run one at a time, in order (tally-fold.ts). */
  private foldChain: Promise<void> = Promise.resolve()
  private foldsRunning = 0
  /** A fold in the chain that has not taken its sums yet: later callers share it. */
  private queuedFold: Promise<void> | undefined
  /** The error of the last fold, until one succeeds (stats: a fold that keeps failing is not silent). */
  private foldError: string | undefined
  private failedFolds = 0

  private constructor(ctx: LedgerContext, options: LedgerOptions) {
    this.ctx = ctx
    this.path = ctx.path
    this.tallyFoldMs = options.tallyFoldMs ?? 1000
    this.commits = new GroupCommit<LedgerShare>({
      write: async (shares) => {
        await ctx.lock.run(() => commitShares(ctx, this.pending, shares))
        this.scheduleFold()
      },
      delayMs: options.groupCommitMs ?? 0,
      maxItems: options.groupCommitMax ?? 1000,
      written: (writeMs, oldestWaitMs, items) => {
        for (const listener of this.commitListeners) listener(writeMs, oldestWaitMs, items)
      },
    })
    // Upstream answers and rejects are statistics nobody waits for: written in fewer, larger groups than shares.
    this.events = new EventRecorder(ctx, { delayMs: EVENT_COMMIT_MS, maxItems: options.groupCommitMax ?? 1000 })
    this.pruner = new RetentionPruner(ctx, {
      retentionDays: options.retentionDays,
      batchSize: options.pruneBatchSize ?? 1000,
      intervalMs: options.pruneIntervalMs ?? 600_000,
    })
  }

  /**
   * Opens the ledger at `options.path`, creating it if missing.
   * @throws LedgerError `HF_LEDGER_OPEN`, `HF_LEDGER_LOCKED`,
   * `HF_LEDGER_CORRUPT` or `HF_LEDGER_VERSION`, each naming the path.
   */
  static async open(options: LedgerOptions): Promise<Ledger> {
    if (!Number.isSafeInteger(options.retentionDays) || options.retentionDays < 1) {
      throw new LedgerError('HF_LEDGER_INVALID', `retentionDays must be a positive integer, got ${String(options.retentionDays)}`)
    }
    const clock = options.clock ?? Date.now
    const log = options.log?.child({ component: 'ledger' })
    const { db, state, created } = await openDatabase(options.path, clock())
    const ctx: LedgerContext = { db, path: options.path, sync: options.sync, clock, log, state, lock: new WriteLock(), tallies: new TallyCache() }
    const ledger = new Ledger(ctx, options)
    try {
      const folded = await recoverTallies(ctx)
      if (folded > 0) log?.warn({ path: options.path, shares: folded }, 'ledger: tallied the shares an unclean stop left out of the tallies')
    } catch (err) {
      await db.close().catch(() => undefined)
      throw err
    }
    ledger.pruner.start()
    log?.info({ path: options.path, created, version: SCHEMA_VERSION, sync: options.sync, round: state.round }, 'ledger open')
    return ledger
  }

  // ---- shares ------------------------------------------------------------

  /**
   * Records an accepted share (the `ShareSink` contract): resolves once the
   * group commit holding it is written (and fsynced with `sync`); rejects
   * with `HF_LEDGER_WRITE` if that write failed, `HF_LEDGER_INVALID` for a
   * malformed share, `HF_LEDGER_CLOSED` after `close()`.
   */
  record(share: LedgerShare): Promise<void> {
    return new Promise<void>((resolve, reject) => this.recordWith(share, (err) => (err === undefined ? resolve() : reject(err))))
  }

  /**
   * `record` with a callback (`ShareSink.recordWith`, the server's share
   * path): `done(undefined)` once the share's group commit is written,
   * `done(error)` otherwise; always called later, never from inside this call.
   */
  recordWith(share: LedgerShare, done: (err: Error | undefined) => void): void {
    if (this.closing !== undefined) {
      const err = this.closedError('record')
      return queueMicrotask(() => done(err))
    }
    try {
      validateShare(share)
    } catch (err) {
      const error = asError(err)
      return queueMicrotask(() => done(error))
    }
    this.commits.addWith(share, done)
  }

  /**
   * Writes every share recorded before this call now (not after the group
   * delay); resolves once each is written or has failed. Shares recorded
   * meanwhile do not hold it up (PPS crediting waits for the shares of a
   * period this way while miners keep submitting).
   */
  async settleShares(): Promise<void> {
    await this.commits.settle()
  }

  /** Writes every queued share (and upstream result / reject) now; resolves when none is waiting. */
  async flush(): Promise<void> {
    await this.commits.flush()
    await this.events.flush()
    await this.foldTallies()
  }

  /**
   * Writes the tallies of every share committed so far (tally-fold.ts);
   * tally reads, `flush` and `close` do it first. Resolves once they are
   * written, after any fold already running.
   * @throws LedgerError `HF_LEDGER_WRITE`: the sums stay pending (and their
   * markers on disk) for the next fold; nothing is lost.
   */
  foldTallies(): Promise<void> {
    this.clearFoldTimer()
    if (this.pending.empty && this.foldsRunning === 0) return Promise.resolve()
    // A fold that has not taken the sums yet will take everything committed
    // until then: share it. At most one fold runs and one waits, however
    // many reads come (the API polled hard), each covering what gathered
    // meanwhile, as group commits do.
    if (this.queuedFold !== undefined) return this.queuedFold
    this.foldsRunning++
    const fold: Promise<void> = this.foldChain
      .then(async () => {
        // Taken under the write lock, where no group commit is between its
        // write and adding its sums; the fold's reads and write then run
        // beside the group commits, not in front of them.
        const epoch = await this.ctx.lock.run(async () => {
          if (this.queuedFold === fold) this.queuedFold = undefined
          return this.pending.take()
        })
        try {
          await foldTallies(this.ctx, epoch)
          this.foldError = undefined
        } catch (err) {
          this.pending.restore(epoch)
          this.failedFolds++
          this.foldError = err instanceof Error ? err.message : String(err)
          throw err
        }
      })
      .finally(() => {
        this.foldsRunning--
        if (this.queuedFold === fold) this.queuedFold = undefined
      })
    this.queuedFold = fold
    this.foldChain = fold.catch(() => undefined)
    return fold
  }

  private scheduleFold(): void {
    if (this.foldTimer !== undefined || this.closing !== undefined) return
    this.foldTimer = setTimeout(() => {
      this.foldTimer = undefined
      this.foldTallies().catch((err: unknown) => {
        // The shares are safe (records and markers on disk); the fold is retried after the next group or read.
        this.ctx.log?.error({ err }, 'ledger: writing the tallies failed; will retry')
      })
    }, this.tallyFoldMs)
    this.foldTimer.unref()
  }

  private clearFoldTimer(): void {
    if (this.foldTimer !== undefined) clearTimeout(this.foldTimer)
    this.foldTimer = undefined
  }

  /** Shares with `from <= time < to`, oldest first (only within the retention period). */
  sharesBetween(from: number, to: number): AsyncIterableIterator<StoredShare> {
    return sharesBetween(this.ctx, from, to)
  }

  /** Accepted shares and difficulty in [from, to), of everyone or of one account / worker. */
  acceptedDifficulty(query: DifficultyQuery): Promise<DifficultyTotal> {
    return this.readingTallies(() => acceptedDifficulty(this.ctx, query))
  }

  /** Per worker in [from, to): accepted shares, difficulty, first and last share time. */
  workers(query: { readonly from: number; readonly to: number; readonly account?: string }): Promise<{ workers: WorkerTotal[]; exact: boolean }> {
    return this.readingTallies(() => workerTotals(this.ctx, query))
  }

  /** The pool's accepted difficulty per minute or hour bucket in [from, to), empty buckets included (the hashrate chart). */
  difficultySeries(query: SeriesQuery): Promise<SeriesPoint[]> {
    return this.readingTallies(() => difficultySeries(this.ctx, query))
  }

  /** The last `difficulty` units of shares before a time or up to a block's share, per account. */
  pplnsWindow(query: PplnsQuery): Promise<PplnsWindow> {
    return this.readingTallies(() => pplnsWindow(this.ctx, query))
  }

  /** The round new shares count in. */
  currentRound(): number {
    return this.ctx.state.round
  }

  /** Totals of a round (undefined for a round not started yet). */
  roundTotals(round: number): Promise<RoundTotals | undefined> {
    return this.readingTallies(() => roundTotals(this.ctx, round))
  }

  // ---- upstream results and rejects (fire and forget) --------------------

  /**
   * Proxy mode (`ShareSink.recordUpstream`): tallies a forwarded share's
   * upstream answer per worker and minute. Never throws, never waits; a
   * result that cannot be written is counted in `stats.failedEvents`.
   */
  recordUpstream(result: UpstreamResult): void {
    if (this.closing !== undefined) return void this.events.failed++
    this.events.add(() => upstreamEvent(result))
  }

  /** Tallies a share the pool rejected (`ShareSink.recordReject`); like `recordUpstream`. */
  recordReject(reject: RejectedShare): void {
    if (this.closing !== undefined) return void this.events.failed++
    this.events.add(() => rejectEvent(reject))
  }

  /** Upstream answers per worker in [from, to) (exact to the minute). */
  upstreamTotals(query: { readonly from: number; readonly to: number; readonly account?: string }): Promise<{ workers: EventTotal[]; exact: boolean }> {
    return this.reading(() => eventTotals(this.ctx, 'u', query))
  }

  /** Local rejects per worker in [from, to) (exact to the minute). */
  rejectTotals(query: { readonly from: number; readonly to: number; readonly account?: string }): Promise<{ workers: EventTotal[]; exact: boolean }> {
    return this.reading(() => eventTotals(this.ctx, 'x', query))
  }

  // ---- blocks ------------------------------------------------------------

  /** Adds a block, or updates status / confirmations / reward of a known one. */
  addBlock(block: BlockInput): Promise<LedgerBlock> {
    return this.writing(() => addBlock(this.ctx, block))
  }

  /** Changes a known block's status, confirmations or reward. */
  updateBlock(hash: string, change: BlockChange): Promise<LedgerBlock> {
    return this.writing(() => updateBlock(this.ctx, hash, change))
  }

  /** Imports `FoundBlockStore.list()` (newer records win); returns how many were written. */
  importFoundBlocks(found: readonly FoundBlockLike[]): Promise<number> {
    return this.writing(() => importFoundBlocks(this.ctx, found))
  }

  block(hash: string): Promise<LedgerBlock | undefined> {
    return this.reading(() => getBlock(this.ctx, hash))
  }

  /** Blocks, highest first. */
  blocks(query: { readonly status?: BlockStatus } = {}): Promise<LedgerBlock[]> {
    return this.reading(() => listBlocks(this.ctx, query))
  }

  // ---- money -------------------------------------------------------------

  /** An account's balance in satoshis. */
  balance(account: string): Promise<bigint> {
    return this.reading(() => balance(this.ctx, account))
  }

  /** Every account's balance. */
  balances(): Promise<Map<string, bigint>> {
    return this.reading(() => balances(this.ctx))
  }

  /** Applies signed entries atomically with their journal entries; idempotent under `ref`. */
  post(entries: readonly PostingEntry[], options?: PostingOptions): Promise<JournalEntry[]> {
    return this.writing(() => post(this.ctx, entries, options))
  }

  /** Adds `amount` (> 0) satoshis to `account`. */
  async credit(account: string, amount: bigint, options?: PostingOptions): Promise<JournalEntry> {
    if (typeof amount !== 'bigint' || amount <= 0n) throw new LedgerError('HF_LEDGER_INVALID', `a credit must be a positive bigint, got ${String(amount)}`)
    const [entry] = await this.post([{ account, amount }], options)
    return entry as JournalEntry
  }

  /** Takes `amount` (> 0) satoshis from `account`; `HF_LEDGER_BALANCE` if it has less. */
  async debit(account: string, amount: bigint, options?: PostingOptions): Promise<JournalEntry> {
    if (typeof amount !== 'bigint' || amount <= 0n) throw new LedgerError('HF_LEDGER_INVALID', `a debit must be a positive bigint, got ${String(amount)}`)
    const [entry] = await this.post([{ account, amount: -amount }], options)
    return entry as JournalEntry
  }

  /** What a posting under `ref` wrote, or undefined if `ref` was never posted. */
  posting(ref: string): Promise<JournalEntry[] | undefined> {
    return this.reading(() => postingByRef(this.ctx, ref))
  }

  /** Writes a PPS period record (src/accounting/pps-crediting.ts). Fsynced. */
  putPpsPeriod(record: PpsPeriodRecord): Promise<void> {
    return this.writing(() => putPpsPeriod(this.ctx, record))
  }

  /** PPS period records, oldest first (newest first with `reverse`). */
  ppsPeriods(options?: { readonly reverse?: boolean; readonly limit?: number }): Promise<PpsPeriodRecord[]> {
    return this.reading(() => ppsPeriods(this.ctx, options))
  }

  /** Journal entries in order, of one account or all. */
  journal(query?: { readonly account?: string }): AsyncIterableIterator<JournalEntry> {
    return journal(this.ctx, query)
  }

  /** Records upstream revenue for a period (proxy mode). */
  addUpstreamRevenue(input: UpstreamRevenueInput): Promise<UpstreamRevenue> {
    return this.writing(() => addUpstreamRevenue(this.ctx, input))
  }

  /** Upstream revenue records overlapping [from, to). */
  upstreamRevenue(query?: { readonly from?: number; readonly to?: number }): Promise<UpstreamRevenue[]> {
    return this.reading(() => upstreamRevenue(this.ctx, query))
  }

  // ---- payout batches and webhook outbox ---------------------------------

  /** Payout batch records: created with their debits, then sent or failed (src/ledger/payout-batches.ts). */
  get payoutBatches(): PayoutBatchStore {
    return (this.payoutStore ??= new PayoutBatchStore(this.ctx, (fn) => this.writing(fn)))
  }

  /** The persisted webhook outbox and block notices (src/ledger/outbox.ts). */
  get outbox(): Outbox {
    return (this.outboxStore ??= new Outbox(this.ctx, (fn) => this.writing(fn)))
  }

  // ---- upkeep ------------------------------------------------------------

  /** Prunes share records past retention now; resolves to the number deleted. */
  prune(): Promise<number> {
    if (this.closing !== undefined) return Promise.reject(this.closedError('prune'))
    return this.pruner.run()
  }

  /**
   * Follows share group commits (metrics): each written group's LevelDB
   * write time and its oldest share's wait from queueing to committed (ms).
   * Returns the unsubscribe function. A throwing listener is the caller's bug
   * and is not caught here: listeners must not throw.
   */
  onCommit(listener: CommitListener): () => void {
    this.commitListeners.add(listener)
    return () => this.commitListeners.delete(listener)
  }

  /** Set once an I/O error stopped every write until the ledger is reopened (a restart): the error text. */
  get writeFailure(): string | undefined {
    return writeFailure(this.ctx)
  }

  get stats(): LedgerStats {
    const c = this.commits.counters
    return {
      queued: this.commits.queued,
      groups: c.groups,
      failedGroups: c.failedGroups,
      shares: c.items,
      lastGroupSize: c.lastGroupSize,
      pruned: this.pruner.pruned,
      round: this.ctx.state.round,
      events: this.events.recorded,
      failedEvents: this.events.failed,
      failedFolds: this.failedFolds,
      foldError: this.foldError,
    }
  }

  /**
   * The underlying LevelDB handle, for fault-injection tests and read-only
   * tools. Writing through it bypasses every invariant of the ledger.
   */
  get database(): LedgerDb {
    return this.ctx.db
  }

  /**
   * Stops pruning, writes every queued share, waits for running writes
   * (and a prune under way) and closes the database. Shares recorded after
   * this are refused.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // No prune starts from here; one running (or its compaction) is waited for only after the shares are written.
      const pruning = this.pruner.stop()
      await this.commits.flush()
      await this.events.flush()
      await this.foldTallies().catch((err: unknown) => {
        // Nothing is lost: the next open folds what the m/untallied/ markers name.
        this.ctx.log?.error({ err }, 'ledger: writing the tallies at close failed; the next open will write them')
      })
      this.clearFoldTimer()
      await pruning
      await this.ctx.lock.run(async () => undefined)
      await this.ctx.db.close()
      this.ctx.log?.info({ path: this.path }, 'ledger closed')
    })()
    return this.closing
  }

  private closedError(what: string): LedgerError {
    return new LedgerError('HF_LEDGER_CLOSED', `ledger ${this.path} is closed (${what})`, { path: this.path })
  }

  private reading<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing !== undefined) return Promise.reject(this.closedError('read'))
    return fn()
  }

  /**
   * A read of the share tallies sees every committed share: what is pending
   * is folded first. If that fold cannot be written (the disk), the read
   * fails with its error rather than answer without those shares.
   */
  private readingTallies<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing !== undefined) return Promise.reject(this.closedError('read'))
    if (this.pending.empty && this.foldsRunning === 0) return fn()
    return this.foldTallies().then(fn)
  }

  private writing<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing !== undefined) return Promise.reject(this.closedError('write'))
    try {
      return fn()
    } catch (err) {
      // Argument checks throw synchronously; callers always get a rejection.
      return Promise.reject(asError(err))
    }
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)))
