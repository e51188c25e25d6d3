/**
 * The payout loop against a fake bitcoind wallet speaking JSON-RPC over
 * HTTP: report mode, batching, BTC strings, every failure of a send, and
 * reconciliation by the batch id in the transaction comment.
 */
import t, { type Test } from 'tap'
import { PayoutRunner, mergeOutputs, type PayoutRunnerOptions } from '../../src/payouts/payout-runner.js'
import { batchComment, btcToSats, OnchainSender } from '../../src/payouts/onchain-sender.js'
import { payoutAddresses } from '../../src/payouts/payout-setup.js'
import { certainlyUnpaid, type PayoutSender } from '../../src/payouts/sender.js'
import { PayoutError, type ConfigError } from '../../src/errors.js'
import type { Ledger } from '../../src/ledger/index.js'
import { FakeWallet } from '../helpers/fake-wallet.js'
import { ledgerPath, manualClock, openLedger, T0 } from '../helpers/ledger-fixtures.js'
import { Crash, regtestAddress, walletSender } from '../helpers/payout-fixtures.js'

const A = regtestAddress('a')
const B = regtestAddress('b')
const C = regtestAddress('c')

async function setup(t: Test, walletOptions: Parameters<typeof FakeWallet.start>[0] = {}) {
  const wallet = await FakeWallet.start(walletOptions)
  t.teardown(() => wallet.close())
  const ledger = await openLedger(t)
  const sender = walletSender(wallet)
  t.teardown(() => sender.close())
  const clock = manualClock(T0)
  const runner = (over: Partial<PayoutRunnerOptions> = {}): PayoutRunner =>
    new PayoutRunner({ ledger, sender, thresholdSats: 100_000n, addressOf: payoutAddresses({ alice: A, bob: B, carol: C }, 'regtest'), reconcileGraceMs: 0, clock: clock.now, ...over })
  return { wallet, ledger, sender, clock, runner }
}

async function credit(ledger: Ledger, balances: Record<string, bigint>): Promise<void> {
  for (const [account, sats] of Object.entries(balances)) await ledger.credit(account, sats)
}

t.test('report mode lists what is due and sends nothing', async (t) => {
  const ledger = await openLedger(t)
  await credit(ledger, { alice: 150_000n, bob: 99_999n, nobody: 500_000n })
  const runner = new PayoutRunner({ ledger, thresholdSats: 100_000n, addressOf: payoutAddresses({ alice: A, bob: B }, 'regtest') })
  t.equal(runner.mode, 'report')
  const result = await runner.runOnce()
  t.same(result.planned, [
    { account: 'alice', amount: 150_000n, address: A },
    { account: 'nobody', amount: 500_000n, address: undefined },
  ])
  t.same(result.created, [])
  t.equal(await ledger.balance('alice'), 150_000n, 'nothing debited')
  t.same(await ledger.payoutBatches.list(), [])
  // A batch left pending by onchain mode is reported, not touched.
  const batch = await ledger.payoutBatches.create({ id: '000000000001-0123456789abcdef', sender: 'onchain', lines: [{ account: 'alice', address: A, amount: 150_000n }] })
  const warned: unknown[] = []
  const log = { warn: (o: unknown) => warned.push(o), info: () => {}, error: () => {}, child: () => log } as unknown as NonNullable<PayoutRunnerOptions['log']>
  const later = await new PayoutRunner({ ledger, thresholdSats: 100_000n, addressOf: () => undefined, log }).runOnce()
  t.same(later.pending.map((b) => b.id), [batch.id])
  t.equal(warned.length, 2, 'pending batch and missing address warnings')
  t.equal((await ledger.payoutBatches.get(batch.id))?.status, 'pending')
})

