/**
 * The payout loop: every interval, balances at or above the threshold are
 * paid (mode `onchain`) or only listed (mode `report`).
 *
 * Idempotency is the point of this module (docs/payouts.md walks through
 * every crash point). In short:
 *
 * 1. A batch is created in one atomic ledger write WITH the debits of its
 *    accounts (`PayoutBatchStore.create`): money is in a balance or in
 *    exactly one batch, never both, never neither.
 * 2. Before each send, the attempt is recorded (fsynced).
 * 3. The sender carries the batch id with the payment (the transaction
 *    comment); its txid is recorded after.
 * 4. A batch still pending when a run starts (a crash, or a send that got
 *    no answer) is never sent blindly: if an attempt was recorded, the
 *    wallet is asked for a payment carrying the batch id first. Found: the
 *    txid is recorded. Not found: it is sent again only once
 *    `reconcileGraceMs` passed since the last attempt, so a send still in
 *    flight in bitcoind cannot be doubled. The wallet unreachable: wait.
 * 5. A send the wallet refused with an answer (certainly unpaid) fails the
 *    batch and credits the money back in one atomic write.
 * 6. A sent batch is followed until it is final. Every transaction it has
 *    had is asked about at each run: the one sent, and each replacement the
 *    wallet made of it (fee bumps), because any of them may be the one that
 *    confirms. `confirmed` when one is `confirmDepth` deep; `dropped` and
 *    credited back (once, in one atomic write) only when EVERY one of them
 *    conflicts with a transaction `dropDepth` (>= 6) deep, so the money is
 *    paid again by a later batch. An abandoned transaction is not credited
 *    back on that alone: it could still confirm; it is logged at error level
 *    until its coins are spent by another transaction that deep.
 *
 * Runs never overlap, and no new batch is made while an older one is
 * unresolved.
 */
import { LedgerError, type BatchOp, type Ledger, type PayoutBatch, newBatchId } from '../ledger/index.js'
import type { WEBHOOK_EVENTS } from '../config/index.js'
import type { Logger } from '../log.js'
import { selectPayouts } from './threshold.js'
import { certainlyUnpaid, type PaymentStatus, type PayoutOutput, type PayoutSender } from './sender.js'

/** Named moments of a run where tests inject a crash. */
export type PayoutCrashPoint = 'batch-created' | 'attempt-recorded' | 'sent' | 'txid-recorded'

/** The webhook events of a batch's life. */
export type PayoutEventType = Extract<(typeof WEBHOOK_EVENTS)[number], `payout.${string}`>

/** Default confirmations for a payout to be final. */
export const DEFAULT_CONFIRM_DEPTH = 6
/** The least (and default) depth of a conflicting transaction for a payout to be dropped and credited back: a shallower one a reorg could undo. */
export const MIN_DROP_DEPTH = 6
/** Default: a payout unconfirmed this long is warned about at each run. */
const DEFAULT_STALL_WARN_MS = 6 * 3_600_000
/** Transactions of one batch asked about (the one sent and its fee bumps); beyond, later replacements are not followed. */
const MAX_TXIDS_PER_BATCH = 16

export interface PayoutRunnerOptions {
  readonly ledger: Ledger
  /** Absent: mode `report` (nothing is sent). */
  readonly sender?: PayoutSender | undefined
  readonly thresholdSats: bigint
  /** The payout address of an account, or undefined when it has none. */
  readonly addressOf: (account: string) => string | undefined
  /** Outputs (addresses) per transaction; more make several batches. Default 250. */
  readonly maxOutputs?: number
  /** Wait after an unanswered send before a batch absent from the wallet is sent again (ms). Default 5 minutes. */
  readonly reconcileGraceMs?: number
  /** Confirmations after which a sent batch is final (status only: nothing moves). Default 6. */
  readonly confirmDepth?: number
  /** Depth of a conflicting transaction after which a sent batch is dropped and credited back; at least (and by default) 6. */
  readonly dropDepth?: number
  /** A sent batch unconfirmed this long (ms) is warned about at each run. Default 6 hours. */
  readonly stallWarnMs?: number
  readonly clock?: () => number
  readonly log?: Logger | undefined
  /** Operations (webhook events) written atomically with a batch's final status. */
  readonly eventOps?: (type: PayoutEventType, batch: PayoutBatch) => BatchOp[]
  /** Called after a write that carried `eventOps` committed (wakes the webhook dispatcher). */
  readonly eventsWritten?: () => void
  /** Test hook: called at each crash point; throwing there stops the run like a crash would. */
  readonly faults?: (point: PayoutCrashPoint, batch: PayoutBatch) => void
}

