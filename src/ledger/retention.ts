/**
 * Retention: per-share records older than `retentionDays` are deleted in
 * the background; the tallies, rounds, blocks and journal stay forever.
 *
 * Deletes go in small batches (default 1000 keys) with a turn of the event
 * loop between them, so a prune of millions of records never holds up a
 * share commit for more than one small batch: LevelDB serialises writers,
 * and a batch of deletes takes well under a millisecond. The pruner does not
 * take the write lock: it only deletes share records older than the cutoff,
 * which nothing else writes, plus its own `m/pruned` key.
 *
 * The horizon (`m/pruned`, "shares before this time may be gone") is raised
 * in memory before the first delete, so a query that needs share records at
 * a range edge knows when it can no longer be exact.
 *
 * A prune that deleted records then compacts the pruned key range
 * (LevelDB's `compactRange`, in its own thread): until a compaction reaches
 * them, deletes are tombstones that take disk space on top of the records
 * they delete, and that every later prune's scan from the start of the
 * share range would walk over again, until LevelDB's size-driven
 * compactions happen to reach the oldest keys. A failed compaction is
 * logged; nothing depends on it.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import { type BatchOp, type LedgerContext, compactRange, scan, write } from './context.js'
import { DAY, keys } from './keyspace.js'

export interface RetentionOptions {
  readonly retentionDays: number
  /** Keys deleted per batch. */
  readonly batchSize: number
  /** How often the background prune runs, ms; 0 = only when `run()` is called. */
  readonly intervalMs: number
}

export class RetentionPruner {
  private timer: NodeJS.Timeout | undefined
  private current: Promise<number> | undefined
  private stopping = false
  /** Share records deleted since open. */
  pruned = 0

  constructor(
    private readonly ctx: LedgerContext,
    private readonly options: RetentionOptions,
  ) {}

  start(): void {
    if (this.options.intervalMs <= 0) return
    this.timer = setInterval(() => {
      this.run().catch((err: unknown) => this.ctx.log?.error({ err }, 'ledger prune failed'))
    }, this.options.intervalMs)
    this.timer.unref()
  }

  /** Prunes now (joining a prune already running); resolves to the number of records deleted. */
  run(): Promise<number> {
    this.current ??= this.prune().finally(() => {
      this.current = undefined
    })
    return this.current
  }

  /** Stops the timer (synchronously: no prune starts after the call) and waits for a running prune to stop at its next batch, or for its compaction to end. */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    await this.current?.catch(() => undefined)
  }

  private async prune(): Promise<number> {
    const cutoff = this.ctx.clock() - this.options.retentionDays * DAY
    if (cutoff <= 0) return 0
    const { state } = this.ctx
    const raise = cutoff > state.horizon
    if (raise) state.horizon = cutoff
    const bound = keys.shareTime(cutoff)
    let deleted = 0
    let first = true
    // Each batch starts after the last key deleted, so it does not walk over
    // the tombstones of the batches before it (LevelDB keeps those until a
    // compaction).
    let after: string | undefined
    while (!this.stopping) {
      const ops: BatchOp[] = []
      const range = after === undefined ? { gte: keys.sharesAll } : { gt: after }
      for await (const [key] of scan(this.ctx, { ...range, lt: bound, limit: this.options.batchSize }, 'reading shares to prune')) {
        ops.push({ type: 'del', key })
        after = key
      }
      if (first && raise) ops.push({ type: 'put', key: keys.meta('pruned'), value: String(cutoff) })
      first = false
      if (ops.length === 0) break
      await write(this.ctx, ops, `a prune batch of ${ops.length} keys`, false)
      const n = ops.filter((op) => op.type === 'del').length
      deleted += n
      this.pruned += n
      if (n < this.options.batchSize) break
      await nextTurn()
    }
    if (deleted > 0) {
      this.ctx.log?.info({ deleted, before: new Date(cutoff).toISOString() }, 'ledger: pruned share records')
      if (!this.stopping) {
        await compactRange(this.ctx, keys.sharesAll, bound).catch((err: unknown) => this.ctx.log?.warn({ err }, 'ledger: compacting the pruned share records failed; LevelDB reclaims the space later'))
      }
    }
    return deleted
  }
}