t.test('onchain: one sendmany with 8-decimal BTC strings, the batch id in the comment, balances debited once', async (t) => {
  const { wallet, ledger, runner } = await setup(t)
  await credit(ledger, { alice: 123_456_789n, bob: 100_000n, carol: 99_999n })
  const events: string[] = []
  const result = await runner({ eventOps: (type, batch) => (events.push(`${type}:${batch.id}:${batch.txid}`), []) }).runOnce()
  t.equal(result.created.length, 1)
  t.equal(result.sent.length, 1)
  const [batch] = result.sent
  t.equal(wallet.sends.length, 1)
  const [send] = wallet.sends
  t.equal(send?.comment, batchComment(batch!.id))
  t.ok(send?.stringAmounts, 'amounts sent as strings')
  t.same([...send!.outputs], [
    [A, 123_456_789n],
    [B, 100_000n],
  ])
  t.equal(batch?.txid, send?.txid)
  t.equal(batch?.total, 123_556_789n)
  t.same(events, [`payout.sent:${batch!.id}:${send!.txid}`])
  t.equal(await ledger.balance('alice'), 0n)
  t.equal(await ledger.balance('bob'), 0n)
  t.equal(await ledger.balance('carol'), 99_999n, 'below the threshold: carried over')
  const journal = []
  for await (const e of ledger.journal({ account: 'alice' })) journal.push(e)
  t.same(journal.map((e) => [e.amount, e.ref]), [
    [123_456_789n, undefined],
    [-123_456_789n, `payout:${batch!.id}`],
  ])
  const again = await runner().runOnce()
  t.same(again.created, [], 'nothing left to pay')
  t.equal(wallet.sends.length, 1)
})

t.test('accounts sharing an address are one output; max_outputs splits batches', async (t) => {
  const { wallet, ledger, runner } = await setup(t)
  await credit(ledger, { alice: 200_000n, bob: 300_000n, carol: 400_000n, dave: 500_000n })
  const addressOf = payoutAddresses({ alice: A, bob: A, carol: B, dave: C }, 'regtest')
  const result = await runner({ addressOf, maxOutputs: 2 }).runOnce()
  t.equal(result.created.length, 2)
  t.same(wallet.sends.map((s) => [...s.outputs]), [
    [
      [A, 500_000n],
      [B, 400_000n],
    ],
    [[C, 500_000n]],
  ])
  t.same(mergeOutputs(result.sent[0]!), [
    { address: A, amount: 500_000n },
    { address: B, amount: 400_000n },
  ])
})

t.test('an account named by a valid address is paid there; invalid configured addresses stop the start', async (t) => {
  const addressOf = payoutAddresses({}, 'regtest')
  t.equal(addressOf(A), A)
  t.equal(addressOf('alice'), undefined)
  t.equal(addressOf('alice'), undefined, 'cached')
  t.equal(payoutAddresses({}, 'mainnet')(A), undefined, 'a regtest address on mainnet is not one')
  const err = t.throws(() => payoutAddresses({ alice: 'bc1notanaddress', bob: A }, 'mainnet')) as ConfigError
  t.equal(err.code, 'HF_CONFIG_INVALID')
  t.equal(err.problems.length, 2)
  t.match(err.problems[0], /^payouts\.addresses\.alice: expected a mainnet address/)
})

t.test('a refused send fails the batch and credits the money back, atomically', async (t) => {
  const { wallet, ledger, runner } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  wallet.failNext({ kind: 'rpc-error', method: 'sendmany', code: -6, message: 'Insufficient funds' })
  const events: string[] = []
  const result = await runner({ eventOps: (type) => (events.push(type), []) }).runOnce()
  t.equal(result.failed.length, 1)
  t.match(result.failed[0]?.error, /Insufficient funds/)
  t.equal(await ledger.balance('alice'), 150_000n, 'refunded')
  t.same(events, ['payout.failed'])
  t.equal(wallet.sends.length, 0)
  // The next run pays it in a new batch.
  const next = await runner().runOnce()
  t.equal(next.sent.length, 1)
  t.not(next.sent[0]?.id, result.failed[0]?.id)
  t.equal(await ledger.balance('alice'), 0n)
  t.same([...wallet.paid()], [[A, 150_000n]])
})

