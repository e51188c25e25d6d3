import t from 'tap'
import { FakeMiner, parseNotify, type Message } from '../helpers/fake-miner.js'
import { startServer } from '../helpers/server.js'
import { FixtureSource } from '../helpers/fixture-source.js'
import { selectHasher } from '../../src/shares/hasher.js'
import type { ShareRecord } from '../../src/server/stratum-server.js'
import { until } from '../helpers/until.js'

const hasher = selectHasher({})
const errorCode = (m: Message): number | undefined => (Array.isArray(m.error) ? (m.error[0] as number) : undefined)

t.test('cgminer-style session: handshake, notify after authorize, shares and every reject code', async (t) => {
  const { server, port, source } = await startServer(t)
  const shares: ShareRecord[] = []
  server.on('share', (s: ShareRecord) => shares.push(s))
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())

  // Submitting before subscribing: 25.
  const early = await m.request('mining.submit', ['acct.rig1', '100', '0000000000000000', '6b09b91f', '00000000'])
  t.equal(errorCode(early), 25, 'not subscribed')

  const sub = await m.request('mining.subscribe', ['cgminer/4.12.1'])
  const [subscriptions, en1, en2Size] = sub.result as [[string, string][], string, number]
  t.same(subscriptions.map((s) => s[0]), ['mining.set_difficulty', 'mining.notify'])
  t.match(en1, /^[0-9a-f]{8}$/)
  t.equal(en2Size, 8)
  m.extranonce1 = en1
  m.extranonce2Size = en2Size
  t.equal(m.received.filter((x) => x.method === 'mining.notify').length, 0, 'no notify before authorize')

  const authIndex = m.received.length
  const auth = await m.request('mining.authorize', ['acct.rig1', 'x'])
  t.equal(auth.result, true)
  const notify = await m.nextNotify(authIndex)
  const order = m.received.slice(authIndex).map((x) => x.method ?? 'reply')
  t.same(order.slice(0, 3), ['reply', 'mining.set_difficulty', 'mining.notify'], 'authorize answered before difficulty and the first notify')
  t.equal(m.difficulty, 0.001)
  t.equal(notify.clean, true)

  const found = m.findShare(notify)
  const ok = await m.submit('acct.rig1', notify.jobId, found)
  t.equal(ok.result, true, 'a real share is accepted')
  t.equal(shares.length, 1)
  t.match(shares[0], { account: 'acct', worker: 'rig1', difficulty: 0.001, block: false })

  t.equal(errorCode(await m.submit('acct.rig1', notify.jobId, found)), 22, 'duplicate')
  const low = m.findShare(notify, { extranonce2: Buffer.from('0000000000000001', 'hex'), difficulty: 0.0001, maxDifficulty: 0.001 })
  // A share found at 1/10 of the difficulty misses the session's target 9 times in 10; find one that does.
  let lowReply = await m.submit('acct.rig1', notify.jobId, low)
  // Shares found at a tenth of the difficulty still meet it one time in ten:
  // those are accepted, and counted.
  let lucky = 0
  for (let i = 2; lowReply.result === true && i < 50; i++) {
    lucky++
    lowReply = await m.submit('acct.rig1', notify.jobId, m.findShare(notify, { extranonce2: Buffer.from(`00000000000000${i.toString(16).padStart(2, '0')}`, 'hex'), difficulty: 0.0001 }))
  }
  t.equal(errorCode(lowReply), 23, 'low difficulty')
  t.equal(errorCode(await m.submit('acct.rig1', 'abcdef00', found)), 21, 'unknown job')
  t.equal(errorCode(await m.submit('acct.rig1', notify.jobId, ['00', found[1] as string, found[2] as string])), 20, 'wrong extranonce2 size')
  t.equal(errorCode(await m.submit('acct.rig1', notify.jobId, [found[0] as string, '00000001', found[2] as string])), 20, 'ntime before the job')
  t.equal(errorCode(await m.submit('someone.else', notify.jobId, found)), 24, 'worker not authorized on this connection')
  const unknown = await m.request('mining.do_something', [])
  t.equal(errorCode(unknown), 20, 'unknown method')
  t.match((unknown.error as unknown[])[1], /method not found/)

  // A new previous block: clean job; the old job's shares are stale.
  const idx = m.received.length
  source.next(true)
  const fresh = await m.nextNotify(idx)
  t.equal(fresh.clean, true)
  t.not(fresh.jobId, notify.jobId)
  const staleShare = m.findShare(notify, { extranonce2: Buffer.from('00000000000000ff', 'hex') })
  t.equal(errorCode(await m.submit('acct.rig1', notify.jobId, staleShare)), 21, 'stale')
  t.equal((await m.submit('acct.rig1', fresh.jobId, m.findShare(fresh))).result, true, 'the new job works')

  // Same block, refreshed transactions: not clean, and the older job stays valid.
  const idx2 = m.received.length
  source.next(false)
  const refreshed = await m.nextNotify(idx2)
  t.equal(refreshed.clean, false)
  t.equal((await m.submit('acct.rig1', fresh.jobId, m.findShare(fresh, { extranonce2: Buffer.from('0000000000000002', 'hex') }))).result, true)

  t.equal(server.counters.accepted, 3 + lucky)
  t.same(server.counters.rejected, { 'not-subscribed': 1, duplicate: 1, 'low-difficulty': 1, 'job-not-found': 1, 'bad-extranonce2': 1, 'bad-ntime': 1, unauthorized: 1, stale: 1 })
  const stats = server.workers.get('acct.rig1')
  t.match(stats, { account: 'acct', worker: 'rig1', sessions: 1, accepted: 3 + lucky })
  t.equal(m.closed, false, 'rejects never end the session')
})

