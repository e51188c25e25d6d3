/**
 * Rounds: the shares between two blocks. Round 1 starts with the ledger;
 * a share with the block flag is the last share of its round, and the next
 * share starts the next round. Closing on the share itself (not on the later
 * block record) puts the boundary exactly where the block was found, in the
 * same atomic batch as the share.
 *
 * A round whose block bitcoind rejected, or which was orphaned, is still a
 * closed round: PROP payouts decide what to do with its shares (the usual
 * answer is to count them into the next round, which `roundTotals` of both
 * makes easy).
 */
import { type LedgerContext, type LedgerSnapshot, corrupt, get, parseRecord, scan } from './context.js'
import type { ScaledDifficulty } from './difficulty.js'
import { keys, prefixRange } from './keyspace.js'
import { decodeTally } from './tally.js'

/** The block share that closed a round (`rc/<round>`). */
export interface RoundClose {
  readonly round: number
  /** The share's ledger sequence number and time: the round's last share. */
  readonly seq: number
  readonly time: number
  readonly account: string
  readonly worker: string
  readonly height: number | undefined
  /** Hash of the block record linked to it (same height and finder), once known. */
  readonly block: string | undefined
}

/** What one round holds. */
export interface RoundTotals {
  readonly round: number
  /** True once its block share was recorded. */
  readonly closed: boolean
  readonly shares: number
  /** Sum of the round's scaled share difficulty. */
  readonly difficulty: ScaledDifficulty
  /** Scaled difficulty per account. */
  readonly accounts: ReadonlyMap<string, ScaledDifficulty>
  readonly firstShareAt: number | undefined
  readonly lastShareAt: number | undefined
  readonly closedBy: RoundClose | undefined
}

export function encodeRoundClose(close: RoundClose): string {
  return JSON.stringify({ seq: close.seq, time: close.time, account: close.account, worker: close.worker, height: close.height, block: close.block })
}

export function decodeRoundClose(ctx: LedgerContext, key: string, raw: string): RoundClose {
  const v = parseRecord(ctx, key, raw)
  const round = parseInt(key.slice(3), 16)
  if (
    typeof v.seq !== 'number' ||
    typeof v.time !== 'number' ||
    typeof v.account !== 'string' ||
    typeof v.worker !== 'string' ||
    (v.height !== undefined && typeof v.height !== 'number') ||
    (v.block !== undefined && typeof v.block !== 'string')
  ) {
    throw corrupt(ctx, key, raw)
  }
  return {
    round,
    seq: v.seq,
    time: v.time,
    account: v.account,
    worker: v.worker,
    height: v.height,
    block: v.block,
  }
}

export async function roundClose(ctx: LedgerContext, round: number, snapshot?: LedgerSnapshot): Promise<RoundClose | undefined> {
  const key = keys.roundClose(round)
  const raw = await get(ctx, key, snapshot)
  return raw === undefined ? undefined : decodeRoundClose(ctx, key, raw)
}

/** Every round close, newest first (one per block share: a short list). */
export async function* roundClosesNewestFirst(ctx: LedgerContext): AsyncGenerator<RoundClose> {
  for await (const [key, raw] of scan(ctx, { ...prefixRange(keys.roundClosesAll), reverse: true }, 'reading rounds')) {
    yield decodeRoundClose(ctx, key, raw)
  }
}

/** The totals of `round`, or undefined for a round that has not started. */
export async function roundTotals(ctx: LedgerContext, round: number): Promise<RoundTotals | undefined> {
  if (!Number.isSafeInteger(round) || round < 1 || round > ctx.state.round) return undefined
  const snapshot = ctx.db.snapshot()
  try {
    const tallyKey = keys.round(round)
    const raw = await get(ctx, tallyKey, snapshot)
    const tally = raw === undefined ? undefined : decodeTally(tallyKey, raw)
    const accounts = new Map<string, ScaledDifficulty>()
    const prefix = keys.roundAccounts(round)
    for await (const [key, value] of scan(ctx, { ...prefixRange(prefix), snapshot }, `reading round ${round}`)) {
      accounts.set(key.slice(prefix.length), decodeTally(key, value).d)
    }
    const closedBy = await roundClose(ctx, round, snapshot)
    return {
      round,
      closed: closedBy !== undefined,
      shares: tally?.n ?? 0,
      difficulty: tally?.d ?? 0n,
      accounts,
      firstShareAt: tally?.f,
      lastShareAt: tally?.l,
      closedBy,
    }
  } finally {
    await snapshot.close()
  }
}
