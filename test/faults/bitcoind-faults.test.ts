/**
 * bitcoind faults against the template source with a pool and a miner in
 * front, the ones test/jobs/template-source.test.ts and test/bitcoind do not
 * already cover at this level: answers slower than the RPC timeout, 401,
 * going away mid-run, a restart with a new cookie, and a reorganisation to
 * a block of the same height. Each time the source says what is wrong
 * (unhealthy, with a reason that holds no secret), the miner keeps being
 * served the last work, and the source recovers by itself once bitcoind
 * does. (Down at start, -28, garbage and blocks found while down are in
 * template-source.test.ts; client-level 401/403/timeouts in
 * test/bitcoind/rpc-failures.test.ts and auth.test.ts.)
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { BitcoindClient } from '../../src/bitcoind/index.js'
import { addressToScript } from '../../src/jobs/address.js'
import { FoundBlockStore } from '../../src/jobs/found-blocks.js'
import { TemplateSource } from '../../src/jobs/template-source.js'
import type { Work } from '../../src/jobs/work.js'
import { createLogger } from '../../src/log.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { FakeBitcoind } from '../helpers/fake-bitcoind.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { startServer } from '../helpers/server.js'
import { until } from '../helpers/until.js'

const hasher = selectHasher({})
const PAYOUT = 'bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g'

/** A template source on `fake` (RPC timeout 150 ms, no retries, getbestblockhash polled every 20 ms), a pool and an authorized miner. */
async function setup(t: Test, fake: FakeBitcoind): Promise<{ source: TemplateSource; miner: FakeMiner; faults: string[] }> {
  const blocks = await FoundBlockStore.open(join(t.testdir({}), 'found-blocks.jsonl'))
  t.teardown(() => blocks.close())
  const source = new TemplateSource({
    name: 'bitcoind',
    network: 'regtest',
    nodes: [new BitcoindClient({ ...fake.clientOptions(), timeoutMs: 150, retry: { retries: 0 } })],
    payoutScript: addressToScript(PAYOUT, 'regtest'),
    tag: '/headframe/',
    extranonceSize: 12,
    versionMask: 0x1fffe000,
    refreshMs: 3_600_000,
    pollMs: 20,
    longpoll: false,
    blocks,
    sha256d: hasher.sha256d,
    log: createLogger({ level: 'silent' }),
    submitRetryMs: 60_000,
  })
  t.teardown(() => source.stop())
  await source.start()
  await until(() => source.current() !== undefined)
  const { port } = await startServer(t, { attach: source })
  const miner = await FakeMiner.connect(port)
  t.teardown(() => miner.close())
  await miner.handshake()
  await miner.nextNotify()
  // Every distinct unhealthy reason the source reported, in order.
  const faults: string[] = []
  const watch = setInterval(() => {
    const e = source.health().lastError
    if (e !== undefined && faults.at(-1) !== e) faults.push(e)
  }, 2)
  t.teardown(() => clearInterval(watch))
  return { source, miner, faults }
}

/** The miner is still served: a request is answered and the connection is up. */
async function stillServed(t: Test, miner: FakeMiner): Promise<void> {
  t.equal((await miner.request('mining.ping', [])).result, 'pong', 'the miner is still served')
  t.notOk(miner.closed, 'its connection stays up')
}

t.test('slow: answers after the RPC timeout make the source unhealthy; it is healthy again as soon as bitcoind is fast again', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const { source, miner, faults } = await setup(t, fake)
  fake.inject('delay', { delayMs: 600 })
  await until(() => source.health().healthy === false)
  t.match(source.health().lastError, /did not answer \w+ within 150 ms/, `reason: ${source.health().lastError}`)
  t.ok(source.current() !== undefined, 'the last work is kept')
  await stillServed(t, miner)
  fake.clearFaults()
  await until(() => source.health().healthy)
  t.ok(faults.length >= 1, `faults reported: ${faults.join(' | ')}`)
})

t.test('401: wrong credentials are reported, without the secret; recovers when they work again', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const { source, miner } = await setup(t, fake)
  fake.inject('unauthorized')
  await until(() => source.health().healthy === false)
  const reason = source.health().lastError ?? ''
  t.match(reason, /401|credentials/, `reason: ${reason}`)
  t.notOk(reason.includes(fake.credentials.password), 'the password is not in the reason')
  await stillServed(t, miner)
  fake.clearFaults()
  await until(() => source.health().healthy)
})

t.test('bitcoind goes away mid-run, then restarts with a new cookie: unhealthy, then work again without a pool restart', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const { source, miner } = await setup(t, fake)
  const before = fake.credentials.password
  await fake.refuse()
  await until(() => source.health().healthy === false)
  t.match(source.health().lastError, /not reachable|refused/, `reason: ${source.health().lastError}`)
  await stillServed(t, miner)
  await fake.resume()
  await fake.restart()
  t.not(fake.credentials.password, before, 'bitcoind wrote a new cookie')
  const from = miner.received.length
  fake.advance()
  // The new cookie is read after the 401, and the new block reaches the miner as a clean job.
  const notify = await miner.nextNotify(from)
  t.equal(notify.clean, true, 'a clean job for the new block')
  await until(() => source.health().healthy)
})

t.test('reorg: a block of the same height replaces the tip; miners get a clean job on the new previous block', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  fake.advance()
  const { source, miner } = await setup(t, fake)
  const before = source.current() as Work
  const tipBefore = fake.tip
  const from = miner.received.length
  fake.reorg()
  t.equal(fake.tip.height, tipBefore.height, 'the new tip has the same height')
  t.not(fake.tip.hash, tipBefore.hash, 'but another hash')
  const notify = await miner.nextNotify(from)
  const after = source.current() as Work
  t.equal(after.height, before.height, 'work for the same height')
  t.not(after.prevHash.toString('hex'), before.prevHash.toString('hex'), 'on the new previous block')
  t.equal(notify.clean, true, 'sent as a clean job: work on the old tip is stale')
  t.not(notify.prevHash, miner.received.slice(0, from).reverse().find((m) => m.method === 'mining.notify')?.params?.[1], 'the notify carries the new previous block')
  t.equal(source.health().healthy, true)
})
