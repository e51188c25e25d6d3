import t, { type Test } from 'tap'
import { join } from 'node:path'
import { Publisher } from 'zeromq'
import { BitcoindClient } from '../../src/bitcoind/index.js'
import { addressToScript } from '../../src/jobs/address.js'
import { FoundBlockStore } from '../../src/jobs/found-blocks.js'
import { TemplateSource, type TemplateSourceOptions } from '../../src/jobs/template-source.js'
import type { Work } from '../../src/jobs/work.js'
import { createLogger } from '../../src/log.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { FakeBitcoind } from '../helpers/fake-bitcoind.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { freePort } from '../helpers/free-port.js'
import { startServer } from '../helpers/server.js'
import { until } from '../helpers/until.js'

const hasher = selectHasher({})
const PAYOUT = 'bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g'

async function makeSource(t: Test, fake: FakeBitcoind, over: Partial<TemplateSourceOptions> = {}): Promise<{ source: TemplateSource; blocks: FoundBlockStore }> {
  const blocks = over.blocks ?? (await FoundBlockStore.open(join(t.testdir({}), 'found-blocks.jsonl')))
  const source = new TemplateSource({
    name: 'bitcoind',
    network: 'regtest',
    nodes: [new BitcoindClient({ ...fake.clientOptions(), retry: { retries: 0 } })],
    payoutScript: addressToScript(PAYOUT, 'regtest'),
    tag: '/headframe/',
    extranonceSize: 12,
    versionMask: 0x1fffe000,
    refreshMs: 3_600_000,
    pollMs: 3_600_000,
    longpoll: false,
    blocks,
    sha256d: hasher.sha256d,
    log: createLogger({ level: 'silent' }),
    submitRetryMs: 60_000,
    ...over,
  })
  t.teardown(() => source.stop())
  return { source, blocks }
}

function nextWork(source: TemplateSource, match: (w: Work) => boolean = () => true): Promise<Work> {
  return new Promise((resolve) => {
    const current = source.current()
    if (current !== undefined && match(current)) return resolve(current)
    const off = source.onWork((w) => {
      if (match(w)) {
        off()
        resolve(w)
      }
    })
  })
}

t.test('a miner over TCP finds regtest blocks through the server; the fake bitcoind accepts them', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'segwit-txs' })
  const { source, blocks } = await makeSource(t, fake, { longpoll: true })
  await source.start()
  const first = await nextWork(source)
  t.equal(first.height, 112)
  t.equal(first.version & 0x1fffe000, 0, 'version-rolling bits cleared in the job')
  const { server, port } = await startServer(t, { attach: source })
  const miner = await FakeMiner.connect(port)
  t.teardown(() => miner.close())
  await miner.handshake('farm.rig1')
  let job = await miner.nextNotify()
  // Regtest's target passes about every other hash: the first shares are blocks.
  for (let i = 0; fake.accepted.length < 3 && i < 40; i++) {
    const from = miner.received.length
    const reply = await miner.submit('farm.rig1', job.jobId, miner.findShare(job, { extranonce2: Buffer.alloc(8, i) }))
    t.equal(reply.result, true, `share ${i} accepted`)
    if (server.counters.blocksFound > fake.accepted.length) {
      await until(() => fake.accepted.length === server.counters.blocksFound)
      job = await miner.waitFor((m) => m.method === 'mining.notify' && m.params?.[8] === true, from).then((m) => ({ ...job, ...toJob(m.params as unknown[]) }))
    }
  }
  t.equal(fake.accepted.length, 3, 'three blocks accepted by the fake bitcoind (full checks: merkle, pow, BIP34, witness commitment, coinbase value)')
  t.same(fake.submissions.map((s) => s.result), [null, null, null])
  await until(() => server.counters.blocksAccepted === 3)
  const stored = blocks.list()
  t.equal(stored.length, 3)
  t.ok(stored.every((b) => b.status === 'accepted' && b.account === 'farm' && b.worker === 'rig1'))
  t.same(stored.map((b) => b.height).sort(), [112, 113, 114], 'each on top of the last: the long poll moved the miners to the new block')
})

