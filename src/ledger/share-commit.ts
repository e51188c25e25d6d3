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
  const count = (key: string, tally: Tally): void => {
    deltas.set(key, mergeTallies(deltas.get(key), tally))
  }
  // Summed per round, worker and minute before any tally key is built: a
  // group of 1,000 shares from a few hundred workers touches far fewer
  // buckets than 8 per share, and building those keys per share was the
  // largest cost of the accept path in the load benchmark (docs/benchmarks.md).
  const perMinute = new Map<string, { round: number; time: number; account: string; worker: string; tally: Tally }>()
  const closes: RoundClose[] = []
  let seq = ctx.state.nextSeq
  let round = ctx.state.round

  for (const share of shares) {
    const scaled = scaleDifficulty(share.difficulty)
    ops.push({ type: 'put', key: keys.share(share.time, seq), value: encodeShare(share, round) })
    const id = `${round}/${bucketStart(share.time, 'm')}/${share.account}/${share.worker}`
    const seen = perMinute.get(id)
    if (seen === undefined) perMinute.set(id, { round, time: share.time, account: share.account, worker: share.worker, tally: addShare(undefined, scaled, share.time) })
    else seen.tally = addShare(seen.tally, scaled, share.time)
    if (share.block) {
      closes.push({ round, seq, time: share.time, account: share.account, worker: share.worker, height: share.height, block: undefined })
      round++
    }
    seq++
  }
  for (const { round: r, time, account, worker, tally } of perMinute.values()) {
    for (const res of RESOLUTIONS) {
      const start = bucketStart(time, res)
      count(keys.accountTally(res, start, account), tally)
      count(keys.workerTally(res, start, account, worker), tally)
    }
    count(keys.round(r), tally)
    count(keys.roundAccount(r, account), tally)
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
