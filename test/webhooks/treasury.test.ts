/**
 * Treasury events from the ledger: block found / confirmed / orphaned
 * announced once each (and stored atomically with their notice), balance
 * snapshots with the money picture, and payout.sent written with the batch
 * status by the payout loop, all delivered to a real local receiver.
 */
import t, { type Test } from 'tap'
import type { BlockInput, Ledger } from '../../src/ledger/index.js'
import { PayoutRunner } from '../../src/payouts/payout-runner.js'
import { payoutAddresses } from '../../src/payouts/payout-setup.js'
import { WebhookDispatcher, webhookTargets } from '../../src/webhooks/dispatcher.js'
import { payoutEvent } from '../../src/webhooks/events.js'
import { TreasuryEvents } from '../../src/webhooks/treasury.js'
import { FakeWallet } from '../helpers/fake-wallet.js'
import { manualClock, openLedger, T0 } from '../helpers/ledger-fixtures.js'
import { regtestAddress, walletSender } from '../helpers/payout-fixtures.js'
import { until } from '../helpers/until.js'
import { WebhookReceiver } from '../helpers/webhook-receiver.js'

const SECRET = 's3cret'

async function setup(t: Test, events: string[] = []) {
  const ledger = await openLedger(t)
  const r = new WebhookReceiver(SECRET)
  await r.up()
  t.teardown(() => r.down())
  const d = new WebhookDispatcher({ ledger, targets: webhookTargets([{ url: r.url, secret: SECRET, secret_env: '', events: events as never, timeout_ms: 2000 }]), minDelayMs: 5, maxDelayMs: 20, idleMs: 50 })
  t.teardown(() => d.stop())
  await d.start()
  return { ledger, r, d }
}

const block = (n: number, over: Partial<BlockInput> = {}): BlockInput => ({
  hash: n.toString(16).padStart(64, '0'),
  height: 100 + n,
  reward: 5_000_000_000n,
  account: 'alice',
  worker: 'rig1',
  time: T0 + n,
  status: 'accepted',
  ...over,
})

async function credit(ledger: Ledger, balances: Record<string, bigint>): Promise<void> {
  for (const [a, v] of Object.entries(balances)) await ledger.credit(a, v)
}

t.test('block found, confirmed and orphaned are announced once each', async (t) => {
  const { ledger, r, d } = await setup(t)
  const clock = manualClock(T0 + 1000)
  const treasury = new TreasuryEvents({ ledger, dispatcher: d, clock: clock.now })
  t.teardown(() => treasury.stop())
  await ledger.addBlock(block(1))
  await ledger.addBlock(block(2, { status: 'submitting' }))
  await ledger.addBlock(block(3, { status: 'rejected' }))
  t.equal(await treasury.checkBlocks(), 2, 'found x2; a rejected block was never found')
  t.equal(await treasury.checkBlocks(), 0, 'nothing new')
  await ledger.updateBlock(block(1).hash, { status: 'confirmed', confirmations: 100 })
  await ledger.updateBlock(block(2).hash, { status: 'accepted' })
  t.equal(await treasury.checkBlocks(), 1, 'confirmed; submitting -> accepted is no event')
  await ledger.addBlock(block(4, { status: 'orphaned' }))
  t.equal(await treasury.checkBlocks(), 2, 'a block first seen orphaned: found and orphaned')
  await ledger.updateBlock(block(2).hash, { status: 'orphaned' })
  t.equal(await treasury.checkBlocks(), 1)
  await until(() => r.events.length === 6)
  t.same(
    r.events.map((e) => e.id),
    [`block.found:${block(1).hash}`, `block.found:${block(2).hash}`, `block.confirmed:${block(1).hash}`, `block.found:${block(4).hash}`, `block.orphaned:${block(4).hash}`, `block.orphaned:${block(2).hash}`],
  )
  const confirmed = r.events[2]!
  t.same(confirmed.data, {
    hash: block(1).hash,
    height: 101,
    account: 'alice',
    worker: 'rig1',
    reward_sats: '5000000000',
    reward_btc: '50.00000000',
    status: 'confirmed',
    confirmations: 100,
    found_at: new Date(T0 + 1).toISOString(),
  })
  t.equal(confirmed.created_at, new Date(T0 + 1000).toISOString())
  t.same(Object.fromEntries(await ledger.outbox.blockNotices()), {
    [block(1).hash]: 'confirmed',
    [block(2).hash]: 'orphaned',
    [block(3).hash]: 'rejected',
    [block(4).hash]: 'orphaned',
  })
})

