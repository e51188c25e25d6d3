/**
 * Opening the database: LevelDB failures become errors that say what is
 * wrong and what to do, and the schema version key decides whether this
 * build may read what it finds.
 *
 * `m/version` is written when the ledger is created. A ledger of a newer
 * version, or a non-empty database without the key (some other LevelDB
 * folder), is refused with `HF_LEDGER_VERSION` before anything is written,
 * so a wrong path or a downgrade can never damage data. Older versions would
 * be migrated here, one step per version.
 */
import { Level } from 'level'
import type { LedgerDb, LedgerState } from './context.js'
import { keys } from './keyspace.js'
import { LedgerError } from './ledger-error.js'

/** The schema this build writes. */
export const SCHEMA_VERSION = 3

/**
 * Migrations from version n to n + 1, applied in order on open. Each must be
 * idempotent (a crash mid-migration reruns it) and bump `m/version` in its
 * last batch.
 */
const MIGRATIONS: ReadonlyMap<number, (db: LedgerDb) => Promise<void>> = new Map([
  // v2 writes tallies behind the share records, with `m/untallied/<seq>`
  // markers while some are not folded (tally-fold.ts). A v1 ledger has
  // every share in its tallies, so only the version changes; the bump keeps
  // a v1 build from opening a v2 ledger whose markers it would not honour.
  [1, (db: LedgerDb) => db.put(keys.meta('version'), '2', { sync: true })],
  // v3 adds the payout batch statuses `confirmed` and `dropped` (a sent
  // batch's transaction tracked to its end, payout-batches.ts). Nothing to
  // rewrite; the bump keeps a v2 build, which would read those records as
  // damage, from opening a v3 ledger.
  [2, (db: LedgerDb) => db.put(keys.meta('version'), '3', { sync: true })],
])

function causeOf(err: unknown): { code: string | undefined; message: string } {
  const e = err as { cause?: { code?: unknown; message?: unknown }; code?: unknown; message?: unknown }
  const inner = e.cause ?? e
  return { code: typeof inner.code === 'string' ? inner.code : undefined, message: typeof inner.message === 'string' ? inner.message : String(err) }
}

function openError(path: string, err: unknown): LedgerError {
  const { code, message } = causeOf(err)
  if (code === 'LEVEL_LOCKED') {
    return new LedgerError(
      'HF_LEDGER_LOCKED',
      `ledger ${path} is in use by another process (${message}). Stop the other Headframe process using it, or set another [ledger] path.`,
      { cause: err, path },
    )
  }
  if (code === 'LEVEL_CORRUPTION') {
    return new LedgerError(
      'HF_LEDGER_CORRUPT',
      `ledger ${path} is damaged (${message}). Nothing was changed. Restore it from a backup, or repair a copy (docs/ledger.md, "Damage").`,
      { cause: err, path },
    )
  }
  return new LedgerError(
    'HF_LEDGER_OPEN',
    `cannot open the ledger at ${path} (${message}). [ledger] path must be a folder, or a path that does not exist yet, that this user can write.`,
    { cause: err, path },
  )
}

function integer(path: string, key: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback
  if (!/^\d{1,15}$/.test(raw)) throw new LedgerError('HF_LEDGER_CORRUPT', `ledger ${path}: ${key} holds ${JSON.stringify(raw.slice(0, 40))}, not a number`, { path })
  return Number(raw)
}

/** Opens (creating if missing) and checks the database; returns it with the counters it holds. */
export async function openDatabase(path: string, now: number): Promise<{ db: LedgerDb; state: LedgerState; created: boolean }> {
  const db: LedgerDb = new Level<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  try {
    await db.open()
  } catch (err) {
    throw openError(path, err)
  }
  try {
    const created = await checkVersion(db, path, now)
    const [seq, round, pruned] = await db.getMany([keys.meta('seq'), keys.meta('round'), keys.meta('pruned')])
    const state: LedgerState = {
      nextSeq: integer(path, keys.meta('seq'), seq ?? undefined, 0),
      round: integer(path, keys.meta('round'), round ?? undefined, 1),
      horizon: integer(path, keys.meta('pruned'), pruned ?? undefined, 0),
    }
    return { db, state, created }
  } catch (err) {
    await db.close().catch(() => undefined)
    if (err instanceof LedgerError) throw err
    throw openError(path, err)
  }
}

/** True when the ledger was created now. */
async function checkVersion(db: LedgerDb, path: string, now: number): Promise<boolean> {
  const raw: string | undefined = (await db.get(keys.meta('version'))) ?? undefined
  if (raw === undefined) {
    const any = await db.keys({ limit: 1 }).all()
    if (any.length > 0) {
      throw new LedgerError(
        'HF_LEDGER_VERSION',
        `${path} holds a LevelDB database that is not a Headframe ledger (no m/version key). Point [ledger] path at the ledger folder, or at an empty one.`,
        { path },
      )
    }
    await db.batch(
      [
        { type: 'put', key: keys.meta('version'), value: String(SCHEMA_VERSION) },
        { type: 'put', key: keys.meta('created'), value: String(now) },
      ],
      { sync: true },
    )
    return true
  }
  let version = integer(path, keys.meta('version'), raw, 0)
  if (version > SCHEMA_VERSION) {
    throw new LedgerError(
      'HF_LEDGER_VERSION',
      `ledger ${path} has schema version ${version}, written by a newer Headframe; this build reads up to version ${SCHEMA_VERSION}. Run a newer Headframe; nothing was changed.`,
      { path },
    )
  }
  while (version < SCHEMA_VERSION) {
    const migrate = MIGRATIONS.get(version)
    if (migrate === undefined) {
      throw new LedgerError('HF_LEDGER_VERSION', `ledger ${path} has schema version ${version} and this build has no migration from it`, { path })
    }
    await migrate(db)
    version++
  }
  return false
}
