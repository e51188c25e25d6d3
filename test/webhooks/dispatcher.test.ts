/**
 * Treasury webhooks end to end: a real local HTTP receiver checking the
 * HMAC signature over the raw body; events queued in the ledger's LevelDB
 * outbox; an endpoint that is down (refusing connections, answering 503,
 * hanging) for a while, then up: every event arrives, in order; a restart
 * in between (dispatcher stopped, ledger closed and reopened): nothing lost.
 */
import t, { type Test } from 'tap'
import type { Ledger } from '../../src/ledger/index.js'
import { WebhookDispatcher, webhookTargets, targetKey, type WebhookDispatcherOptions } from '../../src/webhooks/dispatcher.js'
import { buildEvent, money } from '../../src/webhooks/events.js'
import { signBody, verifySignature } from '../../src/webhooks/signature.js'
import { ledgerPath, openLedger, T0 } from '../helpers/ledger-fixtures.js'
import { prng } from '../helpers/prng.js'
import { until } from '../helpers/until.js'
import { WebhookReceiver } from '../helpers/webhook-receiver.js'

const SECRET = 'whsec-test'

function dispatcher(t: Test, ledger: Ledger, urls: { url: string; events?: string[]; timeoutMs?: number }[], over: Partial<WebhookDispatcherOptions> = {}): WebhookDispatcher {
  const targets = webhookTargets(
    urls.map((u) => ({ url: u.url, secret: SECRET, secret_env: '', events: (u.events ?? []) as never, timeout_ms: u.timeoutMs ?? 2000 })),
  )
  const d = new WebhookDispatcher({ ledger, targets, minDelayMs: 5, maxDelayMs: 40, idleMs: 50, random: prng(7), ...over })
  t.teardown(() => d.stop())
  return d
}

async function receiver(t: Test): Promise<WebhookReceiver> {
  const r = new WebhookReceiver(SECRET)
  await r.up()
  t.teardown(() => r.down())
  return r
}

const events = (n: number, from = 0) => Array.from({ length: n }, (_, i) => buildEvent('balance.snapshot', String(T0 + from + i), { n: from + i, ...money('total', BigInt(from + i)) }, T0 + from + i))

t.test('signature: sha256=<hex HMAC-SHA256 of the exact body>', async (t) => {
  t.equal(signBody('key', 'The quick brown fox jumps over the lazy dog'), 'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8')
  const body = '{"id":"x"}'
  const sig = signBody(SECRET, body)
  t.ok(verifySignature(SECRET, body, sig))
  t.ok(verifySignature(SECRET, Buffer.from(body), sig))
  t.notOk(verifySignature(SECRET, '{"id":"x"} ', sig), 'one more byte')
  t.notOk(verifySignature('other', body, sig))
  t.notOk(verifySignature(SECRET, body, sig.toUpperCase()))
  t.notOk(verifySignature(SECRET, body, undefined))
  t.notOk(verifySignature(SECRET, body, 'sha256=00'))
})

t.test('events are POSTed signed, with id and type headers, in order, and leave the outbox', async (t) => {
  const ledger = await openLedger(t)
  const r = await receiver(t)
  const d = dispatcher(t, ledger, [{ url: r.url }])
  await d.start()
  await d.publish(events(5))
  await until(() => r.events.length === 5)
  t.same(r.events.map((e) => e.data.n), [0, 1, 2, 3, 4])
  t.ok(r.requests.every((q) => q.signed))
  const first = r.requests[0]!
  t.equal(first.headers['content-type'], 'application/json')
  t.equal(first.headers['x-headframe-event'], 'balance.snapshot')
  t.equal(first.headers['x-headframe-delivery'], `balance.snapshot:${T0}`)
  t.same(JSON.parse(first.body), { id: `balance.snapshot:${T0}`, type: 'balance.snapshot', created_at: new Date(T0).toISOString(), data: { n: 0, total_sats: '0', total_btc: '0.00000000' } })
  await until(() => d.stats[0]!.delivered === 5)
  t.same(await ledger.outbox.all(), [])
})