t.test('answer lost after the wallet sent: pending, then found by its comment, never sent again', async (t) => {
  const { wallet, ledger, runner } = await setup(t, { noise: 250 })
  await credit(ledger, { alice: 150_000n, bob: 200_000n })
  wallet.failNext({ kind: 'drop-after', method: 'sendmany' })
  const first = await runner().runOnce()
  t.equal(first.pending.length, 1)
  t.match(first.pending[0]?.error, /no answer/)
  t.equal(wallet.sends.length, 1, 'the wallet did send')
  await credit(ledger, { carol: 300_000n })
  const second = await runner().runOnce()
  t.equal(second.sent.length, 2, 'the old batch reconciled, then the new one sent')
  t.equal(second.sent[0]?.id, first.pending[0]?.id)
  t.equal(second.sent[0]?.txid, wallet.sends[0]?.txid)
  t.equal(wallet.sends.length, 2)
  t.equal(wallet.calls.get('sendmany'), 2)
  t.same([...wallet.paid()].sort(), [[A, 150_000n], [B, 200_000n], [C, 300_000n]].sort())
})

t.test('no new batch while one is unresolved; the grace period holds a resend back', async (t) => {
  const { wallet, ledger, runner, clock } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  wallet.failNext({ kind: 'drop-before', method: 'sendmany' })
  const r = runner({ reconcileGraceMs: 60_000 })
  const first = await r.runOnce()
  t.equal(first.pending.length, 1)
  await credit(ledger, { bob: 150_000n })
  clock.advance(59_999)
  const waiting = await r.runOnce()
  t.equal(waiting.pending.length, 1, 'not found, but within the grace period')
  t.same(waiting.created, [], 'no new batch meanwhile')
  t.equal(wallet.calls.get('sendmany'), 1)
  clock.advance(1)
  const later = await r.runOnce()
  t.equal(later.sent.length, 2)
  t.equal(later.sent[0]?.attempts, 2)
  t.equal(wallet.sends.length, 2)
  t.same([...wallet.paid()].sort(), [[A, 150_000n], [B, 150_000n]].sort())
})

t.test('wallet unreachable while reconciling: the batch waits, nothing is sent', async (t) => {
  const { wallet, ledger, runner } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  wallet.failNext({ kind: 'drop-after', method: 'sendmany' })
  await runner().runOnce()
  wallet.failNext({ kind: 'rpc-error', method: 'listtransactions', code: -18, message: 'Requested wallet does not exist or is not loaded' })
  const blocked = await runner().runOnce()
  t.equal(blocked.pending.length, 1)
  t.equal(wallet.calls.get('sendmany'), 1)
  const fine = await runner().runOnce()
  t.equal(fine.sent.length, 1)
  t.equal(wallet.sends.length, 1)
})

t.test('a crash at each point, then a new runner: paid exactly once', async (t) => {
  for (const point of ['batch-created', 'attempt-recorded', 'sent', 'txid-recorded'] as const) {
    const wallet = await FakeWallet.start()
    const ledger = await openLedger(t, { path: ledgerPath(t, point) })
    const sender = walletSender(wallet)
    await credit(ledger, { alice: 150_000n, bob: 250_000n })
    const addressOf = payoutAddresses({ alice: A, bob: B }, 'regtest')
    const crashing = new PayoutRunner({ ledger, sender, thresholdSats: 100_000n, addressOf, reconcileGraceMs: 0, faults: (p) => { if (p === point) throw new Crash(p) } })
    await t.rejects(crashing.runOnce(), { message: `simulated crash at ${point}` })
    const after = await new PayoutRunner({ ledger, sender, thresholdSats: 100_000n, addressOf, reconcileGraceMs: 0 }).runOnce()
    const batches = await ledger.payoutBatches.list()
    t.equal(batches.length, 1, `${point}: one batch`)
    t.equal(batches[0]?.status, 'sent', point)
    t.equal(wallet.sends.length, 1, `${point}: the wallet saw one send`)
    t.equal(batches[0]?.txid, wallet.sends[0]?.txid)
    t.same(after.created, [], `${point}: no second batch`)
    t.equal(await ledger.balance('alice'), 0n)
    await sender.close()
    await wallet.close()
  }
})

