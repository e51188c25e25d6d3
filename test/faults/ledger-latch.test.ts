/**
 * After an I/O error from LevelDB, the ledger refuses every later write
 * until it is reopened (src/ledger/context.ts): LevelDB would accept them
 * after a torn log record and drop them at the next open. This is the
 * portable half of test/faults/ledger-disk.test.ts (which needs a tmpfs
 * mount): the I/O error is raised by a prewrite hook with LevelDB's code.
 * Other write failures (a closed database, a hook's own error) do not
 * latch: test/ledger/group-commit.test.ts shows the ledger going on. A
 * batch whose own building throws is not a disk failure at all: it is
 * refused as invalid and does not latch (the last test).
 */
import t from 'tap'
import { T0, allShares, ledgerPath, openLedger, share } from '../helpers/ledger-fixtures.js'

t.test('an I/O error refuses every later write until the ledger is reopened', async (t) => {
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path })
  await ledger.record(share({ jobId: 'kept', time: T0 }))
  let failing = true
  ledger.database.hooks.prewrite.add(() => {
    if (failing) throw Object.assign(new Error('IO error: 000005.log: No space left on device'), { code: 'LEVEL_IO_ERROR' })
  })
  const first = await ledger.record(share({ jobId: 'lost', time: T0 + 1 })).catch((err: unknown) => err as Error & { code?: string })
  t.match(first, { code: 'HF_LEDGER_WRITE', message: /No space left on device/ })

  t.match(ledger.writeFailure, /No space left on device/, 'the latch is visible (readiness)')
  failing = false // space again: LevelDB would take writes now
  await t.rejects(ledger.record(share({ jobId: 'after', time: T0 + 2 })), { code: 'HF_LEDGER_WRITE', message: /an earlier write failed \(.*No space left.*\).*restart Headframe/ })
  await t.rejects(ledger.credit('acct', 5n), { code: 'HF_LEDGER_WRITE' }, 'money writes too')
  t.equal(await ledger.balance('acct'), 0n, 'reads still work')
  await ledger.close()

  const again = await openLedger(t, { path })
  await again.record(share({ jobId: 'reopened', time: T0 + 3 }))
  t.same((await allShares(again)).map((s) => s.jobId), ['kept', 'reopened'], 'only acknowledged shares, and writes work after reopening')
})

t.test('a batch whose own building throws is refused as invalid, not as a disk failure, and does not latch', async (t) => {
  const { write } = await import('../../src/ledger/context.js')
  const { LedgerError } = await import('../../src/ledger/index.js')
  type Ctx = Parameters<typeof write>[0]
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path })
  const ctx = { db: ledger.database, path } as unknown as Ctx
  const failing = write(ctx, [{ type: 'put', key: 'x/after', value: '2' }], 'a test group', false, (put) => {
    put('x/first', '1')
    throw new TypeError('record 7 has no account')
  })
  await t.rejects(failing, { code: 'HF_LEDGER_INVALID', message: /building a test group failed \(record 7 has no account\); nothing of it was written\. This is not a disk problem\./ })
  const err = (await failing.catch((e: unknown) => e)) as Error
  t.notMatch(err.message, /disk space/)
  t.equal(await ledger.database.get('x/first'), undefined, 'nothing of the batch was written')
  t.equal(ledger.writeFailure, undefined, 'no latch')
  // A LedgerError from the building is passed on as it is.
  const own = new LedgerError('HF_LEDGER_INVALID', 'difficulty must be positive')
  t.equal(await write(ctx, [], 'a group', false, () => { throw own }).catch((e: unknown) => e), own, 'the same error object')
  await ledger.record(share({ jobId: 'later', time: T0 + 5 }))
  t.same((await allShares(ledger)).map((s) => s.jobId), ['later'], 'the ledger goes on')
})

t.test("LevelDB's refusal inside a fill stays a write failure, whatever the fill does with it", async (t) => {
  const { write } = await import('../../src/ledger/context.js')
  type Ctx = Parameters<typeof write>[0]
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path })
  const ctx = { db: ledger.database, path } as unknown as Ctx
  ledger.database.hooks.prewrite.add((op: { key: unknown }) => {
    if (op.key === 'x/refused') throw new Error('ENOSPC: no space left on device (simulated)')
  })
  // The fill catches the refusal and throws its own error: still HF_LEDGER_WRITE, naming the refusal.
  const rethrown = write(ctx, [], 'group 1', false, (put) => {
    try {
      put('x/refused', '1')
    } catch {
      throw new Error('something else')
    }
  })
  await t.rejects(rethrown, { code: 'HF_LEDGER_WRITE', message: /ENOSPC/ })
  // The fill swallows it and goes on: the batch is not written in part.
  const swallowed = write(ctx, [], 'group 2', false, (put) => {
    put('x/kept', '1')
    try {
      put('x/refused', '2')
    } catch {
      // ignored
    }
    put('x/other', '3')
  })
  await t.rejects(swallowed, { code: 'HF_LEDGER_WRITE', message: /ENOSPC/ })
  t.same(await ledger.database.getMany(['x/kept', 'x/other']), [undefined, undefined], 'nothing of it was written')
})