t.test('endpoint refusing, then 503, then hanging, then up: every event delivered, in order', async (t) => {
  const ledger = await openLedger(t)
  const r = await receiver(t)
  await r.down()
  const d = dispatcher(t, ledger, [{ url: r.url, timeoutMs: 150 }])
  await d.start()
  await d.publish(events(10))
  await until(() => d.stats[0]!.failures >= 3)
  t.equal(r.requests.length, 0, 'nothing reached it while it was down')
  await r.up()
  r.mode = 'unavailable'
  await until(() => r.requests.length >= 3)
  r.mode = 'hang'
  const hung = r.requests.length
  await until(() => r.requests.length >= hung + 2)
  await d.publish(events(10, 10))
  r.mode = 'ok'
  await until(() => r.events.length === 20, 20_000)
  t.same(r.events.map((e) => e.data.n), Array.from({ length: 20 }, (_, i) => i), 'all 20, in order')
  t.ok(d.stats[0]!.failures >= 5, `failures recorded: ${d.stats[0]!.failures}`)
  t.ok(r.requests.filter((q) => q.signed).length === r.requests.length, 'every attempt signed')
  await until(() => d.stats[0]!.delivered === 20)
  t.same(await ledger.outbox.all(), [])
})

t.test('a restart while the endpoint is down loses nothing', async (t) => {
  const path = ledgerPath(t)
  let ledger = await openLedger(t, { path })
  const r = await receiver(t)
  await r.down()
  const d1 = dispatcher(t, ledger, [{ url: r.url }])
  await d1.start()
  await d1.publish(events(6))
  await until(() => d1.stats[0]!.failures >= 2)
  await d1.stop()
  const waiting = await ledger.outbox.all()
  t.equal(waiting.length, 6)
  t.ok(waiting[0]!.attempts >= 1 && waiting[0]!.lastError !== undefined, 'the failure is recorded with the entry')
  await ledger.close()

  ledger = await openLedger(t, { path })
  t.equal((await ledger.outbox.all()).length, 6, 'still queued after reopening')
  await r.up()
  const d2 = dispatcher(t, ledger, [{ url: r.url }])
  await d2.start()
  await until(() => r.events.length === 6)
  t.same(r.events.map((e) => e.data.n), [0, 1, 2, 3, 4, 5])
})

t.test('filters by event type; one endpoint down does not hold back another; removed endpoints are dropped', async (t) => {
  const ledger = await openLedger(t)
  const up = await receiver(t)
  const down = await receiver(t)
  await down.down()
  const d = dispatcher(t, ledger, [{ url: up.url, events: ['payout.sent'] }, { url: down.url }])
  await d.start()
  await d.publish([buildEvent('payout.sent', 'b1', {}, T0), buildEvent('block.found', 'h1', {}, T0 + 1), buildEvent('payout.sent', 'b2', {}, T0 + 2)])
  await until(() => d.stats[0]!.delivered === 2)
  t.same(up.events.map((e) => e.id), ['payout.sent:b1', 'payout.sent:b2'])
  t.equal(d.ops(buildEvent('block.found', 'x', {}, T0)).length, 1, 'only the unfiltered endpoint gets block.found')
  await d.stop()
  t.equal((await ledger.outbox.all()).length, 3, 'the down endpoint keeps its three')
  const only = dispatcher(t, ledger, [{ url: up.url, events: ['payout.sent'] }])
  await only.start()
  t.same(await ledger.outbox.all(), [], 'the removed endpoint\'s events are dropped at start')
  t.equal(targetKey(up.url), targetKey(up.url))
  t.not(targetKey(up.url), targetKey(down.url))
})

t.test('a receiver deduplicates redeliveries by event id', async (t) => {
  const ledger = await openLedger(t)
  const r = await receiver(t)
  const d = dispatcher(t, ledger, [{ url: r.url }])
  await d.start()
  const [event] = events(1)
  await d.publish([event!])
  await until(() => d.stats[0]!.delivered === 1)
  // The same event queued again (a crash between its write and its delivery record): delivered again, same id.
  await d.publish([event!])
  await until(() => r.duplicates === 1)
  t.equal(r.events.length, 1)
})

t.test('outbox read failures are logged and retried; stop ends idle loops', async (t) => {
  const ledger = await openLedger(t)
  const r = await receiver(t)
  const errors: unknown[] = []
  const log = { error: (o: unknown) => errors.push(o), warn: () => {}, info: () => {}, child: () => log } as unknown as NonNullable<WebhookDispatcherOptions['log']>
  const d = dispatcher(t, ledger, [{ url: r.url }], { log })
  await d.start()
  await ledger.close()
  d.wake()
  await until(() => errors.length >= 1)
  await d.stop()
  t.ok(errors.length >= 1)
})