t.test('runs never overlap; stop waits for a run; a balance change during planning writes nothing', async (t) => {
  const { wallet, ledger, runner } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  const r = runner()
  const [x, y] = [r.runOnce(), r.runOnce()]
  t.equal(x, y, 'the same run')
  await x
  t.equal(wallet.sends.length, 1)
  await credit(ledger, { bob: 150_000n })
  // Between plan and create, bob's balance goes: the create refuses, nothing is written.
  const racing = runner({ addressOf: (a) => { if (a === 'bob') void ledger.debit('bob', 150_000n); return payoutAddresses({ alice: A, bob: B }, 'regtest')(a) } })
  const result = await racing.runOnce()
  t.same(result.created, [])
  t.equal((await ledger.payoutBatches.list()).length, 1)
  r.start(3_600_000, 3_600_000)
  await r.stop()
})

t.test('the loop runs on its schedule and logs failures instead of throwing', async (t) => {
  const { ledger, runner } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  const logged: unknown[] = []
  const log = { error: (o: unknown) => logged.push(o), warn: () => {}, info: () => {}, child: () => log } as unknown as NonNullable<PayoutRunnerOptions['log']>
  const r = runner({ log, faults: () => { throw new Error('boom') } })
  r.start(5, 1)
  const { until } = await import('../helpers/until.js')
  await until(() => logged.length >= 2)
  await r.stop()
  t.ok(logged.length >= 2, 'each run failed and was logged')
})

t.test('OnchainSender: errors, txid check, available balance, BTC number parsing', async (t) => {
  const wallet = await FakeWallet.start({ balanceSats: 123_456_789n })
  t.teardown(() => wallet.close())
  const sender = walletSender(wallet, { timeoutMs: 300 })
  t.teardown(() => sender.close())
  t.equal(await sender.available(), 123_456_789n)
  t.equal(btcToSats(0.1), 10_000_000n)
  t.equal(btcToSats(-0.00000001), -1n)
  t.equal(btcToSats(20999999.99999999), 2_099_999_999_999_999n)
  t.throws(() => btcToSats(Number.NaN), RangeError)

  await t.rejects(sender.send({ batchId: 'x', outputs: [{ address: A, amount: 1n }, { address: A, amount: 2n }] }), { code: 'HF_PAYOUT_SEND' })
  await t.rejects(sender.send({ batchId: 'x', outputs: [{ address: A, amount: 0n }] }), { code: 'HF_PAYOUT_SEND' })
  wallet.failNext({ kind: 'hang', method: 'sendmany' })
  const hung = await sender.send({ batchId: 'y', outputs: [{ address: A, amount: 1000n }] }).catch((e: unknown) => e)
  t.ok(hung instanceof PayoutError && hung.code === 'HF_PAYOUT_UNKNOWN' && !certainlyUnpaid(hung), 'a timeout is unknown, not unpaid')
  wallet.failNext({ kind: 'rpc-error', method: 'sendmany', code: -13, message: 'Please enter the wallet passphrase' })
  const locked = await sender.send({ batchId: 'y', outputs: [{ address: A, amount: 1000n }] }).catch((e: unknown) => e)
  t.ok(certainlyUnpaid(locked))
  t.notOk(certainlyUnpaid(new Error('other')))

  const wrongWallet = walletSender(wallet, { walletName: 'other' })
  t.teardown(() => wrongWallet.close())
  await t.rejects(wrongWallet.send({ batchId: 'z', outputs: [{ address: A, amount: 1000n }] }), { code: 'HF_PAYOUT_SEND' })
  t.equal(await wrongWallet.available().catch((e: { code?: string }) => e.code), 'HF_BITCOIND_RPC')

  const sent = await sender.send({ batchId: 'ok', outputs: [{ address: A, amount: 1000n }] })
  t.same(await sender.find('ok', Date.now()), sent)
  t.equal(await sender.find('missing', Date.now()), undefined)
  t.equal(new OnchainSender({ rpc: { url: `${wallet.url}/`, auth: { user: 'rpc', password: 'secret' } }, wallet: '' }).url, wallet.url)
})

