/**
 * Found blocks: `bk/<height>/<hash>` → the block as JSON, and `bh/<hash>` →
 * its height (so a hash finds its record). Kept forever. The found-block
 * JSON-lines file (src/jobs/found-blocks.ts) stays the first, fsynced record
 * of a block before `submitblock`; the ledger imports those records and
 * follows their status to maturity, and links each block to the round its
 * share closed (same height and finder), whichever of the two comes first.
 */
import { type BatchOp, type LedgerContext, type LedgerSnapshot, corrupt, get, parseRecord, scan, write } from './context.js'
import { assertBlockHash, assertName, assertTime, hex, keys, prefixRange } from './keyspace.js'
import { LedgerError } from './ledger-error.js'
import { encodeRoundClose, roundClosesNewestFirst, type RoundClose } from './rounds.js'

export type BlockStatus = 'submitting' | 'accepted' | 'rejected' | 'confirmed' | 'orphaned'
const STATUSES: readonly BlockStatus[] = ['submitting', 'accepted', 'rejected', 'confirmed', 'orphaned']

/** A block to add (or to update, when its hash is known). */
export interface BlockInput {
  /** Display (big-endian) hex, 64 lowercase digits. */
  readonly hash: string
  readonly height: number
  /** Coinbase value in satoshis. */
  readonly reward: bigint | string
  /** Finder. */
  readonly account: string
  readonly worker: string
  /** When it was found, ms since the epoch. */
  readonly time: number
  readonly status: BlockStatus
  readonly confirmations?: number
  /** Job source name. */
  readonly source?: string
}

/** A block as the ledger keeps it. */
export interface LedgerBlock {
  readonly hash: string
  readonly height: number
  readonly reward: bigint
  readonly account: string
  readonly worker: string
  readonly time: number
  readonly source: string | undefined
  readonly status: BlockStatus
  readonly confirmations: number
  /** The round its share closed, once linked. */
  readonly round: number | undefined
  readonly updatedAt: number
}

/** Fields a status update may change. */
export interface BlockChange {
  readonly status?: BlockStatus
  readonly confirmations?: number
  readonly reward?: bigint | string
}

/** The fields of a `FoundBlock` (src/jobs/found-blocks.ts) the ledger imports. */
export interface FoundBlockLike {
  readonly hash: string
  readonly height: number
  readonly account: string
  readonly worker: string
  readonly foundAt: number
  readonly source: string
  readonly reward: string
  readonly status: BlockStatus
  readonly confirmations?: number
  readonly updatedAt: number
}

function sats(value: bigint | string, what: string): bigint {
  if (typeof value === 'bigint' && value >= 0n) return value
  if (typeof value === 'string' && /^\d{1,30}$/.test(value)) return BigInt(value)
  throw new LedgerError('HF_LEDGER_INVALID', `${what} must be a non-negative integer number of satoshis, got ${String(value)}`)
}

function checkStatus(status: string): asserts status is BlockStatus {
  if (!STATUSES.includes(status as BlockStatus)) throw new LedgerError('HF_LEDGER_INVALID', `block status ${JSON.stringify(status)} is not one of ${STATUSES.join(', ')}`)
}

function checkConfirmations(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new LedgerError('HF_LEDGER_INVALID', `confirmations must be a non-negative integer, got ${String(n)}`)
}

function validateInput(input: BlockInput): void {
  assertBlockHash(input.hash)
  if (!Number.isSafeInteger(input.height) || input.height < 0) throw new LedgerError('HF_LEDGER_INVALID', `block height must be a non-negative integer, got ${String(input.height)}`)
  sats(input.reward, 'block reward')
  assertName(input.account, 'account')
  assertName(input.worker, 'worker')
  assertTime(input.time, 'block time')
  checkStatus(input.status)
  if (input.confirmations !== undefined) checkConfirmations(input.confirmations)
}

function encodeBlock(block: LedgerBlock): string {
  return JSON.stringify({ ...block, reward: block.reward.toString() })
}

