/** Balances never go negative; postings are atomic and idempotent under a ref. */
import t from 'tap'
import { prng } from '../helpers/prng.js'
import { ledgerPath, openLedger } from '../helpers/ledger-fixtures.js'

t.test('a debit beyond the balance is refused and writes nothing', async (t) => {
  const ledger = await openLedger(t)
  await ledger.credit('alice', 100n)
  await t.rejects(ledger.debit('alice', 101n), { code: 'HF_LEDGER_BALANCE', message: /alice/ })
  await t.rejects(ledger.debit('nobody', 1n), { code: 'HF_LEDGER_BALANCE' })
  t.equal(await ledger.balance('alice'), 100n)
  const debit = await ledger.debit('alice', 100n)
  t.equal(debit.balance, 0n, 'down to exactly zero is fine')
  const entries = []
  for await (const e of ledger.journal()) entries.push(e.amount)
  t.same(entries, [100n, -100n], 'the refused debits left no journal entry')
  for (const bad of [0n, -5n, 5 as unknown as bigint]) {
    await t.rejects(ledger.credit('alice', bad), { code: 'HF_LEDGER_INVALID' })
    await t.rejects(ledger.debit('alice', bad), { code: 'HF_LEDGER_INVALID' })
  }
  await t.rejects(ledger.post([]), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.post([{ account: 'a/b', amount: 1n }]), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.post([{ account: 'a', amount: 0n }]), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.post([{ account: 'a', amount: 1n }], { ref: '' }), { code: 'HF_LEDGER_INVALID' })
  await t.rejects(ledger.balance('bad name'), { code: 'HF_LEDGER_INVALID' })
})

t.test('a posting is all or nothing', async (t) => {
  const ledger = await openLedger(t)
  await ledger.credit('pool', 1000n)
  // Pay two miners from the pool; the third line overdraws, so none applies.
  await t.rejects(
    ledger.post([
      { account: 'pool', amount: -600n },
      { account: 'm1', amount: 600n },
      { account: 'pool', amount: -600n },
      { account: 'm2', amount: 600n },
    ]),
    { code: 'HF_LEDGER_BALANCE' },
  )
  t.same(await ledger.balances(), new Map([['pool', 1000n]]))
  const entries = await ledger.post([
    { account: 'pool', amount: -600n },
    { account: 'm1', amount: 600n },
  ])
  t.same(entries.map((e) => e.balance), [400n, 600n])
})

t.test('a ref is applied once; replaying it returns the first entries; other entries under it conflict', async (t) => {
  const path = ledgerPath(t)
  const ledger = await openLedger(t, { path })
  const split = [
    { account: 'a', amount: 70n },
    { account: 'b', amount: 28n },
    { account: 'treasury', amount: 2n },
  ]
  const first = await ledger.post(split, { ref: 'block:abc:pplns', note: 'maturity' })
  const again = await ledger.post(split, { ref: 'block:abc:pplns', note: 'maturity' })
  t.same(again, first)
  await t.rejects(ledger.post([{ account: 'a', amount: 71n }], { ref: 'block:abc:pplns' }), { code: 'HF_LEDGER_CONFLICT' })
  await ledger.close()
  const reopened = await openLedger(t, { path })
  t.same(await reopened.post(split, { ref: 'block:abc:pplns' }), first, 'after a restart too')
  t.equal(await reopened.balance('a'), 70n)
  await reopened.debit('a', 70n, { ref: 'payout:1' })
  t.equal((await reopened.debit('a', 70n, { ref: 'payout:1' })).balance, 0n, 'a retried payout debit is not taken twice')
  t.equal(await reopened.balance('a'), 0n)
})

t.test('concurrent debits cannot spend the same satoshis; the journal explains every balance', async (t) => {
  const ledger = await openLedger(t)
  await ledger.credit('alice', 100n)
  const results = await Promise.allSettled(Array.from({ length: 50 }, () => ledger.debit('alice', 10n)))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 10)
  t.ok(results.filter((r) => r.status === 'rejected').every((r) => (r.reason as { code: string }).code === 'HF_LEDGER_BALANCE'))
  t.equal(await ledger.balance('alice'), 0n)

  const rand = prng(42)
  const ops: Promise<unknown>[] = []
  for (let i = 0; i < 300; i++) {
    const account = `acct${Math.floor(rand() * 4)}`
    const amount = BigInt(1 + Math.floor(rand() * 1000))
    ops.push(rand() < 0.5 ? ledger.credit(account, amount) : ledger.debit(account, amount))
  }
  await Promise.allSettled(ops)
  const fromJournal = new Map<string, bigint>()
  const wrong: number[] = []
  for await (const e of ledger.journal()) {
    const next = (fromJournal.get(e.account) ?? 0n) + e.amount
    if (e.balance !== next || next < 0n) wrong.push(e.seq)
    fromJournal.set(e.account, next)
  }
  t.same(wrong, [], 'each entry carries the running balance, never below zero')
  t.same(await ledger.balances(), fromJournal)
})
