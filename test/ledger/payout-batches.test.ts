/**
 * Payout batch records and the webhook outbox in the ledger: a batch and
 * its debits are one atomic write (all or nothing), failing refunds in the
 * same write, state changes only from pending, a sent batch confirmed,
 * following its replacement or dropped (refunded once, under the same ref
 * as failed), bad input and damaged records refused with ledger errors.
 */
import t from 'tap'
import { debitRef, newBatchId, outboxOps, refundRef } from '../../src/ledger/index.js'
import { openLedger, T0 } from '../helpers/ledger-fixtures.js'

const ID = newBatchId(T0)
const line = (account: string, amount: bigint) => ({ account, address: `addr-${account}`, amount })

t.test('create debits atomically; nothing at all is written when a balance is short', async (t) => {
  const ledger = await openLedger(t)
  await ledger.credit('alice', 1000n)
  await ledger.credit('bob', 500n)
  t.match(ID, /^[0-9a-f]{12}-[0-9a-f]{16}$/)
  t.ok(ID.startsWith(T0.toString(16).padStart(12, '0')))
  t.not(newBatchId(T0), newBatchId(T0), 'random part')

  await t.rejects(ledger.payoutBatches.create({ id: ID, sender: 'onchain', lines: [line('alice', 1000n), line('bob', 501n)] }), { code: 'HF_LEDGER_BALANCE' })
  t.equal(await ledger.payoutBatches.get(ID), undefined, 'no batch')
  t.equal(await ledger.balance('alice'), 1000n, 'no debit')

  const batch = await ledger.payoutBatches.create({ id: ID, sender: 'onchain', lines: [line('alice', 1000n), line('bob', 500n)] })
  t.match(batch, { id: ID, status: 'pending', sender: 'onchain', total: 1500n, attempts: 0, txid: undefined })
  t.equal(await ledger.balance('alice'), 0n)
  const journal = []
  for await (const e of ledger.journal()) journal.push(e)
  t.same(journal.slice(-2).map((e) => [e.account, e.amount, e.ref]), [
    ['alice', -1000n, debitRef(ID)],
    ['bob', -500n, debitRef(ID)],
  ])
  // Creating the same id again changes nothing (the debit ref is applied once).
  const again = await ledger.payoutBatches.create({ id: ID, sender: 'onchain', lines: [line('alice', 1000n), line('bob', 500n)] })
  t.equal(again.createdAt, batch.createdAt)
  t.equal(await ledger.balance('bob'), 0n)
})

t.test('update and fail only pending batches; fail refunds in the same write', async (t) => {
  const ledger = await openLedger(t)
  await ledger.credit('alice', 1000n)
  await ledger.payoutBatches.create({ id: ID, sender: 'onchain', lines: [line('alice', 1000n)] })
  const tried = await ledger.payoutBatches.update(ID, { attempts: 1, lastAttemptAt: T0 + 5 })
  t.match(tried, { attempts: 1, lastAttemptAt: T0 + 5 })
  const extra = outboxOps(['abc'], { id: 'payout.failed:x', type: 'payout.failed', createdAt: T0, body: '{}' })
  const { batch, refund } = await ledger.payoutBatches.fail(ID, 'Insufficient funds', extra)
  t.equal(batch.status, 'failed')
  t.same(refund.map((e) => [e.account, e.amount, e.ref]), [['alice', 1000n, refundRef(ID)]])
  t.equal(await ledger.balance('alice'), 1000n)
  t.equal((await ledger.outbox.all()).length, 1, 'the event written with it')
  t.same((await ledger.payoutBatches.get(ID))?.error, 'Insufficient funds')
  await t.rejects(ledger.payoutBatches.update(ID, { status: 'sent', txid: 'x' }), { code: 'HF_LEDGER_INVALID', message: /failed, not pending/ })
  await t.rejects(ledger.payoutBatches.fail(ID, 'again'), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.payoutBatches.update(newBatchId(T0), { attempts: 2 }), { code: 'HF_LEDGER_INVALID', message: /no payout batch/ })

  const second = newBatchId(T0 + 1)
  await ledger.payoutBatches.create({ id: second, sender: 'onchain', lines: [line('alice', 400n)] })
  await ledger.payoutBatches.update(second, { status: 'sent', txid: 'f'.repeat(64), sentAt: T0 + 9 })
  t.same((await ledger.payoutBatches.list()).map((b) => b.status), ['failed', 'sent'])
  t.same((await ledger.payoutBatches.list({ status: 'sent' })).map((b) => b.id), [second])
  t.same(await ledger.payoutBatches.list({ status: 'pending' }), [])
})