t.test('Bitaxe-style: configure, subscribe, authorize pipelined in one packet; XOR version bits', async (t) => {
  const { port } = await startServer(t)
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  m.sendRaw(
    [
      JSON.stringify({ id: 1, method: 'mining.configure', params: [['version-rolling'], { 'version-rolling.mask': 'ffffffff' }] }),
      JSON.stringify({ id: 2, method: 'mining.subscribe', params: ['bitaxe/BM1370/v2.4.0'] }),
      JSON.stringify({ id: 3, method: 'mining.authorize', params: ['acct.bitaxe', 'x'] }),
      JSON.stringify({ id: 4, method: 'mining.suggest_difficulty', params: [0.002] }),
    ].join('\n') + '\n',
  )
  const notify = await m.nextNotify()
  const replies = m.received.filter((x) => x.method === undefined)
  t.same(replies.map((r) => r.id), [1, 2, 3, 4], 'answered in order')
  t.same(replies[0]?.result, { 'version-rolling': true, 'version-rolling.mask': '1fffe000' }, 'granted = pool mask AND miner mask')
  m.versionMask = 0x1fffe000
  const sub = replies[1]?.result as [unknown, string, number]
  m.extranonce1 = sub[1]
  m.extranonce2Size = sub[2]
  await m.waitFor((x) => x.method === 'mining.set_difficulty' && x.params?.[0] === 0.002)
  t.equal(m.difficulty, 0.002, 'suggest_difficulty raised the floor')
  // Bitaxe sends rolled XOR job version: with the mask bits clear in the job, that is the rolled bits alone.
  t.equal(Number.parseInt(notify.version, 16) & 0x1fffe000, 0, 'job versions have the mask bits clear')
  const jobId = m.lastNotify()?.jobId as string
  const job = m.lastNotify() ?? notify
  const rolled = m.findShare(job, { versionBits: 0x00a4e000 })
  t.equal((await m.submit('acct.bitaxe', jobId, rolled)).result, true, 'rolled version accepted')
  const outside = m.findShare(job, { versionBits: 0x00000100, extranonce2: Buffer.alloc(8, 1) })
  t.equal(errorCode(await m.submit('acct.bitaxe', jobId, outside)), 20, 'bits outside the mask refused')
})

t.test('WhatsMiner-style: the configure reply has exactly the keys asked for', async (t) => {
  const { port } = await startServer(t)
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  const lines: string[] = []
  m.socket.on('data', (d: Buffer | string) => lines.push(String(d)))
  await m.request('mining.configure', [['version-rolling'], { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 2 }], 7)
  t.equal(lines.join(''), '{"id":7,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}\n')
  const two = await m.request('mining.configure', [['minimum-difficulty', 'version-rolling'], { 'minimum-difficulty.value': 2048, 'version-rolling.mask': '00006000', 'version-rolling.min-bit-count': 16 }], 8)
  t.same(two.result, { 'minimum-difficulty': true, 'version-rolling': false }, 'too few bits for min-bit-count: refused')
})