t.test('find pages through listtransactions and stops at old entries', async (t) => {
  const wallet = await FakeWallet.start({ noise: 40, now: () => Math.floor(T0 / 1000) })
  t.teardown(() => wallet.close())
  const sender = walletSender(wallet, { pageSize: 7 })
  t.teardown(() => sender.close())
  const sent = await sender.send({ batchId: 'early', outputs: [{ address: A, amount: 1000n }, { address: B, amount: 1000n }] })
  for (let i = 0; i < 10; i++) await sender.send({ batchId: `later-${i}`, outputs: [{ address: C, amount: 1000n }] })
  const before = wallet.calls.get('listtransactions') ?? 0
  t.same(await sender.find('early', T0), sent)
  t.ok((wallet.calls.get('listtransactions') ?? 0) - before >= 2, 'paged')
  // A batch created two days after every wallet entry: the first page is old enough to stop.
  const calls = wallet.calls.get('listtransactions') ?? 0
  t.equal(await sender.find('never', T0 + 2 * 86_400_000), undefined)
  t.equal((wallet.calls.get('listtransactions') ?? 0) - calls, 1)
  wallet.failNext({ kind: 'rpc-error', method: 'listtransactions', code: -1, message: 'x' })
  await t.rejects(sender.find('early', T0))
})

/** A logger that records what was logged at each level (messages only). */
function recordingLog() {
  const lines: { level: string; msg: string }[] = []
  const at = (level: string) => (o: unknown, m?: string) => void lines.push({ level, msg: typeof o === 'string' ? o : (m ?? '') })
  const log = { warn: at('warn'), info: at('info'), error: at('error'), child: () => log } as unknown as NonNullable<PayoutRunnerOptions['log']>
  return { log, lines }
}

t.test('a sent batch is followed to its end: confirmed at the depth, events written with each change', async (t) => {
  const { wallet, ledger, runner, clock } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  const events: string[] = []
  const make = () => runner({ confirmDepth: 3, eventOps: (type, batch) => (events.push(`${type}:${batch.txid}`), []) })
  const [batch] = (await make().runOnce()).sent
  const txid = batch!.txid!
  wallet.mine(txid, 2)
  const early = await make().runOnce()
  t.same([early.confirmed, early.dropped], [[], []], 'two of three confirmations: still sent')
  t.equal((await ledger.payoutBatches.get(batch!.id))?.status, 'sent')
  clock.advance(600_000)
  wallet.mine(txid, 3)
  const later = await make().runOnce()
  t.same(later.confirmed.map((b) => [b.id, b.status, b.confirmedAt]), [[batch!.id, 'confirmed', clock.now()]])
  t.match(await ledger.payoutBatches.get(batch!.id), { status: 'confirmed', confirmedAt: clock.now(), txid })
  t.same(events, [`payout.sent:${txid}`, `payout.confirmed:${txid}`])
  const calls = wallet.calls.get('gettransaction')
  await make().runOnce()
  t.equal(wallet.calls.get('gettransaction'), calls, 'a confirmed batch is not asked about again')
  t.equal(await ledger.balance('alice'), 0n)
  t.same(wallet.paid(), new Map([[A, 150_000n]]))
})