t.test('balance snapshot: total = available + pending payouts; wallet balance when known', async (t) => {
  const { ledger, r, d } = await setup(t)
  await credit(ledger, { alice: 150_000n, bob: 30_000n, carol: 1n })
  await ledger.payoutBatches.create({ id: `${'0'.repeat(12)}-${'a'.repeat(16)}`, sender: 'onchain', lines: [{ account: 'alice', address: regtestAddress('a'), amount: 100_000n }] })
  const clock = manualClock(T0)
  const treasury = new TreasuryEvents({ ledger, dispatcher: d, clock: clock.now, wallet: async () => 2_100_000_000n })
  await treasury.snapshot()
  const failing = new TreasuryEvents({ ledger, dispatcher: d, clock: () => T0 + 1, wallet: () => Promise.reject(new Error('wallet down')) })
  await failing.snapshot()
  await until(() => r.events.length === 2)
  t.same(r.events[0]!.data, {
    total_sats: '180001',
    total_btc: '0.00180001',
    pending_payouts_sats: '100000',
    pending_payouts_btc: '0.00100000',
    available_sats: '80001',
    available_btc: '0.00080001',
    wallet_sats: '2100000000',
    wallet_btc: '21.00000000',
    accounts: 3,
  })
  t.equal(r.events[1]!.data.wallet_sats, null)
  t.equal(r.events[0]!.id, `balance.snapshot:${T0}`)
})

t.test('snapshots run on their interval; 0 turns them off', async (t) => {
  const { ledger, r, d } = await setup(t)
  let now = T0
  const treasury = new TreasuryEvents({ ledger, dispatcher: d, clock: () => now++ })
  treasury.start(0)
  treasury.start(10)
  await until(() => r.events.length >= 2)
  await treasury.stop()
  t.ok(r.events.every((e) => e.type === 'balance.snapshot'))
})

t.test('payout.sent is queued with the batch status and delivered', async (t) => {
  const { ledger, r, d } = await setup(t, ['payout.sent', 'payout.failed'])
  const wallet = await FakeWallet.start()
  t.teardown(() => wallet.close())
  const sender = walletSender(wallet)
  t.teardown(() => sender.close())
  const A = regtestAddress('a')
  await credit(ledger, { alice: 150_000n })
  const runner = new PayoutRunner({
    ledger,
    sender,
    thresholdSats: 100_000n,
    addressOf: payoutAddresses({ alice: A }, 'regtest'),
    eventOps: (type, batch) => d.ops(payoutEvent(type, batch, T0)),
    eventsWritten: () => d.wake(),
  })
  const { sent } = await runner.runOnce()
  await until(() => r.events.length === 1)
  const [event] = r.events
  t.equal(event?.id, `payout.sent:${sent[0]!.id}`)
  t.same(event?.data, {
    batch_id: sent[0]!.id,
    sender: 'onchain',
    txid: wallet.sends[0]!.txid,
    replaced_txids: [],
    error: null,
    total_sats: '150000',
    total_btc: '0.00150000',
    payouts: [{ account: 'alice', address: A, amount_sats: '150000', amount_btc: '0.00150000' }],
    created_at: new Date(sent[0]!.createdAt).toISOString(),
  })
  await credit(ledger, { alice: 150_000n })
  wallet.failNext({ kind: 'rpc-error', method: 'sendmany', code: -6, message: 'Insufficient funds' })
  await runner.runOnce()
  await until(() => r.events.length === 2)
  t.equal(r.events[1]!.type, 'payout.failed')
  t.match(r.events[1]!.data.error, /Insufficient funds/)
})
