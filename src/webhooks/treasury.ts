/**
 * Treasury events from the ledger: block found / confirmed / orphaned, and
 * the periodic balance snapshot.
 *
 * Block events come from comparing the ledger's blocks (fed by the
 * found-block sync, and moved to confirmed or orphaned by maturity
 * tracking) with `wb/<hash>`, the last status webhooks were told about. The
 * events and the new notices are ONE atomic write, so a crash cannot lose
 * an event nor announce one twice under different ids. Notices are kept
 * even with no endpoint configured, so adding one later does not replay
 * the pool's whole history.
 */
import type { Ledger } from '../ledger/index.js'
import { blockNoticeOp, type BatchOp } from '../ledger/index.js'
import type { Logger } from '../log.js'
import type { WebhookDispatcher } from './dispatcher.js'
import { blockEvent, snapshotEvent } from './events.js'

export interface TreasuryEventsOptions {
  readonly ledger: Ledger
  readonly dispatcher: WebhookDispatcher
  /** The wallet's balance for snapshots (mode onchain); undefined otherwise. */
  readonly wallet?: (() => Promise<bigint | undefined>) | undefined
  readonly clock?: () => number
  readonly log?: Logger | undefined
}

export class TreasuryEvents {
  private readonly clock: () => number
  private timer: NodeJS.Timeout | undefined
  private checking: Promise<number> | undefined

  constructor(private readonly options: TreasuryEventsOptions) {
    this.clock = options.clock ?? Date.now
  }

  /**
   * Queues the block events not announced yet; resolves to how many events.
   * Calls overlapping a running check share it.
   */
  checkBlocks(): Promise<number> {
    this.checking ??= this.check().finally(() => (this.checking = undefined))
    return this.checking
  }

  private async check(): Promise<number> {
    const { ledger, dispatcher } = this.options
    const notices = await ledger.outbox.blockNotices()
    const now = this.clock()
    const ops: BatchOp[] = []
    let events = 0
    for (const block of await ledger.blocks()) {
      const last = notices.get(block.hash)
      if (last === block.status) continue
      const types: ('block.found' | 'block.confirmed' | 'block.orphaned')[] = []
      if (last === undefined && block.status !== 'rejected') types.push('block.found')
      if (block.status === 'confirmed' || block.status === 'orphaned') types.push(`block.${block.status}`)
      for (const type of types) ops.push(...dispatcher.ops(blockEvent(type, block, now)))
      events += types.length
      ops.push(blockNoticeOp(block.hash, block.status))
    }
    if (ops.length > 0) {
      await ledger.outbox.enqueue(ops)
      dispatcher.wake()
    }
    return events
  }

  /** Queues a balance.snapshot now. */
  async snapshot(): Promise<void> {
    const { ledger, dispatcher } = this.options
    let available = 0n
    let accounts = 0
    for (const balance of (await ledger.balances()).values()) {
      available += balance
      if (balance > 0n) accounts++
    }
    const pendingPayouts = (await ledger.payoutBatches.list({ status: 'pending' })).reduce((sum, b) => sum + b.total, 0n)
    let wallet: bigint | undefined
    try {
      wallet = await this.options.wallet?.()
    } catch (err) {
      this.options.log?.warn({ err }, 'wallet balance unavailable for the balance snapshot')
    }
    await dispatcher.publish([snapshotEvent({ available, pendingPayouts, wallet, accounts }, this.clock())])
  }

  /** Snapshots every `intervalMs` (0 = none). Failures are logged. */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return
    this.timer = setInterval(() => {
      this.snapshot().catch((err: unknown) => this.options.log?.error({ err }, 'balance snapshot failed'))
    }, intervalMs)
    this.timer.unref()
  }

  /** Stops the timer and waits for a block check in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.checking?.catch(() => undefined)
  }
}