t.test('a fee bump is followed, and the original is still watched: whichever confirms confirms the batch', async (t) => {
  for (const confirming of ['the last bump', 'the original'] as const) {
    await t.test(confirming, async (t) => {
      const { wallet, ledger, runner, sender } = await setup(t)
      await credit(ledger, { alice: 150_000n })
      const [batch] = (await runner().runOnce()).sent
      const first = batch!.txid!
      const second = wallet.bump(first)
      const third = wallet.bump(second)
      const followed = await runner().runOnce()
      t.same([followed.confirmed, followed.dropped], [[], []])
      t.match(await ledger.payoutBatches.get(batch!.id), { status: 'sent', txid: third, replacedTxids: [first, second] }, 'two replacements followed in one run')
      const winner = confirming === 'the original' ? first : third
      wallet.mine(winner, 6)
      const loser = winner === first ? third : first
      t.ok((await sender.status(loser))!.confirmations <= -6, 'the other one reads as conflicted 6 deep')
      const run = await runner().runOnce()
      t.same(run.dropped, [], 'not dropped: one of its transactions confirmed')
      t.same(run.confirmed.map((b) => b.txid), [winner])
      t.match(await ledger.payoutBatches.get(batch!.id), { status: 'confirmed', txid: winner })
      t.same(new Set((await ledger.payoutBatches.get(batch!.id))?.replacedTxids), new Set([first, second, third].filter((x) => x !== winner)))
      t.equal(await ledger.balance('alice'), 0n, 'paid once')
      t.same(wallet.paid(), new Map([[A, 150_000n]]))
      t.same(run.created, [], 'nothing paid again')
    })
  }
})

t.test('dropped only when every transaction of the batch is conflicted at the drop depth (at least 6)', async (t) => {
  const { wallet, ledger, runner } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  const make = () => runner({ confirmDepth: 1, dropDepth: 1 })
  const [batch] = (await make().runOnce()).sent
  const first = batch!.txid!
  const second = wallet.bump(first)
  await make().runOnce()
  wallet.conflict(first, 3)
  const shallow = await make().runOnce()
  t.same(shallow.dropped, [], 'a drop depth below 6 is raised to 6: a conflict 3 deep waits')
  wallet.conflict(second, 6)
  const deep = await make().runOnce()
  t.same(deep.dropped.map((b) => b.id), [batch!.id], 'both transactions conflicted 6 deep')
  t.match((await ledger.payoutBatches.get(batch!.id))?.error, new RegExp(`transactions ${first}, ${second} conflict`))
  t.same(deep.sent.map((b) => b.total), [150_000n], 'paid again')
  t.same(wallet.paid(), new Map([[A, 150_000n]]))
})

t.test('a transaction that can no longer confirm drops its batch and credits it back once; a later run pays again', async (t) => {
  const { wallet, ledger, runner } = await setup(t)
  await credit(ledger, { alice: 150_000n, bob: 200_000n })
  const events: string[] = []
  const make = () => runner({ eventOps: (type) => (events.push(type), []) })
  const [batch] = (await make().runOnce()).sent
  const txid = batch!.txid!
  wallet.conflict(txid, 2)
  const shallow = await make().runOnce()
  t.same(shallow.dropped, [], 'a conflict 2 deep could still be reorganised away: wait')
  t.equal(await ledger.balance('alice'), 0n)
  wallet.conflict(txid, 6)
  const deep = await make().runOnce()
  t.same(deep.dropped.map((b) => [b.id, b.status]), [[batch!.id, 'dropped']])
  t.match((await ledger.payoutBatches.get(batch!.id))?.error, /transaction [0-9a-f]{64} conflicts with a transaction at least 6 blocks deep/)
  // Credited back, then paid again by the same run (a new batch, a new transaction).
  t.equal(deep.created.length, 1)
  t.same(deep.sent.map((b) => b.total), [350_000n])
  t.not(deep.sent[0]!.txid, txid)
  t.equal(await ledger.balance('alice'), 0n)
  t.same(wallet.paid(), new Map([[A, 150_000n], [B, 200_000n]]), 'each paid exactly once in the end')
  t.same(events, ['payout.sent', 'payout.dropped', 'payout.sent'])
  // The refund is one journal posting under the batch's refund ref.
  const refunds = []
  for await (const e of ledger.journal()) if (e.ref === `payout-refund:${batch!.id}`) refunds.push([e.account, e.amount])
  t.same(refunds, [['alice', 150_000n], ['bob', 200_000n]])
  // A run after: the dropped batch is not touched again.
  await make().runOnce()
  t.same(events.length, 3)
})

