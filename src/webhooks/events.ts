/**
 * Webhook events: their types, ids and JSON bodies.
 *
 * Every event is `{ "id", "type", "created_at", "data" }`. The id is
 * `<type>:<subject>` (a block hash, a batch id, a snapshot time), the same
 * on every delivery of the event, so a receiver drops duplicates by id
 * (delivery is at least once). Amounts are integer satoshis as decimal
 * strings (`*_sats`) with the same amount as BTC with 8 decimals
 * (`*_btc`), built from the integer; JSON numbers never carry money.
 */
import type { LedgerBlock, OutboxEvent, PayoutBatch } from '../ledger/index.js'
import { formatBtc } from '../payouts/amount.js'
import type { PayoutEventType } from '../payouts/payout-runner.js'
import { WEBHOOK_EVENTS } from '../config/schema.js'

export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number]
export { WEBHOOK_EVENTS }

/** An event ready for the outbox: the body is final (it is what is signed). */
export function buildEvent(type: WebhookEventType, subject: string, data: Record<string, unknown>, now: number): OutboxEvent {
  const id = `${type}:${subject}`
  const body = JSON.stringify({ id, type, created_at: new Date(now).toISOString(), data })
  return { id, type, createdAt: now, body }
}

/** `<name>_sats` and `<name>_btc` of an amount. */
export function money(name: string, sats: bigint): Record<string, string> {
  return { [`${name}_sats`]: sats.toString(), [`${name}_btc`]: formatBtc(sats) }
}

/** block.found / block.confirmed / block.orphaned. */
export function blockEvent(type: 'block.found' | 'block.confirmed' | 'block.orphaned', block: LedgerBlock, now: number): OutboxEvent {
  return buildEvent(
    type,
    block.hash,
    {
      hash: block.hash,
      height: block.height,
      account: block.account,
      worker: block.worker,
      ...money('reward', block.reward),
      status: block.status,
      confirmations: block.confirmations,
      found_at: new Date(block.time).toISOString(),
    },
    now,
  )
}

/** payout.sent / payout.failed / payout.confirmed / payout.dropped (txid: the final one; error: why it failed or was dropped). */
export function payoutEvent(type: PayoutEventType, batch: PayoutBatch, now: number): OutboxEvent {
  return buildEvent(
    type,
    batch.id,
    {
      batch_id: batch.id,
      sender: batch.sender,
      txid: batch.txid ?? null,
      replaced_txids: batch.replacedTxids,
      error: batch.error ?? null,
      ...money('total', batch.total),
      payouts: batch.lines.map((l) => ({ account: l.account, address: l.address, ...money('amount', l.amount) })),
      created_at: new Date(batch.createdAt).toISOString(),
    },
    now,
  )
}

/** The money picture of a balance.snapshot (see docs/webhooks.md). */
export interface BalanceSnapshot {
  /** Sum of every account balance (not yet in a payout batch). */
  readonly available: bigint
  /** Sum of payout batches debited but not yet known to be sent. */
  readonly pendingPayouts: bigint
  /** The wallet's trusted balance (mode onchain), when it answered. */
  readonly wallet: bigint | undefined
  readonly accounts: number
}

export function snapshotEvent(s: BalanceSnapshot, now: number): OutboxEvent {
  return buildEvent(
    'balance.snapshot',
    String(now),
    {
      ...money('total', s.available + s.pendingPayouts),
      ...money('pending_payouts', s.pendingPayouts),
      ...money('available', s.available),
      ...(s.wallet === undefined ? { wallet_sats: null, wallet_btc: null } : money('wallet', s.wallet)),
      accounts: s.accounts,
    },
    now,
  )
}