function decodeBlock(ctx: LedgerContext, key: string, raw: string): LedgerBlock {
  const v = parseRecord(ctx, key, raw)
  if (
    typeof v.hash !== 'string' ||
    typeof v.height !== 'number' ||
    typeof v.reward !== 'string' ||
    typeof v.account !== 'string' ||
    typeof v.worker !== 'string' ||
    typeof v.time !== 'number' ||
    typeof v.status !== 'string' ||
    !STATUSES.includes(v.status as BlockStatus) ||
    typeof v.confirmations !== 'number' ||
    typeof v.updatedAt !== 'number'
  ) {
    throw corrupt(ctx, key, raw)
  }
  return {
    hash: v.hash,
    height: v.height,
    reward: BigInt(v.reward),
    account: v.account,
    worker: v.worker,
    time: v.time,
    source: typeof v.source === 'string' ? v.source : undefined,
    status: v.status as BlockStatus,
    confirmations: v.confirmations,
    round: typeof v.round === 'number' ? v.round : undefined,
    updatedAt: v.updatedAt,
  }
}

function blockOps(block: LedgerBlock): BatchOp[] {
  return [
    { type: 'put', key: keys.block(block.height, block.hash), value: encodeBlock(block) },
    { type: 'put', key: keys.blockHash(block.hash), value: hex(block.height, 8) },
  ]
}

/** The block with this hash, or undefined. */
export async function getBlock(ctx: LedgerContext, hash: string, snapshot?: LedgerSnapshot): Promise<LedgerBlock | undefined> {
  assertBlockHash(hash)
  const heightHex = await get(ctx, keys.blockHash(hash), snapshot)
  if (heightHex === undefined) return undefined
  const key = keys.block(parseInt(heightHex, 16), hash)
  const raw = await get(ctx, key, snapshot)
  if (raw === undefined) throw corrupt(ctx, keys.blockHash(hash), `${heightHex} (no ${key})`)
  return decodeBlock(ctx, key, raw)
}

/** Every block, highest first; only those with `status` when given. */
export async function listBlocks(ctx: LedgerContext, options: { status?: BlockStatus } = {}): Promise<LedgerBlock[]> {
  const out: LedgerBlock[] = []
  for await (const [key, raw] of scan(ctx, { ...prefixRange(keys.blocksAll), reverse: true }, 'reading blocks')) {
    const block = decodeBlock(ctx, key, raw)
    if (options.status === undefined || block.status === options.status) out.push(block)
  }
  return out
}

/**
 * Links a round closed by a block share to the block record of the same
 * height and finder, when that record came first. Called inside the share
 * commit; adds its puts to `ops`. `taken` holds hashes linked earlier in the
 * same batch.
 */
export async function linkCloseToBlock(ctx: LedgerContext, close: RoundClose, ops: BatchOp[], taken: Set<string>): Promise<RoundClose> {
  if (close.height === undefined) return close
  for await (const [key, raw] of scan(ctx, prefixRange(keys.blocksAt(close.height)), 'reading blocks')) {
    const block = decodeBlock(ctx, key, raw)
    if (block.round !== undefined || taken.has(block.hash) || block.account !== close.account || block.worker !== close.worker) continue
    taken.add(block.hash)
    ops.push(...blockOps({ ...block, round: close.round }))
    return { ...close, block: block.hash }
  }
  return close
}

/** Finds the unlinked round close of this block's share (same height and finder), if it was recorded. */
async function closeForBlock(ctx: LedgerContext, block: LedgerBlock): Promise<RoundClose | undefined> {
  for await (const close of roundClosesNewestFirst(ctx)) {
    if (close.block === undefined && close.height === block.height && close.account === block.account && close.worker === block.worker) return close
  }
  return undefined
}

