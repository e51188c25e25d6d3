/**
 * One group commit of shares: the share records, every tally they change
 * (minute, hour and day buckets per account and per worker; the round and
 * the round per account), the round closes of block shares, and the
 * counters, all in ONE LevelDB batch. LevelDB applies a batch entirely or
 * not at all (one checksummed log record), so after a crash the tallies and
 * the share records always agree.
 *
 * Runs under the write lock; the in-memory counters and the tally cache are
 * changed only after the batch is committed, so a failed write leaves them
 * as they were and the next batch starts from the truth.
 */
import { linkCloseToBlock } from './blocks.js'
import { type BatchOp, type LedgerContext, getMany, write } from './context.js'
import { scaleDifficulty } from './difficulty.js'
import { RESOLUTIONS, bucketStart, keys } from './keyspace.js'
import { encodeRoundClose, type RoundClose } from './rounds.js'
import { encodeShare, type LedgerShare } from './share-records.js'
import { type Tally, addShare, decodeTally, encodeTally, mergeTallies } from './tally.js'

export async function commitShares(ctx: LedgerContext, shares: readonly LedgerShare[]): Promise<void> {
  const ops: BatchOp[] = []
  const deltas = new Map<string, Tally>()
  const count = (key: string, difficulty: bigint, time: number): void => {
    deltas.set(key, addShare(deltas.get(key), difficulty, time))
  }
  const closes: RoundClose[] = []
  let seq = ctx.state.nextSeq
  let round = ctx.state.round

  for (const share of shares) {
    const scaled = scaleDifficulty(share.difficulty)
    ops.push({ type: 'put', key: keys.share(share.time, seq), value: encodeShare(share, round) })
    for (const res of RESOLUTIONS) {
      const start = bucketStart(share.time, res)
      count(keys.accountTally(res, start, share.account), scaled, share.time)
      count(keys.workerTally(res, start, share.account, share.worker), scaled, share.time)
    }
    count(keys.round(round), scaled, share.time)
    count(keys.roundAccount(round, share.account), scaled, share.time)
    if (share.block) {
      closes.push({ round, seq, time: share.time, account: share.account, worker: share.worker, height: share.height, block: undefined })
      round++
    }
    seq++
  }

  // Current values of the tallies not in the cache (a new bucket, or after a restart).
  const missing = [...deltas.keys()].filter((key) => !ctx.tallies.has(key))
  const stored = await getMany(ctx, missing)
  const loaded = new Map<string, Tally>()
  missing.forEach((key, i) => {
    const raw = stored[i]
    if (raw !== undefined) loaded.set(key, decodeTally(key, raw))
  })
  const committed = new Map<string, Tally>()
  for (const [key, delta] of deltas) {
    const next = mergeTallies(ctx.tallies.get(key) ?? loaded.get(key), delta)
    committed.set(key, next)
    ops.push({ type: 'put', key, value: encodeTally(next) })
  }

  const taken = new Set<string>()
  for (const close of closes) {
    const linked = await linkCloseToBlock(ctx, close, ops, taken)
    ops.push({ type: 'put', key: keys.roundClose(close.round), value: encodeRoundClose(linked) })
  }

  ops.push({ type: 'put', key: keys.meta('seq'), value: String(seq) })
  if (round !== ctx.state.round) ops.push({ type: 'put', key: keys.meta('round'), value: String(round) })

  await write(ctx, ops, `${shares.length} shares`, ctx.sync)

  ctx.state.nextSeq = seq
  ctx.state.round = round
  ctx.tallies.commit(committed)
}