t.test('NiceHash-style: extranonce.subscribe, string ids, multi_version, get_transactions, ping', async (t) => {
  const { port } = await startServer(t)
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  t.equal((await m.request('mining.extranonce.subscribe', [], 'xnsub')).result, true)
  t.equal((await m.request('mining.multi_version', [1], null)).result, true)
  await m.handshake('acct.nh')
  t.same((await m.request('mining.get_transactions', ['1'], 'txlist1')).result, [])
  t.equal((await m.request('mining.ping', [])).result, 'pong')
})

t.test('session resume gives back the extranonce1 when free', async (t) => {
  const { server, port } = await startServer(t)
  const a = await FakeMiner.connect(port)
  await a.handshake()
  const en1 = a.extranonce1
  const other = await FakeMiner.connect(port)
  t.teardown(() => other.close())
  const taken = await other.request('mining.subscribe', ['cgminer/4.12.1', en1])
  t.not((taken.result as unknown[])[1], en1, 'a live session keeps its extranonce1')
  a.close()
  await until(() => server.sessions.size === 1)
  const b = await FakeMiner.connect(port)
  t.teardown(() => b.close())
  const resumed = await b.request('mining.subscribe', ['cgminer/4.12.1', en1])
  t.equal((resumed.result as unknown[])[1], en1, 'resumed after the old session closed')
})

t.test('a share meeting the network target is a block, handed to the source at once', async (t) => {
  const source = new FixtureSource(0x207fffff) // regtest: every other hash is a block
  const { server, port } = await startServer(t, { source })
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  await m.handshake('acct.lucky')
  const notify = await m.nextNotify()
  let found: string[] | undefined
  for (let i = 0; i < 16 && source.blocks.length === 0; i++) {
    found = m.findShare(notify, { extranonce2: Buffer.alloc(8, i) })
    t.equal((await m.submit('acct.lucky', notify.jobId, found)).result, true)
  }
  t.equal(source.blocks.length, 1, 'the source got the block')
  const block = source.blocks[0]
  if (block === undefined) return
  t.equal(block.account, 'acct')
  t.equal(block.worker, 'lucky')
  t.equal(hasher.sha256d(block.header).toString('hex'), block.hash.toString('hex'))
  t.equal(block.coinbase.subarray(0, 4).toString('hex'), '02000000', 'the whole coinbase, from its version')
  t.equal(server.counters.blocksFound, 1)
})

t.test('a share the sink cannot record is not answered "accepted"', async (t) => {
  let fail = true
  const { server, port } = await startServer(t, {
    sink: {
      async record() {
        if (fail) throw new Error('disk full')
      },
    },
  })
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  await m.handshake()
  const notify = await m.nextNotify()
  const reply = await m.submit('acct.rig1', notify.jobId, m.findShare(notify))
  t.equal(errorCode(reply), 20)
  t.match((reply.error as unknown[])[1], /could not be recorded/)
  t.equal(server.counters.accepted, 0)
  fail = false
  const again = await m.submit('acct.rig1', notify.jobId, m.findShare(notify))
  t.equal(again.result, true, 'the same share, sent again as asked, is accepted (not a duplicate)')
  t.equal(server.counters.accepted, 1)
})

t.test('replies stay in order while a submit waits for the sink', async (t) => {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  const { port } = await startServer(t, { sink: { record: () => gate } })
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  await m.handshake()
  const notify = await m.nextNotify()
  const found = m.findShare(notify)
  const from = m.received.length
  m.send('mining.submit', ['acct.rig1', notify.jobId, ...found], 100)
  m.send('mining.ping', [], 101)
  await new Promise((r) => setTimeout(r, 50))
  t.equal(m.received.length, from, 'the ping reply waits behind the pending submit')
  release()
  await m.waitFor((x) => x.id === 101)
  t.same(m.received.slice(from).map((x) => x.id), [100, 101])
})

