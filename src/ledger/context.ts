/**
 * What every ledger module shares: the database handle, the options, the
 * counters kept in memory, and the helpers that turn LevelDB failures into
 * `LedgerError`s naming the path.
 */
import type { Level } from 'level'
import type { Logger } from '../log.js'
import { LedgerError } from './ledger-error.js'
import type { TallyCache } from './tally.js'
import type { WriteLock } from './write-lock.js'

/** The LevelDB database, string keys and values. */
export type LedgerDb = Level<string, string>
/** An explicit LevelDB snapshot (a consistent view for multi-step queries). */
export type LedgerSnapshot = ReturnType<LedgerDb['snapshot']>

/** Counters mirrored from `m/` keys, changed only after a committed write. */
export interface LedgerState {
  /** Next sequence number (shares, journal entries and revenue records share one counter). */
  nextSeq: number
  /** The round new shares belong to. */
  round: number
  /** Shares before this time (ms) may have been pruned. */
  horizon: number
}

export interface LedgerContext {
  readonly db: LedgerDb
  readonly path: string
  /** fsync each group commit of shares. */
  readonly sync: boolean
  readonly clock: () => number
  readonly log: Logger | undefined
  readonly state: LedgerState
  readonly lock: WriteLock
  readonly tallies: TallyCache
}

export type BatchOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string }

interface Range {
  gte?: string
  gt?: string
  lt?: string
  lte?: string
  reverse?: boolean
  limit?: number
  snapshot?: LedgerSnapshot | undefined
}

function levelCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null
  const code = e?.cause?.code ?? e?.code
  return typeof code === 'string' ? code : undefined
}

/** A failed read as a `LedgerError`. */
export function readError(ctx: LedgerContext, err: unknown, what: string): LedgerError {
  if (err instanceof LedgerError) return err
  const code = levelCode(err)
  const text = err instanceof Error ? err.message : String(err)
  if (code === 'LEVEL_CORRUPTION') {
    return new LedgerError('HF_LEDGER_CORRUPT', `ledger ${ctx.path} is damaged (${what}): ${text}`, { cause: err, path: ctx.path })
  }
  if (code === 'LEVEL_DATABASE_NOT_OPEN') {
    return new LedgerError('HF_LEDGER_CLOSED', `ledger ${ctx.path} is not open (${what})`, { cause: err, path: ctx.path })
  }
  return new LedgerError('HF_LEDGER_READ', `ledger ${ctx.path}: ${what} failed: ${text}`, { cause: err, path: ctx.path })
}

/** Entries of a key range, failures mapped to `LedgerError`. Breaking out of the loop closes the iterator. */
export async function* scan(ctx: LedgerContext, range: Range, what = 'a range read'): AsyncGenerator<[string, string]> {
  const open = (): ReturnType<typeof ctx.db.iterator<string, string>> => {
    try {
      return ctx.db.iterator(range)
    } catch (err) {
      throw readError(ctx, err, what)
    }
  }
  const iterator = open()
  try {
    while (true) {
      let entry: [string, string] | undefined
      try {
        entry = await iterator.next()
      } catch (err) {
        throw readError(ctx, err, what)
      }
      if (entry === undefined) return
      yield entry
    }
  } finally {
    await iterator.close()
  }
}

/** One value, or undefined. */
export async function get(ctx: LedgerContext, key: string, snapshot?: LedgerSnapshot): Promise<string | undefined> {
  try {
    const value: string | undefined = snapshot === undefined ? await ctx.db.get(key) : await ctx.db.get(key, { snapshot })
    return value ?? undefined
  } catch (err) {
    throw readError(ctx, err, `reading ${key}`)
  }
}

/** Several values, in order. */
export async function getMany(ctx: LedgerContext, keyList: string[]): Promise<(string | undefined)[]> {
  if (keyList.length === 0) return []
  try {
    const values: (string | undefined)[] = await ctx.db.getMany(keyList)
    return values.map((v) => v ?? undefined)
  } catch (err) {
    throw readError(ctx, err, `reading ${keyList.length} keys`)
  }
}

/**
 * The first I/O error of a database's writes. LevelDB does not stop after a
 * failed log write without fsync (disk full): the torn record stays in its
 * log and the writes after it are acknowledged, yet dropped when the log is
 * replayed at the next open (measured: test/faults/ledger-disk.test.ts lost
 * every share acknowledged after space was freed). So after one I/O error
 * every later write is refused until the ledger is reopened.
 */
const writeFailures = new WeakMap<LedgerDb, string>()

/** The I/O error that stopped the ledger's writes until it is reopened, if any (readiness, stats). */
export function writeFailure(ctx: LedgerContext): string | undefined {
  return writeFailures.get(ctx.db)
}

/** Puts into a batch being built (`write`'s `fill`). */
export type BatchPut = (key: string, value: string) => void