function toJob(p: unknown[]): { jobId: string; prevHash: string; coinb1: string; coinb2: string; branch: string[]; version: string; nbits: string; ntime: string; clean: boolean } {
  return { jobId: p[0] as string, prevHash: p[1] as string, coinb1: p[2] as string, coinb2: p[3] as string, branch: p[4] as string[], version: p[5] as string, nbits: p[6] as string, ntime: p[7] as string, clean: p[8] as boolean }
}

t.test('block changes: long poll, poll backup, ZMQ', async (t) => {
  t.test('long poll', async (t) => {
    const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
    const { source } = await makeSource(t, fake, { longpoll: true })
    await source.start()
    const w = await nextWork(source)
    await until(() => fake.longPolls > 0)
    fake.advance()
    const next = await nextWork(source, (x) => x.height === (w.height ?? 0) + 1)
    t.equal(next.cleanJobs, true)
  })
  t.test('getbestblockhash poll', async (t) => {
    const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
    const { source } = await makeSource(t, fake, { pollMs: 20 })
    await source.start()
    const w = await nextWork(source)
    fake.advance()
    const next = await nextWork(source, (x) => x.height === (w.height ?? 0) + 1)
    t.equal(next.cleanJobs, true)
  })
  t.test('ZMQ hashblock', async (t) => {
    const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
    const port = await freePort()
    const pub = new Publisher()
    await pub.bind(`tcp://127.0.0.1:${port}`)
    t.teardown(() => pub.close())
    const { source } = await makeSource(t, fake, { zmqHashblock: `tcp://127.0.0.1:${port}` })
    await source.start()
    const w = await nextWork(source)
    fake.advance()
    // A ZMQ subscriber joins asynchronously: publish until the source reacts.
    const next = nextWork(source, (x) => x.height === (w.height ?? 0) + 1)
    let done = false
    void next.then(() => (done = true))
    while (!done) {
      await pub.send(['hashblock', Buffer.alloc(32), Buffer.alloc(4)])
      await new Promise((r) => setTimeout(r, 20))
    }
    t.equal((await next).cleanJobs, true)
  })
  t.test('a refresh on the same block is not clean', async (t) => {
    const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
    const { source } = await makeSource(t, fake)
    await source.start()
    await nextWork(source)
    await source.refresh('test')
    t.equal(source.current()?.cleanJobs, false)
  })
  t.end()
})

t.test('bitcoind down at start: unhealthy with a clear reason, then work once it is back', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  await fake.refuse()
  const { source } = await makeSource(t, fake, { pollMs: 20 })
  await source.start()
  await until(() => source.health().lastError !== undefined)
  t.match(source.health().lastError, /not reachable|refused/)
  t.equal(source.health().healthy, false)
  await fake.resume()
  await nextWork(source)
  t.equal(source.health().healthy, true)
})

t.test('warming up and garbage answers are survived', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  fake.warmUp('Loading block index…')
  const { source } = await makeSource(t, fake, { pollMs: 20 })
  await source.start()
  await until(() => source.health().lastError !== undefined)
  t.match(source.health().lastError, /warming up|-28|Loading block index/)
  fake.warmUp(false)
  fake.inject('garbage', { method: 'getblocktemplate', times: 1 })
  await nextWork(source)
  t.equal(source.health().healthy, true)
})