/** One account in a plan. */
export interface PlannedPayout {
  readonly account: string
  readonly amount: bigint
  /** Undefined: no valid address, the balance carries over. */
  readonly address: string | undefined
}

/** What a run saw and did. */
export interface PayoutRunResult {
  readonly mode: 'report' | 'onchain'
  /** Accounts at or above the threshold (with or without an address). */
  readonly planned: readonly PlannedPayout[]
  /** Batches created by this run. */
  readonly created: readonly PayoutBatch[]
  /** Batches this run settled as sent, failed, or left pending. */
  readonly sent: readonly PayoutBatch[]
  readonly failed: readonly PayoutBatch[]
  readonly pending: readonly PayoutBatch[]
  /** Sent batches this run saw become final, or dropped (credited back). */
  readonly confirmed: readonly PayoutBatch[]
  readonly dropped: readonly PayoutBatch[]
}

export class PayoutRunner {
  private readonly ledger: Ledger
  private readonly sender: PayoutSender | undefined
  private readonly clock: () => number
  private readonly log: Logger | undefined
  private readonly maxOutputs: number
  private readonly graceMs: number
  private readonly confirmDepth: number
  private readonly dropDepth: number
  private readonly stallWarnMs: number
  private running: Promise<PayoutRunResult> | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(private readonly options: PayoutRunnerOptions) {
    this.ledger = options.ledger
    this.sender = options.sender
    this.clock = options.clock ?? Date.now
    this.log = options.log
    this.maxOutputs = options.maxOutputs ?? 250
    this.graceMs = options.reconcileGraceMs ?? 300_000
    this.confirmDepth = options.confirmDepth ?? DEFAULT_CONFIRM_DEPTH
    this.dropDepth = Math.max(MIN_DROP_DEPTH, options.dropDepth ?? MIN_DROP_DEPTH)
    this.stallWarnMs = options.stallWarnMs ?? DEFAULT_STALL_WARN_MS
  }

  get mode(): 'report' | 'onchain' {
    return this.sender === undefined ? 'report' : 'onchain'
  }

  /** Balances at or above the threshold and their addresses, by account name. */
  async plan(): Promise<PlannedPayout[]> {
    const { payouts } = selectPayouts(await this.ledger.balances(), this.options.thresholdSats)
    return [...payouts].map(([account, amount]) => ({ account, amount, address: this.options.addressOf(account) }))
  }

  /** One run now (or the one already running). */
  runOnce(): Promise<PayoutRunResult> {
    this.running ??= this.run().finally(() => (this.running = undefined))
    return this.running
  }

  /** Runs every `intervalMs`, the first after `firstDelayMs`. Failures are logged, never thrown. */
  start(intervalMs: number, firstDelayMs = 60_000): void {
    const schedule = (delay: number): void => {
      if (this.stopped) return
      this.timer = setTimeout(() => {
        this.runOnce()
          .catch((err: unknown) => this.log?.error({ err }, 'payout run failed; the next run retries'))
          .finally(() => schedule(intervalMs))
      }, delay)
      this.timer.unref()
    }
    schedule(firstDelayMs)
  }