t.test('abandoned, unconfirmed for long, unknown to the wallet, wallet down: the batch stays sent and it is logged', async (t) => {
  const { wallet, ledger, runner, clock, sender } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  const { log, lines } = recordingLog()
  const make = () => runner({ log, stallWarnMs: 3_600_000 })
  const [batch] = (await make().runOnce()).sent
  const txid = batch!.txid!
  lines.length = 0
  await make().runOnce()
  t.same(lines.filter((l) => l.level !== 'info'), [], 'young and unconfirmed: nothing to say')
  clock.advance(3_600_000)
  await make().runOnce()
  t.match(lines.pop(), { level: 'warn', msg: /still unconfirmed.*bumpfee/ })

  wallet.abandon(txid)
  const abandoned = await make().runOnce()
  t.match(lines.pop(), { level: 'error', msg: /abandoned in the wallet: it still counts as paid/ })
  t.same([abandoned.confirmed, abandoned.dropped], [[], []])
  t.equal(await ledger.balance('alice'), 0n, 'not credited back on abandonment alone')
  t.same(abandoned.created, [], 'and not paid again')

  wallet.failNext({ kind: 'rpc-error', method: 'gettransaction', code: -28, message: 'Loading wallet...' })
  await make().runOnce()
  t.match(lines.pop(), { level: 'warn', msg: /cannot ask the wallet/ })

  // Another wallet (or an old backup) does not know one of its transactions: never dropped while one is unknown.
  const unknown = 'e'.repeat(64)
  await ledger.payoutBatches.updateSent(batch!.id, { txid: unknown, replacedTxids: [txid], replacedAt: clock.now() })
  t.equal(await sender.status(unknown), undefined)
  wallet.conflict(txid, 6)
  await make().runOnce()
  t.ok(lines.some((l) => l.level === 'warn' && /does not know a transaction/.test(l.msg)))
  t.equal((await ledger.payoutBatches.get(batch!.id))?.status, 'sent')

  // Its coins spent by another transaction, that one deep: now it is credited back.
  await ledger.payoutBatches.updateSent(batch!.id, { txid, replacedTxids: [], replacedAt: clock.now() })
  const dropped = await make().runOnce()
  t.same(dropped.dropped.map((b) => b.id), [batch!.id])
  t.equal(await ledger.balance('alice'), 0n, 'credited back and paid again in the same run')
  t.equal(dropped.sent.length, 1)
  t.same(wallet.paid(), new Map([[A, 150_000n]]))
})

t.test('OnchainSender.status reads gettransaction; a sender without status leaves sent batches alone', async (t) => {
  const { wallet, ledger, runner, sender } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  const [batch] = (await runner().runOnce()).sent
  const txid = batch!.txid!
  t.same(await sender.status(txid), { confirmations: 0, abandoned: false, replacedBy: undefined })
  wallet.mine(txid, 7)
  t.same(await sender.status(txid), { confirmations: 7, abandoned: false, replacedBy: undefined })
  wallet.failNext({ kind: 'rpc-error', method: 'gettransaction', code: -1, message: 'boom' })
  await t.rejects(sender.status(txid), { code: 'HF_BITCOIND_RPC' })
  // A sender without `status` (a Lightning sender, say): sent batches stay sent.
  const bare: PayoutSender = {
    kind: sender.kind,
    send: (r) => sender.send(r),
    find: (id, since) => sender.find(id, since),
    available: () => sender.available(),
    close: () => Promise.resolve(),
  }
  const run = await runner({ sender: bare }).runOnce()
  t.same([run.confirmed, run.dropped], [[], []])
  t.equal((await ledger.payoutBatches.get(batch!.id))?.status, 'sent')
})

