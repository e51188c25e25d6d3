/**
 * How money leaves the pool: the `PayoutSender` interface.
 *
 * The payout runner (payout-runner.ts) owns the bookkeeping that makes
 * payouts idempotent; a sender only moves money and answers one question
 * after a crash: "did batch X go out?". To make that answerable, a sender
 * MUST carry the batch id with the payment (the onchain sender writes it in
 * the wallet transaction's comment) and `find` must look it up there.
 *
 * Today there is one sender, `onchain` (bitcoind wallet, `sendmany`);
 * Lightning would be another implementation of the same interface (its
 * payment's description or an invoice label carrying the batch id).
 */
import { PayoutError } from '../errors.js'

/** One output of a batch: an address and the satoshis it gets (accounts sharing an address are merged). */
export interface PayoutOutput {
  readonly address: string
  readonly amount: bigint
}

/** What a sender is asked to pay. */
export interface PayoutRequest {
  /** The batch id: unique, and it must travel with the payment. */
  readonly batchId: string
  readonly outputs: readonly PayoutOutput[]
}

/** A payment made (or found). */
export interface SentPayment {
  /** The transaction id (onchain) or payment reference. */
  readonly txid: string
}

/** Where a payment stands, as its sender sees it now. */
export interface PaymentStatus {
  /**
   * Blocks on top of the block that holds it (0: unconfirmed). Negative:
   * it conflicts with a transaction in a block that many confirmations
   * deep, so it can only confirm if that block is reorganised away.
   */
  readonly confirmations: number
  /** The sender stopped broadcasting it and freed its coins (`abandontransaction`). */
  readonly abandoned: boolean
  /** It was replaced by the sender itself (a fee bump): the replacement's id. */
  readonly replacedBy: string | undefined
  /** It is itself a fee bump of this one (which may still confirm instead). */
  readonly replaces: string | undefined
}

export interface PayoutSender {
  /** Recorded on each batch (`onchain`). */
  readonly kind: string
  /**
   * Pays a batch. Resolves with the payment once the sender committed it.
   * Rejects with `PayoutError`: `HF_PAYOUT_SEND` when it certainly did NOT
   * pay (an answer said no), `HF_PAYOUT_UNKNOWN` when it cannot tell (no
   * answer: it may have paid). Anything else counts as unknown.
   */
  send(request: PayoutRequest): Promise<SentPayment>
  /**
   * Looks for a payment of `batchId` made at or after `since` (ms). Resolves
   * undefined only when it is sure there is none; rejects when it cannot
   * tell (the wallet is unreachable).
   */
  find(batchId: string, since: number): Promise<SentPayment | undefined>
  /**
   * Where payment `txid` stands, for the batches already sent; undefined
   * when the sender does not know it (another wallet, or one restored from
   * an older backup). Rejects when it cannot tell. Optional: a sender
   * without it leaves sent batches as sent.
   */
  status?(txid: string): Promise<PaymentStatus | undefined>
  /** Funds the sender could pay out now, when it can tell (the wallet's trusted balance). */
  available(): Promise<bigint | undefined>
  close(): Promise<void>
}

/** True when `err` says a send certainly did not pay. */
export function certainlyUnpaid(err: unknown): boolean {
  return err instanceof PayoutError && err.code === 'HF_PAYOUT_SEND'
}
