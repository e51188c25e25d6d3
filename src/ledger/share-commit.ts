/**
 * One group commit of shares: the share records, the round closes of block
 * shares, the counters and, when needed, the tally epoch's marker
 * (`m/untallied/<seq>`), all in ONE LevelDB batch. LevelDB applies a batch
 * entirely or not at all (one checksummed log record).
 *
 * The tallies the shares change are summed in memory and written later by a
 * fold (tally-fold.ts), which the markers make crash safe: after a crash
 * the open folds the shares they name, so tallies and share records always
 * agree once the ledger is open.
 *
 * Runs under the write lock; the in-memory counters and the pending sums
 * are changed only after the batch is committed, so a failed write leaves
 * them as they were and the next batch starts from the truth.
 */
import { linkCloseToBlock } from './blocks.js'
import { type BatchOp, type LedgerContext, write } from './context.js'
import { scaleDifficulty } from './difficulty.js'
import { keys } from './keyspace.js'
import { encodeRoundClose, type RoundClose } from './rounds.js'
import { encodeShare, type LedgerShare } from './share-records.js'
import type { PendingTallies } from './tally-fold.js'

export async function commitShares(ctx: LedgerContext, pending: PendingTallies, shares: readonly LedgerShare[]): Promise<void> {
  const ops: BatchOp[] = []
  const closes: RoundClose[] = []
  const firstSeq = ctx.state.nextSeq
  const firstRound = ctx.state.round
  let round = firstRound
  let earliest = Number.POSITIVE_INFINITY

  // The share records themselves go into the batch in `fill` below (no op
  // object per share); here only what the rest of the batch depends on.
  for (let i = 0; i < shares.length; i++) {
    const share = shares[i] as LedgerShare
    if (share.time < earliest) earliest = share.time
    if (share.block) {
      closes.push({ round, seq: firstSeq + i, time: share.time, account: share.account, worker: share.worker, height: share.height, block: undefined })
      round++
    }
  }
  const seq = firstSeq + shares.length

  const taken = new Set<string>()
  for (const close of closes) {
    const linked = await linkCloseToBlock(ctx, close, ops, taken)
    ops.push({ type: 'put', key: keys.roundClose(close.round), value: encodeRoundClose(linked) })
  }

  const marker = shares.length > 0 ? pending.markerFor(earliest, firstSeq) : undefined
  if (marker !== undefined) ops.push(marker.op)
  ops.push({ type: 'put', key: keys.meta('seq'), value: String(seq) })
  if (round !== firstRound) ops.push({ type: 'put', key: keys.meta('round'), value: String(round) })

  await write(ctx, ops, `${shares.length} shares`, ctx.sync, (put) => {
    let shareRound = firstRound
    for (let i = 0; i < shares.length; i++) {
      const share = shares[i] as LedgerShare
      put(keys.share(share.time, firstSeq + i), encodeShare(share, shareRound))
      if (share.block) shareRound++
    }
  })

  let shareRound = firstRound
  for (const share of shares) {
    pending.add(shareRound, share.time, share.account, share.worker, scaleDifficulty(share.difficulty))
    if (share.block) shareRound++
  }
  ctx.state.nextSeq = seq
  ctx.state.round = round
  if (marker !== undefined) pending.marker = marker.next
}