t.test('crash recovery found the fee bump by its comment: its original is followed too, and confirms the batch', async (t) => {
  // Page size 1: listtransactions' newest entry (the bump) is the first one find() sees.
  const wallet = await FakeWallet.start()
  t.teardown(() => wallet.close())
  const ledger = await openLedger(t)
  const sender = walletSender(wallet, { pageSize: 1 })
  t.teardown(() => sender.close())
  const runner = () => new PayoutRunner({ ledger, sender, thresholdSats: 100_000n, addressOf: payoutAddresses({ alice: A }, 'regtest'), reconcileGraceMs: 0 })
  await credit(ledger, { alice: 150_000n })
  wallet.failNext({ kind: 'drop-after', method: 'sendmany' })
  const first = await runner().runOnce()
  t.equal(first.pending.length, 1, 'the answer was lost')
  const original = wallet.sends[0]!.txid
  const bump = wallet.bump(original)
  const found = await runner().runOnce()
  t.same(found.sent.map((b) => b.txid), [bump], 'find() recorded the bump (it carries the comment)')
  await runner().runOnce()
  t.match(await ledger.payoutBatches.get(found.sent[0]!.id), { status: 'sent', txid: bump, replacedTxids: [original] }, 'the original found through replaces_txid')
  wallet.mine(original, 6)
  const run = await runner().runOnce()
  t.same(run.dropped, [])
  t.same(run.confirmed.map((b) => b.txid), [original])
  t.same(wallet.paid(), new Map([[A, 150_000n]]), 'paid once')
  t.equal(await ledger.balance('alice'), 0n)
})

t.test('a batch with more transactions than are asked about is never dropped, and says so', async (t) => {
  const { wallet, ledger, runner } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  const { log, lines } = recordingLog()
  const [batch] = (await runner({ log }).runOnce()).sent
  let last = batch!.txid!
  for (let i = 0; i < 17; i++) last = wallet.bump(last)
  wallet.conflict(last, 6) // every one of the 18 conflicted 6 deep
  const run = await runner({ log }).runOnce()
  t.same(run.dropped, [], 'the 17th and 18th were not asked about: one of them might confirm')
  t.equal((await ledger.payoutBatches.get(batch!.id))?.status, 'sent')
  t.ok(lines.some((l) => l.level === 'error' && /more than 16 transactions/.test(l.msg)))
  t.equal(await ledger.balance('alice'), 0n, 'not credited back')
})

t.test('a sent batch that cannot be followed is logged and does not hold up the other payouts', async (t) => {
  const { wallet, ledger, runner } = await setup(t)
  await credit(ledger, { alice: 150_000n })
  const { log, lines } = recordingLog()
  const [batch] = (await runner({ log }).runOnce()).sent
  // Damage: a refund already posted for a batch still sent (its drop refuses it).
  await ledger.post([{ account: 'alice', amount: 150_000n }], { ref: `payout-refund:${batch!.id}` })
  wallet.conflict(batch!.txid!, 6)
  await credit(ledger, { bob: 200_000n })
  const run = await runner({ log }).runOnce()
  t.ok(lines.some((l) => l.level === 'error' && /following a sent payout failed/.test(l.msg)))
  t.equal((await ledger.payoutBatches.get(batch!.id))?.status, 'sent', 'left as it is')
  t.same(run.sent.flatMap((b) => b.lines.map((l) => l.account)).sort(), ['alice', 'bob'], 'the other payouts went out')
})