/**
 * Writes one atomic batch: what `fill` puts (when given), then `ops`.
 * `fill` is the share path's form: a group's records go straight into the
 * batch, with no operation object per record.
 * @throws LedgerError `HF_LEDGER_WRITE`: nothing of the batch was applied;
 * `HF_LEDGER_INVALID` (or the LedgerError `fill` threw) when building the
 * batch failed: nothing was applied and the disk is not suspected.
 */
export async function write(ctx: LedgerContext, ops: readonly BatchOp[], what: string, sync: boolean, fill?: (put: BatchPut) => void): Promise<void> {
  const earlier = writeFailures.get(ctx.db)
  if (earlier !== undefined) {
    throw new LedgerError(
      'HF_LEDGER_WRITE',
      `ledger ${ctx.path}: not writing ${what}: an earlier write failed (${earlier}) and LevelDB's log may end in a torn record, after which later writes would be lost. Fix the disk, then restart Headframe to reopen the ledger.`,
      { path: ctx.path },
    )
  }
  // A chained batch, not db.batch(array): abstract-level copies and
  // re-validates every operation object of an array batch, which measured
  // 5-6x slower for the ~1000 small operations of a busy group commit.
  let batch: ReturnType<LedgerDb['batch']>
  try {
    batch = ctx.db.batch()
  } catch (err) {
    throw writeError(ctx, err, what)
  }
  // What LevelDB's batch threw (its hooks, its checks), told from what `fill`'s own code threw.
  let refused: unknown
  const put: BatchPut = (key, value) => {
    try {
      batch.put(key, value)
    } catch (err) {
      refused = err
      throw err
    }
  }
  const del = (key: string): void => {
    try {
      batch.del(key)
    } catch (err) {
      refused = err
      throw err
    }
  }
  try {
    if (fill !== undefined) fill(put)
    for (const op of ops) {
      if (op.type === 'put') put(op.key, op.value)
      else del(op.key)
    }
  } catch (err) {
    await batch.close().catch(() => undefined)
    // LevelDB refused a put or del: a write failure, whatever `fill` threw after it.
    if (refused !== undefined) throw writeError(ctx, refused, what)
    // `fill` itself failed before anything reached LevelDB (a bad record, a
    // bug): said as such, not as a disk problem, and later writes go on.
    if (err instanceof LedgerError) throw err
    throw new LedgerError('HF_LEDGER_INVALID', `ledger ${ctx.path}: building ${what} failed (${err instanceof Error ? err.message : String(err)}); nothing of it was written. This is not a disk problem.`, { cause: err, path: ctx.path })
  }
  if (refused !== undefined) {
    // `fill` caught LevelDB's refusal and went on: a batch is never committed in part.
    await batch.close().catch(() => undefined)
    throw writeError(ctx, refused, what)
  }
  try {
    await batch.write({ sync })
  } catch (err) {
    throw writeError(ctx, err, what)
  }
}

/** A failed write as `HF_LEDGER_WRITE`; an I/O error also stops every later write (see `writeFailures`). */
function writeError(ctx: LedgerContext, err: unknown, what: string): LedgerError {
  const text = err instanceof Error ? err.message : String(err)
  const cause = (err as { cause?: unknown }).cause
  const why = cause instanceof Error ? `${text}: ${cause.message}` : text
  if (levelCode(err) === 'LEVEL_IO_ERROR') writeFailures.set(ctx.db, why)
  return new LedgerError('HF_LEDGER_WRITE', `ledger ${ctx.path}: writing ${what} failed (${why}); nothing of it was recorded. Check free disk space and that the folder is writable.`, {
    cause: err,
    path: ctx.path,
  })
}

/**
 * LevelDB's `compactRange` over [start, end): drops the tombstones of
 * deleted keys and reclaims their space. `level` is classic-level on Node,
 * which has it; its type, shared with the browser build, does not.
 */
export function compactRange(ctx: LedgerContext, start: string, end: string): Promise<void> {
  const db = ctx.db as unknown as { compactRange?: (start: string, end: string) => Promise<void> }
  return db.compactRange === undefined ? Promise.resolve() : db.compactRange(start, end)
}

/** Parses a JSON record. @throws LedgerError `HF_LEDGER_CORRUPT` naming the key. */
export function parseRecord(ctx: LedgerContext, key: string, raw: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(raw)
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // reported below
  }
  throw corrupt(ctx, key, raw)
}

/** The error for a record that does not have the expected shape. */
export function corrupt(ctx: LedgerContext, key: string, raw: string): LedgerError {
  return new LedgerError('HF_LEDGER_CORRUPT', `ledger ${ctx.path}: record ${key} does not parse: ${raw.slice(0, 120)}`, { path: ctx.path })
}