t.test('a sent batch: follows its replacement, is confirmed, or dropped and credited back once', async (t) => {
  const ledger = await openLedger(t)
  await ledger.credit('alice', 1000n)
  await ledger.credit('bob', 600n)
  const [a, b, c] = [newBatchId(T0), newBatchId(T0 + 1), newBatchId(T0 + 2)]
  for (const [id, l] of [
    [a, line('alice', 300n)],
    [b, line('alice', 700n)],
    [c, line('bob', 600n)],
  ] as const) {
    await ledger.payoutBatches.create({ id, sender: 'onchain', lines: [l] })
  }
  // Only sent batches change this way; pending ones refuse.
  const confirm = (txid: string, replacedTxids: string[] = []) => ({ status: 'confirmed', confirmedAt: T0 + 60, txid, replacedTxids }) as const
  await t.rejects(ledger.payoutBatches.updateSent(a, confirm('1'.repeat(64))), { code: 'HF_LEDGER_INVALID', message: /pending, not sent/ })
  await t.rejects(ledger.payoutBatches.drop(a, 'x'), { code: 'HF_LEDGER_INVALID', message: /pending, not sent/ })
  for (const id of [a, b, c]) await ledger.payoutBatches.update(id, { status: 'sent', txid: '1'.repeat(64), sentAt: T0 + 9 })
  t.same((await ledger.payoutBatches.get(a))?.replacedTxids, [], 'none replaced yet')

  const bumped = await ledger.payoutBatches.updateSent(a, { txid: '2'.repeat(64), replacedTxids: ['1'.repeat(64)], replacedAt: T0 + 30 })
  t.match(bumped, { status: 'sent', txid: '2'.repeat(64), replacedTxids: ['1'.repeat(64)], replacedAt: T0 + 30, error: undefined })
  t.same(await ledger.payoutBatches.get(a), bumped, 'read back as written')
  // The original confirmed after all: it is the batch's txid now, the bump the replaced one.
  const confirmed = await ledger.payoutBatches.updateSent(a, confirm('1'.repeat(64), ['2'.repeat(64)]))
  t.match(await ledger.payoutBatches.get(a), { status: 'confirmed', confirmedAt: T0 + 60, txid: '1'.repeat(64), replacedTxids: ['2'.repeat(64)] })
  t.equal(confirmed.status, 'confirmed')
  await t.rejects(ledger.payoutBatches.drop(a, 'late'), { code: 'HF_LEDGER_INVALID', message: /confirmed, not sent/ }, 'a confirmed batch is final')

  const extra = outboxOps(['abc'], { id: 'payout.dropped:x', type: 'payout.dropped', createdAt: T0, body: '{}' })
  const { batch, refund } = await ledger.payoutBatches.drop(b, 'conflicted 6 blocks deep', extra)
  t.match(batch, { status: 'dropped', error: 'conflicted 6 blocks deep' })
  t.same(refund.map((e) => [e.account, e.amount, e.ref]), [['alice', 700n, refundRef(b)]])
  t.equal(await ledger.balance('alice'), 700n, 'the dropped batch credited back, the confirmed one not')
  t.equal((await ledger.outbox.all()).length, 1, 'the event written with it')
  await t.rejects(ledger.payoutBatches.drop(b, 'again'), { code: 'HF_LEDGER_INVALID', message: /dropped, not sent/ })
  t.equal(await ledger.balance('alice'), 700n, 'once')
  t.same((await ledger.payoutBatches.list()).map((x) => x.status), ['confirmed', 'dropped', 'sent'])
  t.same((await ledger.payoutBatches.list({ status: 'sent' })).map((x) => x.id), [c])
  // A refund already posted for a batch still sent is damage: refused, nothing written.
  await ledger.post([{ account: 'bob', amount: 600n }], { ref: refundRef(c) })
  await t.rejects(ledger.payoutBatches.drop(c, 'x'), { code: 'HF_LEDGER_CORRUPT', message: /is sent but its refund payout-refund:.* was already posted/ })
  t.equal((await ledger.payoutBatches.get(c))?.status, 'sent')
  t.equal(await ledger.balance('bob'), 600n, 'not credited twice')
})

t.test('a version 2 ledger with sent batches opens as version 3 and reads them', async (t) => {
  const first = await openLedger(t)
  const path = first.path
  await first.credit('alice', 500n)
  await first.payoutBatches.create({ id: ID, sender: 'onchain', lines: [line('alice', 500n)] })
  await first.payoutBatches.update(ID, { status: 'sent', txid: 'a'.repeat(64), sentAt: T0 })
  await first.database.put('m/version', '2')
  await first.close()
  const ledger = await openLedger(t, { path })
  t.equal(await ledger.database.get('m/version'), '3')
  t.match(await ledger.payoutBatches.get(ID), { status: 'sent', txid: 'a'.repeat(64), confirmedAt: undefined })
})

t.test('invalid batches are refused', async (t) => {
  const ledger = await openLedger(t)
  await ledger.credit('alice', 1000n)
  const bad = [
    { id: 'nope', lines: [line('alice', 1n)] },
    { id: ID, lines: [] },
    { id: ID, lines: [line('alice', 1n), line('alice', 2n)] },
    { id: ID, lines: [line('alice', 0n)] },
    { id: ID, lines: [{ account: 'alice', address: '', amount: 1n }] },
    { id: ID, lines: [line('a/b', 1n)] },
  ]
  for (const b of bad) await t.rejects(ledger.payoutBatches.create({ ...b, sender: 'onchain' }), { code: 'HF_LEDGER_INVALID' }, JSON.stringify(b, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)))
  t.equal(await ledger.balance('alice'), 1000n)
})

