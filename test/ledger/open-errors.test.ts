/** Opening: schema versions, locks, damage and bad paths give clear errors and change nothing. */
import t from 'tap'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'
import { Ledger, LedgerError, SCHEMA_VERSION } from '../../src/ledger/index.js'
import { PACKAGE_ROOT } from '../../src/package-info.js'
import { ledgerPath, openLedger, share } from '../helpers/ledger-fixtures.js'

const open = (path: string): Promise<Ledger> => Ledger.open({ path, sync: false, retentionDays: 90, pruneIntervalMs: 0 })

async function raw(path: string, fn: (db: Level<string, string>) => Promise<void>): Promise<void> {
  const db = new Level<string, string>(path)
  await db.open()
  try {
    await fn(db)
  } finally {
    await db.close()
  }
}

t.test('a new ledger gets the current schema version', async (t) => {
  const path = ledgerPath(t)
  const ledger = await open(path)
  await ledger.close()
  await raw(path, async (db) => {
    t.equal(await db.get('m/version'), String(SCHEMA_VERSION))
  })
})

t.test('a ledger of a newer schema version is refused, untouched, and the lock released', async (t) => {
  const path = ledgerPath(t)
  await (await open(path)).close()
  await raw(path, (db) => db.put('m/version', String(SCHEMA_VERSION + 1)))
  const err = await open(path).catch((e: unknown) => e)
  t.ok(err instanceof LedgerError)
  t.match(err, { code: 'HF_LEDGER_VERSION', path, message: new RegExp(`schema version ${SCHEMA_VERSION + 1}.*newer Headframe`) })
  t.match((err as Error).message, path)
  await raw(path, async (db) => {
    t.equal(await db.get('m/version'), String(SCHEMA_VERSION + 1), 'nothing was rewritten')
  })
})

t.test('a LevelDB folder that is not a ledger is refused', async (t) => {
  const path = ledgerPath(t)
  await raw(path, (db) => db.put('some', 'thing'))
  await t.rejects(open(path), { code: 'HF_LEDGER_VERSION', message: /not a Headframe ledger/ })
  await raw(path, (db) => db.put('m/version', 'v1'))
  await t.rejects(open(path), { code: 'HF_LEDGER_CORRUPT', message: /m\/version/ })
  await raw(path, (db) => db.put('m/version', '0'))
  await t.rejects(open(path), { code: 'HF_LEDGER_VERSION', message: /no migration/ })
})

t.test('a ledger open in this process is locked', async (t) => {
  const path = ledgerPath(t)
  await openLedger(t, { path })
  const err = await open(path).catch((e: unknown) => e)
  t.match(err, { code: 'HF_LEDGER_LOCKED', path })
  t.match((err as Error).message, path)
})

t.test('a ledger open in another process is locked', async (t) => {
  const path = ledgerPath(t)
  await (await open(path)).close()
  // A plain Node process holding the database, as another pool instance would.
  const holder = spawn(
    process.execPath,
    ['--input-type=module', '-e', "import { Level } from 'level'; const db = new Level(process.argv[1]); await db.open(); console.log('open'); setInterval(() => {}, 1000)", path],
    { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  t.teardown(() => {
    holder.kill('SIGKILL')
  })
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', () => resolve())
    holder.on('exit', (code) => reject(new Error(`holder exited ${code}`)))
  })
  await t.rejects(open(path), { code: 'HF_LEDGER_LOCKED', message: /another process/ })
  holder.kill('SIGKILL')
  await new Promise((r) => holder.once('exit', r))
  const ledger = await openLedger(t, { path })
  await ledger.record(share())
  t.equal(ledger.stats.shares, 1, 'opens once the other process is gone, and records')
})

t.test('a damaged database is refused with HF_LEDGER_CORRUPT, not repaired behind your back', async (t) => {
  const path = ledgerPath(t)
  const ledger = await open(path)
  await ledger.record(share())
  await ledger.close()
  writeFileSync(join(path, 'CURRENT'), 'garbage')
  const err = await open(path).catch((e: unknown) => e)
  t.match(err, { code: 'HF_LEDGER_CORRUPT', path, message: /damaged.*Restore it from a backup/ })
})

t.test('a record that does not parse is reported by key', async (t) => {
  const path = ledgerPath(t)
  const ledger = await open(path)
  await ledger.record(share({ time: 1000 }))
  await ledger.close()
  await raw(path, async (db) => {
    const key = (await db.keys({ gte: 'sh/', lt: 'sh0' }).all())[0] as string
    await db.put(key, '{not json')
    await db.put('ta/m/000000000000/acct', '{"n":"x"}')
    await db.put('ba/alice', '-5')
  })
  const again = await openLedger(t, { path })
  const read = async (): Promise<void> => {
    for await (const s of again.sharesBetween(0, 10_000)) t.fail(String(s.seq))
  }
  await t.rejects(read(), { code: 'HF_LEDGER_CORRUPT', message: /sh\/0000000003e8\/000000000000/ })
  await t.rejects(again.acceptedDifficulty({ from: 0, to: 60_000 }), { code: 'HF_LEDGER_CORRUPT', message: /ta\/m\/000000000000\/acct/ })
  await t.rejects(again.balance('alice'), { code: 'HF_LEDGER_CORRUPT' })
})

t.test('a path that cannot be a folder gives HF_LEDGER_OPEN naming it', async (t) => {
  const dir = t.testdir({ 'a-file': 'x' })
  for (const path of [join(dir, 'a-file'), join(dir, 'a-file', 'ledger')]) {
    const err = await open(path).catch((e: unknown) => e)
    t.match(err, { code: 'HF_LEDGER_OPEN', path }, path)
    t.match((err as Error).message, path)
  }
})