  /** Stops the schedule and waits for a run in progress (its send has its own timeout). */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running?.catch(() => undefined)
  }

  private async run(): Promise<PayoutRunResult> {
    const sent: PayoutBatch[] = []
    const failed: PayoutBatch[] = []
    const pending: PayoutBatch[] = []
    const created: PayoutBatch[] = []
    const confirmed: PayoutBatch[] = []
    const dropped: PayoutBatch[] = []
    const file = (b: PayoutBatch): void => void (b.status === 'sent' ? sent : b.status === 'failed' ? failed : pending).push(b)
    const sender = this.sender
    const status = sender?.status?.bind(sender)
    if (status !== undefined) {
      for (const batch of await this.ledger.payoutBatches.list({ status: 'sent' })) {
        // One batch that cannot be followed (a damaged record, a failed write) must not hold up everyone's payouts.
        try {
          const now = await this.track(status, batch)
          if (now.status === 'confirmed') confirmed.push(now)
          else if (now.status === 'dropped') dropped.push(now)
        } catch (err) {
          this.log?.error({ err, batch: batch.id }, 'following a sent payout failed; it stays as it is and is tried again at the next run')
        }
      }
    }
    const unresolved = await this.ledger.payoutBatches.list({ status: 'pending' })
    if (sender !== undefined) {
      for (const batch of unresolved) file(await this.settle(sender, batch))
    } else if (unresolved.length > 0) {
      // Switched from onchain to report with batches in flight: they wait for onchain mode.
      pending.push(...unresolved)
      this.log?.warn({ batches: unresolved.map((b) => b.id) }, 'pending payout batches are left as they are in mode report; switch back to onchain to reconcile them')
    }
    const planned = await this.plan()
    const result = (): PayoutRunResult => ({ mode: this.mode, planned, created, sent, failed, pending, confirmed, dropped })
    const payable = planned.filter((p): p is PlannedPayout & { address: string } => p.address !== undefined)
    const missing = planned.filter((p) => p.address === undefined).map((p) => p.account)
    if (missing.length > 0) this.log?.warn({ accounts: missing }, 'accounts above the payout threshold have no valid payout address ([payouts.addresses]); their balances carry over')
    if (sender === undefined) {
      if (payable.length > 0) this.log?.info({ payouts: payable.map((p) => ({ account: p.account, address: p.address, sats: p.amount.toString() })) }, 'payouts due (mode report: nothing sent)')
      return result()
    }
    // An unresolved batch first: new ones wait until the wallet is understood.
    if (pending.length > 0 || payable.length === 0) return result()
    for (const lines of this.chunks(payable)) {
      let batch: PayoutBatch
      try {
        batch = await this.ledger.payoutBatches.create({ id: newBatchId(this.clock()), sender: sender.kind, lines })
      } catch (err) {
        // A balance changed since the plan (an orphan reversal): nothing was written.
        if (err instanceof LedgerError && err.code === 'HF_LEDGER_BALANCE') {
          this.log?.warn({ err }, 'a balance changed while planning payouts; the next run plans again')
          break
        }
        throw err
      }
      created.push(batch)
      this.options.faults?.('batch-created', batch)
      const settled = await this.settle(sender, batch)
      file(settled)
      if (settled.status === 'pending') break
    }
    return result()
  }

  /** Groups lines into batches of at most `maxOutputs` distinct addresses. */
  private chunks(lines: readonly (PlannedPayout & { address: string })[]): (PlannedPayout & { address: string })[][] {
    const out: (PlannedPayout & { address: string })[][] = []
    let current: (PlannedPayout & { address: string })[] = []
    let addresses = new Set<string>()
    for (const line of lines) {
      if (!addresses.has(line.address) && addresses.size >= this.maxOutputs) {
        out.push(current)
        current = []
        addresses = new Set()
      }
      current.push(line)
      addresses.add(line.address)
    }
    if (current.length > 0) out.push(current)
    return out
  }

  /** Brings one pending batch as far as it safely can go. */
  private async settle(sender: PayoutSender, start: PayoutBatch): Promise<PayoutBatch> {
    let batch = start
    const log = this.log?.child({ batch: batch.id })
    if (batch.attempts > 0) {
      let found
      try {
        found = await sender.find(batch.id, batch.createdAt)
      } catch (err) {
        log?.warn({ err }, 'cannot look the pending payout batch up in the wallet; it stays pending, nothing is sent')
        return batch
      }
      if (found !== undefined) {
        log?.info({ txid: found.txid }, 'pending payout batch found in the wallet: recording its txid (not sending again)')
        return this.markSent(batch, found.txid)
      }
      const since = this.clock() - (batch.lastAttemptAt ?? 0)
      if (since < this.graceMs) {
        log?.warn({ waitedMs: since, graceMs: this.graceMs }, 'pending payout batch not in the wallet yet; waiting out the grace period before sending it again')
        return batch
      }
    }
    batch = await this.ledger.payoutBatches.update(batch.id, { attempts: batch.attempts + 1, lastAttemptAt: this.clock() })
    this.options.faults?.('attempt-recorded', batch)
    const outputs = mergeOutputs(batch)
    let txid: string
    try {
      ;({ txid } = await sender.send({ batchId: batch.id, outputs }))
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      if (certainlyUnpaid(err)) {
        log?.error({ err }, 'the wallet refused the payout batch: it is marked failed and the amounts credited back')
        const { batch: done } = await this.ledger.payoutBatches.fail(batch.id, message, this.events('payout.failed', { ...batch, status: 'failed', error: message }))
        this.options.eventsWritten?.()
        return done
      }
      log?.warn({ err }, 'payout batch send got no answer: it stays pending and is looked up in the wallet before any resend')
      return this.ledger.payoutBatches.update(batch.id, { error: message })
    }
    this.options.faults?.('sent', batch)
    return this.markSent(batch, txid)
  }

  private async markSent(batch: PayoutBatch, txid: string): Promise<PayoutBatch> {
    const sentAt = this.clock()
    const done = await this.ledger.payoutBatches.update(batch.id, { status: 'sent', txid, sentAt }, this.events('payout.sent', { ...batch, status: 'sent', txid, sentAt }))
    this.options.eventsWritten?.()
    this.options.faults?.('txid-recorded', done)
    return done
  }

  /** Follows one sent batch: every transaction it has had, to confirmed, dropped, or still on its way. */
  private async track(statusOf: (txid: string) => Promise<PaymentStatus | undefined>, start: PayoutBatch): Promise<PayoutBatch> {
    let batch = start
    if (batch.txid === undefined) return batch // a sent batch always has one
    const log = this.log?.child({ batch: batch.id })
    // The one sent and every replacement the wallet made of it, followed
    // both ways: the txid a crash recovery found by the batch's comment may be a bump (bumpfee copies the comment), and its original may confirm.
    const statuses = new Map<string, PaymentStatus | undefined>()
    const queue = [...batch.replacedTxids, batch.txid]
    let truncated = false
    for (let txid = queue.shift(); txid !== undefined; txid = queue.shift()) {
      if (statuses.has(txid)) continue
      if (statuses.size >= MAX_TXIDS_PER_BATCH) {
        truncated = true
        break
      }
      try {
        statuses.set(txid, await statusOf(txid))
      } catch (err) {
        log?.warn({ err, txid }, 'cannot ask the wallet where a sent payout stands; asked again at the next run')
        return batch
      }
      const st = statuses.get(txid)
      if (st?.replaces !== undefined) queue.push(st.replaces)
      if (st?.replacedBy !== undefined) queue.push(st.replacedBy)
    }
    const txids = [...statuses.keys()]
    // The newest: the one nothing replaced (the end of the chain); the batch's own txid if the wallet says nothing.
    const newest = txids.find((txid) => statuses.get(txid) !== undefined && statuses.get(txid)?.replacedBy === undefined) ?? batch.txid
    const others = txids.filter((txid) => txid !== newest)
    if (newest !== batch.txid || others.length !== batch.replacedTxids.length) {
      log?.info({ txid: newest, others }, 'the payout transaction was replaced by the wallet (a fee bump), or is a bump of an earlier one: all are followed, any may confirm')
      batch = await this.ledger.payoutBatches.updateSent(batch.id, { txid: newest, replacedTxids: others, replacedAt: this.clock() })
    }
    const confirmations = (txid: string): number => statuses.get(txid)?.confirmations ?? 0
    const paidBy = txids.find((txid) => confirmations(txid) >= this.confirmDepth)
    if (paidBy !== undefined) {
      const confirmedAt = this.clock()
      const change = { status: 'confirmed', confirmedAt, txid: paidBy, replacedTxids: txids.filter((t) => t !== paidBy) } as const
      const done = await this.ledger.payoutBatches.updateSent(batch.id, change, this.events('payout.confirmed', { ...batch, ...change }))
      this.options.eventsWritten?.()
      log?.info({ txid: paidBy, confirmations: confirmations(paidBy) }, 'payout confirmed')
      return done
    }
    if (truncated) {
      log?.error({ txids }, `a payout has more than ${MAX_TXIDS_PER_BATCH} transactions (fee bumps): the rest are not asked about, so it is never dropped; check it by hand`)
    }
    // Dropped only when no transaction of the batch can confirm any more; one the wallet does not know (or not asked about) might.
    if (!truncated && txids.every((txid) => statuses.get(txid) !== undefined && confirmations(txid) <= -this.dropDepth)) {
      const which = txids.length === 1 ? `transaction ${newest} conflicts` : `transactions ${txids.join(', ')} conflict`
      const error = `${which} with a transaction at least ${this.dropDepth} blocks deep and can no longer confirm`
      const { batch: done } = await this.ledger.payoutBatches.drop(batch.id, error, this.events('payout.dropped', { ...batch, status: 'dropped', error }))
      this.options.eventsWritten?.()
      log?.error({ txids }, 'a payout can no longer confirm: the batch is dropped and its amounts credited back, to be paid by a later run')
      return done
    }
    const unknown = txids.filter((txid) => statuses.get(txid) === undefined)
    if (unknown.length > 0) {
      log?.warn({ txids: unknown }, 'the wallet does not know a transaction of this sent payout (another wallet, or one restored from a backup older than the payout): it stays sent; check it by hand')
    }
    const live = txids.filter((txid) => { const st = statuses.get(txid); return st !== undefined && st.confirmations >= 0 && !st.abandoned })
    if (txids.some((txid) => confirmations(txid) < 0 && confirmations(txid) > -this.dropDepth)) {
      log?.warn({ dropDepth: this.dropDepth }, 'a payout transaction conflicts with a recent block: the batch is credited back only if no transaction of it can confirm at the drop depth')
    }
    if (live.length === 0 && unknown.length === 0 && txids.some((txid) => statuses.get(txid)?.abandoned === true)) {
      log?.error(
        'a payout transaction was abandoned in the wallet: it still counts as paid (it could confirm yet); it is credited back once a transaction spending its coins is drop-depth blocks deep (docs/payouts.md, "After the send")',
      )
    } else if (live.length > 0 && live.every((txid) => confirmations(txid) === 0)) {
      const since = batch.replacedAt ?? batch.sentAt
      if (since !== undefined && this.clock() - since >= this.stallWarnMs) {
        log?.warn({ hours: Math.floor((this.clock() - since) / 3_600_000) }, 'a payout transaction is still unconfirmed: its fee may be too low; `bitcoin-cli bumpfee` replaces it (the replacement is followed)')
      }
    }
    return batch
  }

  private events(type: PayoutEventType, batch: PayoutBatch): BatchOp[] {
    return this.options.eventOps?.(type, batch) ?? []
  }
}

/** A batch's outputs: one per address (accounts sharing an address are summed), in first-seen order. */
export function mergeOutputs(batch: Pick<PayoutBatch, 'lines'>): PayoutOutput[] {
  const byAddress = new Map<string, bigint>()
  for (const line of batch.lines) byAddress.set(line.address, (byAddress.get(line.address) ?? 0n) + line.amount)
  return [...byAddress].map(([address, amount]) => ({ address, amount }))
}