t.test('authorization policies', async (t) => {
  t.test('allowlist', async (t) => {
    const { port } = await startServer(t, { stratum: { auth: { mode: 'allowlist', accounts: ['farm'] } } })
    const m = await FakeMiner.connect(port)
    t.teardown(() => m.close())
    await m.request('mining.subscribe', [])
    t.equal(errorCode(await m.request('mining.authorize', ['intruder.x', ''])), 24)
    t.equal((await m.request('mining.authorize', ['farm.s19', ''])).result, true)
  })
  t.test('password', async (t) => {
    const { port } = await startServer(t, { stratum: { auth: { mode: 'password', password: 'pw' } } })
    const m = await FakeMiner.connect(port)
    t.teardown(() => m.close())
    t.equal(errorCode(await m.request('mining.authorize', ['a.b', 'nope'])), 24)
    t.equal((await m.request('mining.authorize', ['a.b', 'pw'])).result, true)
  })
  t.test('malformed worker names', async (t) => {
    const { port } = await startServer(t)
    const m = await FakeMiner.connect(port)
    t.teardown(() => m.close())
    for (const bad of ['', 'a b', 'x'.repeat(65), 'acct."quote']) t.equal(errorCode(await m.request('mining.authorize', [bad, ''])), 24, JSON.stringify(bad))
  })
  t.test('authorize flood: the connection is closed', async (t) => {
    const { server, port } = await startServer(t, { stratum: { auth: { mode: 'allowlist', accounts: ['farm'] } } })
    const m = await FakeMiner.connect(port)
    for (let i = 0; i < 8; i++) m.send('mining.authorize', [`rand${i}.x`, ''])
    await new Promise<void>((resolve) => m.socket.on('close', () => resolve()))
    t.equal(server.counters.closed['auth-failures'], 1)
  })
  t.end()
})

t.test('mining.notify on a new job reaches every authorized session, not the others', async (t) => {
  const { server, port, source } = await startServer(t)
  const miners = await Promise.all(Array.from({ length: 20 }, () => FakeMiner.connect(port)))
  t.teardown(() => miners.forEach((m) => m.close()))
  await Promise.all(miners.slice(0, 15).map((m, i) => m.handshake(`acct.rig${i}`)))
  await Promise.all(miners.slice(15).map((m) => m.request('mining.subscribe', [])))
  const marks = miners.map((m) => m.received.length)
  let sent = 0
  server.once('job', (_job: unknown, n: number) => (sent = n))
  source.next(true)
  await Promise.all(miners.slice(0, 15).map((m, i) => m.nextNotify(marks[i])))
  t.equal(sent, 15)
  await new Promise((r) => setTimeout(r, 30))
  t.ok(miners.slice(15).every((m) => !m.received.some((x) => x.method === 'mining.notify')), 'subscribed-only sessions get none')
  const lines = new Set(miners.slice(0, 15).map((m) => JSON.stringify(parseNotify(m.received.filter((x) => x.method === 'mining.notify').at(-1) as Message))))
  t.equal(lines.size, 1, 'the same notify for everyone')
})

t.test('a miner\'s first job is clean even when the current work is a refresh; rejects counted per worker', async (t) => {
  const { server, port, source } = await startServer(t)
  source.next(false)
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  await m.handshake('acct.late')
  const first = await m.nextNotify()
  t.equal(first.clean, true)
  await m.submit('acct.late', 'ffff00', ['0000000000000000', first.ntime, '00000000'])
  t.same(server.workers.get('acct.late')?.rejected, { 'job-not-found': 1 })
})

t.test('several workers on one connection: each is found, tallied on its own, and released on close', async (t) => {
  const { server, port } = await startServer(t)
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  await m.handshake('acct.a')
  t.equal((await m.request('mining.authorize', ['acct.b', 'x'])).result, true)
  t.equal((await m.request('mining.authorize', ['acct.a', 'x'])).result, true, 'the same worker again')
  const job = await m.nextNotify()
  await m.submit('acct.b', 'ffff00', ['0000000000000000', job.ntime, '00000000'])
  t.same(server.workers.get('acct.b')?.rejected, { 'job-not-found': 1 })
  t.same(server.workers.get('acct.a')?.rejected, {}, 'a worker without rejects has none (the empty tallies are not shared with another)')
  const share = await m.submit('acct.a', job.jobId, m.findShare(job))
  t.equal(share.result, true, 'the first worker still submits')
  t.same(server.workers.get('acct.a')?.rejected, {})
  t.match(server.workers.get('acct.a'), { sessions: 1, accepted: 1 })
  t.match(server.workers.get('acct.b'), { sessions: 1, accepted: 0 })
  t.equal(server.kick('acct.b'), 1, 'kicked by its second worker')
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.match(server.workers.get('acct.a'), { sessions: 0, accepted: 1 }, 'both workers released')
  t.equal(server.workers.get('acct.b'), undefined, 'a worker without accepted shares forgotten with its session')
})