t.test('a block found while bitcoind is unreachable is kept on disk and submitted when it returns', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const dir = t.testdir({})
  const blocks = await FoundBlockStore.open(join(dir, 'found-blocks.jsonl'))
  const { source } = await makeSource(t, fake, { blocks })
  await source.start()
  await nextWork(source)
  const { server, port } = await startServer(t, { attach: source })
  const miner = await FakeMiner.connect(port)
  t.teardown(() => miner.close())
  await miner.handshake('farm.rig2')
  const job = await miner.nextNotify()
  await fake.refuse()
  for (let i = 0; server.counters.blocksFound === 0 && i < 40; i++) {
    await miner.submit('farm.rig2', job.jobId, miner.findShare(job, { extranonce2: Buffer.alloc(8, i) }))
  }
  t.equal(server.counters.blocksFound, 1)
  await until(() => blocks.list().length === 1)
  t.equal(blocks.list()[0]?.status, 'submitting', 'on disk before any answer')
  t.equal(fake.accepted.length, 0)
  await fake.resume()
  await until(() => fake.accepted.length === 1)
  await until(() => blocks.list()[0]?.status !== 'submitting')
  t.equal(blocks.list()[0]?.status, 'accepted', 'submitted once bitcoind was back, and recorded as accepted')
  t.equal(fake.accepted[0], blocks.list()[0]?.hash)
})

t.test('blocks left unanswered before a restart are resubmitted at start', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'segwit-txs' })
  const dir = t.testdir({})
  const path = join(dir, 'found-blocks.jsonl')
  const first = await FoundBlockStore.open(path)
  const fixture = (await import('../helpers/regtest.js')).regtestCase('segwit-txs') as unknown as { stratum: { block: string; block_hash: string } }
  await first.add({ hash: fixture.stratum.block_hash, height: 112, hex: fixture.stratum.block, account: 'farm', worker: 'x', foundAt: 1, source: 'bitcoind', reward: '1' }, 1)
  await first.close()
  const blocks = await FoundBlockStore.open(path)
  const { source } = await makeSource(t, fake, { blocks })
  await source.start()
  await until(() => fake.accepted.length === 1)
  await until(() => blocks.get(fixture.stratum.block_hash)?.status !== 'submitting')
  t.equal(blocks.get(fixture.stratum.block_hash)?.status, 'accepted', 'resubmitted and accepted')
})

t.test('confirmations are followed to maturity', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'segwit-txs' })
  const dir = t.testdir({})
  const blocks = await FoundBlockStore.open(join(dir, 'found-blocks.jsonl'))
  const { source } = await makeSource(t, fake, { blocks })
  const fixture = (await import('../helpers/regtest.js')).regtestCase('segwit-txs') as unknown as { stratum: { block: string; block_hash: string } }
  await source.start()
  await nextWork(source)
  await blocks.add({ hash: fixture.stratum.block_hash, height: 112, hex: fixture.stratum.block, account: 'farm', worker: 'x', foundAt: 1, source: 'bitcoind', reward: '1' }, 1)
  t.equal(await new BitcoindClient(fake.clientOptions()).submitBlock(fixture.stratum.block), null)
  await blocks.update(fixture.stratum.block_hash, { status: 'accepted', result: null }, 2)
  fake.advance(99)
  await source.checkConfirmations()
  t.equal(blocks.get(fixture.stratum.block_hash)?.status, 'confirmed')
  t.equal(blocks.get(fixture.stratum.block_hash)?.confirmations, 100)
})

t.test('JobSource contract: bitcoind template source', async (t) => {
  const { jobSourceContract } = await import('../helpers/job-source-contract.js')
  jobSourceContract(t, async (t) => {
    const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
    const { source } = await makeSource(t, fake, { pollMs: 20 })
    return { source, newBlock: () => void fake.advance() }
  })
})

t.test('stop() does not wait for a hung bitcoind call', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  // A ten-minute RPC timeout: if stop() waited for the hung call, this test
  // would hit tap's timeout instead of finishing.
  const node = new BitcoindClient({ ...fake.clientOptions(), retry: { retries: 0 }, timeoutMs: 600_000 })
  const { source } = await makeSource(t, fake, { nodes: [node] })
  await source.start()
  await nextWork(source)
  fake.inject('hang', { method: 'getblocktemplate' })
  const before = fake.requestCount
  const hung = source.refresh('test')
  await until(() => fake.requestCount > before)
  await source.stop()
  await hung
  t.equal(source.health().lastError, undefined, 'a call cut by stop is not reported as a bitcoind failure')
})