/** The ops that create or update `next` (linking a new block to its round). */
async function upsertOps(ctx: LedgerContext, existing: LedgerBlock | undefined, next: LedgerBlock): Promise<{ ops: BatchOp[]; block: LedgerBlock }> {
  if (existing !== undefined && (existing.height !== next.height || existing.account !== next.account || existing.worker !== next.worker)) {
    throw new LedgerError(
      'HF_LEDGER_CONFLICT',
      `block ${next.hash} is recorded at height ${existing.height} found by ${existing.account}.${existing.worker}, not height ${next.height} by ${next.account}.${next.worker}`,
      { path: ctx.path },
    )
  }
  const ops: BatchOp[] = []
  let block = next
  if (block.round === undefined) {
    const close = await closeForBlock(ctx, block)
    if (close !== undefined) {
      block = { ...block, round: close.round }
      ops.push({ type: 'put', key: keys.roundClose(close.round), value: encodeRoundClose({ ...close, block: block.hash }) })
    }
  }
  ops.push(...blockOps(block))
  return { ops, block }
}

/** A block record from new input over what the ledger had: first-seen time and round are kept. */
function mergeBlock(input: BlockInput, existing: LedgerBlock | undefined, updatedAt: number): LedgerBlock {
  return {
    hash: input.hash,
    height: input.height,
    reward: sats(input.reward, 'block reward'),
    account: input.account,
    worker: input.worker,
    time: existing?.time ?? input.time,
    source: input.source ?? existing?.source,
    status: input.status,
    confirmations: input.confirmations ?? existing?.confirmations ?? 0,
    round: existing?.round,
    updatedAt,
  }
}

/**
 * Adds a block, or updates the status, confirmations and reward of a known
 * one (same height and finder, else `HF_LEDGER_CONFLICT`). Fsynced: blocks
 * are rare and are money.
 */
export function addBlock(ctx: LedgerContext, input: BlockInput): Promise<LedgerBlock> {
  validateInput(input)
  return ctx.lock.run(async () => {
    const existing = await getBlock(ctx, input.hash)
    const { ops, block } = await upsertOps(ctx, existing, mergeBlock(input, existing, ctx.clock()))
    await write(ctx, ops, `block ${input.hash}`, true)
    return block
  })
}

/** Changes a known block's status, confirmations or reward. @throws `HF_LEDGER_INVALID` for an unknown hash. */
export function updateBlock(ctx: LedgerContext, hash: string, change: BlockChange): Promise<LedgerBlock> {
  assertBlockHash(hash)
  if (change.status !== undefined) checkStatus(change.status)
  if (change.confirmations !== undefined) checkConfirmations(change.confirmations)
  const reward = change.reward === undefined ? undefined : sats(change.reward, 'block reward')
  return ctx.lock.run(async () => {
    const existing = await getBlock(ctx, hash)
    if (existing === undefined) throw new LedgerError('HF_LEDGER_INVALID', `no block ${hash} in the ledger`, { path: ctx.path })
    const next: LedgerBlock = {
      ...existing,
      status: change.status ?? existing.status,
      confirmations: change.confirmations ?? existing.confirmations,
      reward: reward ?? existing.reward,
      updatedAt: ctx.clock(),
    }
    await write(ctx, blockOps(next), `block ${hash}`, true)
    return next
  })
}

/**
 * Imports found-block records (`FoundBlockStore.list()`): new blocks are
 * added, known ones take the record's status when it is newer
 * (`updatedAt`). Returns how many were written. Running it twice is harmless.
 */
export function importFoundBlocks(ctx: LedgerContext, found: readonly FoundBlockLike[]): Promise<number> {
  const inputs = found.map((f) => {
    const input: BlockInput = {
      hash: f.hash,
      height: f.height,
      reward: f.reward,
      account: f.account,
      worker: f.worker,
      time: f.foundAt,
      status: f.status,
      source: f.source,
      ...(f.confirmations === undefined ? {} : { confirmations: f.confirmations }),
    }
    validateInput(input)
    assertTime(f.updatedAt, 'updatedAt')
    return { input, updatedAt: f.updatedAt }
  })
  return ctx.lock.run(async () => {
    let written = 0
    for (const { input, updatedAt } of inputs) {
      const existing = await getBlock(ctx, input.hash)
      if (existing !== undefined && existing.updatedAt >= updatedAt) continue
      const { ops } = await upsertOps(ctx, existing, mergeBlock(input, existing, updatedAt))
      await write(ctx, ops, `block ${input.hash}`, true)
      written++
    }
    return written
  })
}