t.test('outbox: ordering per endpoint, retries recorded, invalid input refused', async (t) => {
  const ledger = await openLedger(t)
  const ev = (n: number) => ({ id: `balance.snapshot:${n}`, type: 'balance.snapshot', createdAt: T0 + n, body: `{"n":${n}}` })
  await ledger.outbox.enqueue([...outboxOps(['aa', 'bb'], ev(2)), ...outboxOps(['aa'], ev(1))])
  await ledger.outbox.enqueue([])
  const head = await ledger.outbox.head('aa', 5)
  t.same(head.map((e) => e.id), ['balance.snapshot:1', 'balance.snapshot:2'])
  t.same(head[0], { key: `wh/aa/${(T0 + 1).toString(16).padStart(12, '0')}/balance.snapshot:1`, hook: 'aa', id: 'balance.snapshot:1', type: 'balance.snapshot', createdAt: T0 + 1, body: '{"n":1}', attempts: 0, nextAt: T0 + 1, lastError: undefined })
  const retried = await ledger.outbox.retryLater(head[0]!, T0 + 100, 'x'.repeat(600))
  t.equal(retried.attempts, 1)
  t.equal(retried.lastError?.length, 500)
  t.same((await ledger.outbox.head('aa'))[0], retried)
  await ledger.outbox.delivered(retried)
  t.same((await ledger.outbox.all()).map((e) => `${e.hook}:${e.id}`), ['aa:balance.snapshot:2', 'bb:balance.snapshot:2'])
  t.equal(await ledger.outbox.dropOthers(['bb']), 1)
  t.equal(await ledger.outbox.dropOthers(['bb']), 0)
  t.throws(() => outboxOps(['XY'], ev(1)), { code: 'HF_LEDGER_INVALID' })
  t.throws(() => outboxOps(['aa'], { ...ev(1), id: 'has space' }), { code: 'HF_LEDGER_INVALID' })
  t.throws(() => outboxOps(['aa'], { ...ev(1), createdAt: -1 }), { code: 'HF_LEDGER_INVALID' })
  t.throws(() => outboxOps(['aa'], { ...ev(1), body: 5 as unknown as string }), { code: 'HF_LEDGER_INVALID' })
})

t.test('damaged records are HF_LEDGER_CORRUPT; a closed ledger refuses', async (t) => {
  const ledger = await openLedger(t)
  await ledger.database.put(`po/${ID}`, '{"id":"x"}')
  await t.rejects(ledger.payoutBatches.get(ID), { code: 'HF_LEDGER_CORRUPT' })
  await t.rejects(ledger.payoutBatches.list(), { code: 'HF_LEDGER_CORRUPT' })
  await ledger.database.put(`po/${ID}`, JSON.stringify({ id: ID, status: 'pending', sender: 'onchain', createdAt: 1, attempts: 0, total: '1', lines: [{ account: 'a', address: 'b', amount: 'x' }] }))
  await t.rejects(ledger.payoutBatches.get(ID), { code: 'HF_LEDGER_CORRUPT' })
  const good = { id: ID, status: 'sent', sender: 'onchain', createdAt: 1, attempts: 1, total: '1', lines: [{ account: 'a', address: 'b', amount: '1' }] }
  for (const bad of [{ ...good, replacedTxids: 'ab' }, { ...good, replacedTxids: ['ab', 5] }, { ...good, status: 'lost' }, { ...good, lines: 'x' }, { ...good, lines: [null] }, { ...good, total: 1 }, { ...good, sender: 1 }, { ...good, createdAt: 'x' }, { ...good, attempts: null }, { ...good, id: 5 }]) {
    await ledger.database.put(`po/${ID}`, JSON.stringify(bad))
    await t.rejects(ledger.payoutBatches.get(ID), { code: 'HF_LEDGER_CORRUPT' }, JSON.stringify(bad))
  }
  // Optional fields of another type are read as absent.
  await ledger.database.put(`po/${ID}`, JSON.stringify({ ...good, txid: 5, sentAt: 'x', lastAttemptAt: null, error: {} }))
  t.match(await ledger.payoutBatches.get(ID), { txid: undefined, sentAt: undefined, lastAttemptAt: undefined, error: undefined, status: 'sent' })
  await ledger.database.put('wh/aa/000000000001/e', '{"id":1}')
  await t.rejects(ledger.outbox.all(), { code: 'HF_LEDGER_CORRUPT' })
  await ledger.close()
  await t.rejects(ledger.payoutBatches.list(), { code: 'HF_LEDGER_CLOSED' })
  await t.rejects(ledger.outbox.head('aa'), { code: 'HF_LEDGER_CLOSED' })
})
