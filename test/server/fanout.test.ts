/**
 * The fan-out's batched native write (src/server/fanout.ts): which sessions
 * join it, and that every miner still reads the same bytes in the same order
 * whatever the batch did (short writes, EAGAIN, errors, TLS, output already
 * waiting).
 */
import t, { type Test } from 'tap'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { constants } from 'node:os'
import { startServer } from '../helpers/server.js'
import { FakeMiner, type Message } from '../helpers/fake-miner.js'
import { freePort } from '../helpers/free-port.js'
import { loadNativeAddon, type NativeAddon } from '../../src/shares/native-addon.js'
import { batchableFd, CHUNK, CHUNK_PER_THREAD, FanoutBatch, selectFanoutWriter, type FanoutTarget, type WriteToMany } from '../../src/server/fanout.js'
import type { Session } from '../../src/server/session.js'
import type { StratumServer } from '../../src/server/stratum-server.js'

const FIXTURES = join(import.meta.dirname, '..', 'fixtures')
const realWrite = loadNativeAddon().writeToMany as WriteToMany
const { EAGAIN } = constants.errno

/** The real writer, recording how many fds each call got. */
function spyWriter(): { writer: WriteToMany; calls: number[] } {
  const calls: number[] = []
  const writer: WriteToMany = (fds, data, results, threads) => {
    calls.push(fds.length)
    return realWrite(fds, data, results, threads)
  }
  return { writer, calls }
}

/** The session's socket (private in Session: the tests look under the hood on purpose). */
const socketOf = (session: Session): Socket => (session as unknown as { socket: Socket }).socket

function sessionOf(server: StratumServer, m: FakeMiner): Session {
  for (const s of server.sessions) if (s.extranonce1.toString('hex') === m.extranonce1) return s
  throw new Error('no session for that miner')
}

async function miners(t: Test, port: number, n: number): Promise<FakeMiner[]> {
  const ms: FakeMiner[] = []
  for (let i = 0; i < n; i++) {
    const m = await FakeMiner.connect(port)
    t.teardown(() => m.close())
    await m.handshake(`acct.rig${i}`)
    await m.nextNotify()
    ms.push(m)
  }
  return ms
}

const methods = (m: FakeMiner, from: number): string[] => m.received.slice(from).map((x) => x.method ?? `reply ${JSON.stringify(x.id)}`)

t.test('the batch takes the sessions with nothing waiting; a session with output gathered this tick writes after it, in order', async (t) => {
  const spy = spyWriter()
  const { server, port, source } = await startServer(t, { fanout: { writer: spy.writer, threads: 2 } })
  const [a, b, c] = await miners(t, port, 3)
  const marks = [a, b, c].map((m) => (m as FakeMiner).received.length)
  // A reply gathered this tick (flushed on nextTick), then the fan-out in the same tick.
  sessionOf(server, b as FakeMiner).send('{"id":99,"result":"before the notify","error":null}\n')
  spy.calls.length = 0
  source.next(true)
  t.same(spy.calls, [2], 'one native write for the two idle sessions, not the one with output waiting')
  for (const [i, m] of [a, b, c].entries()) await (m as FakeMiner).nextNotify(marks[i])
  t.same(methods(b as FakeMiner, marks[1] as number), ['reply 99', 'mining.notify'], 'the gathered reply first, then the notify')
  t.same(methods(a as FakeMiner, marks[0] as number), ['mining.notify'])
})

t.test('a socket with bytes queued in Node/libuv stays out of the batch; its stream stays whole', async (t) => {
  const spy = spyWriter()
  const { server, port, source } = await startServer(t, { fanout: { writer: spy.writer, threads: 1 }, stratum: { limits: { max_write_buffer_bytes: 1 << 30 } } })
  const [a, b] = await miners(t, port, 2)
  const slow = b as FakeMiner
  slow.socket.pause()
  const session = sessionOf(server, slow)
  // More than loopback's socket buffers hold: the rest waits in libuv's queue.
  const filler = `{"id":null,"method":"test.filler","params":["${'f'.repeat(12 << 20)}"]}\n`
  session.notify(filler)
  t.ok(session.writeBacklog > 0, 'bytes queued in Node')
  const mark = slow.received.length
  spy.calls.length = 0
  source.next(true)
  t.same(spy.calls, [1], 'only the idle session in the batch')
  await (a as FakeMiner).nextNotify()
  slow.socket.resume()
  await slow.nextNotify(mark)
  t.same(methods(slow, mark), ['test.filler', 'mining.notify'], 'the queued line whole, then the notify')
})

t.test('a TLS session writes through its TLS socket, in order, next to a batched one', async (t) => {
  const spy = spyWriter()
  const tlsPort = await freePort()
  const { server, port, source } = await startServer(t, {
    fanout: { writer: spy.writer },
    stratum: { tls: { port: tlsPort, cert: join(FIXTURES, 'tls', 'cert.pem'), key: join(FIXTURES, 'tls', 'key.pem') } },
  })
  const [plain] = await miners(t, port, 1)
  const s = tlsConnect({ port: tlsPort, host: '127.0.0.1', rejectUnauthorized: false })
  t.teardown(() => s.destroy())
  await new Promise<void>((resolve) => s.on('secureConnect', () => resolve()))
  let text = ''
  s.on('data', (d: Buffer) => (text += d.toString()))
  const lines = (): Message[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Message)
  const until = async (cond: () => boolean): Promise<void> => {
    while (!cond()) await new Promise((r) => setTimeout(r, 5))
  }
  s.write('{"id":1,"method":"mining.subscribe","params":[]}\n{"id":2,"method":"mining.authorize","params":["acct.tls","x"]}\n')
  await until(() => lines().some((m) => m.method === 'mining.notify'))
  const before = lines().length
  const tlsSocket = [...server.sessions].map(socketOf).find((x) => (x as Socket & { encrypted?: boolean }).encrypted === true)
  t.equal(tlsSocket === undefined ? 'none' : batchableFd(tlsSocket), -1, 'a TLS socket has no batchable fd')
  spy.calls.length = 0
  source.next(true)
  t.same(spy.calls, [1], 'only the plain TCP session in the batch')
  await until(() => lines().length > before)
  t.same(lines().slice(before).map((m) => m.method), ['mining.notify'])
  t.same(lines().map((m) => m.method ?? m.id), [1, 2, 'mining.set_difficulty', 'mining.notify', 'mining.notify'], 'the TLS stream in order')
  await (plain as FakeMiner).nextNotify(4)
})

t.test('short writes, EAGAIN and a throwing writer: every miner still reads the whole line once', async (t) => {
  let mode: 'short' | 'throw' = 'short'
  const writer: WriteToMany = (fds, data, results, threads) => {
    if (mode === 'throw') throw new Error('boom')
    // Even fds get the first 7 bytes only; odd ones nothing (as if the send buffer were full).
    for (let i = 0; i < fds.length; i++) {
      if (i % 2 === 0) {
        realWrite(fds.subarray(i, i + 1), data.subarray(0, 7), results.subarray(i, i + 1), threads)
      } else results[i] = -EAGAIN
    }
    return 0
  }
  const { port, source } = await startServer(t, { fanout: { writer } })
  const ms = await miners(t, port, 4)
  for (const m2 of ['short', 'throw'] as const) {
    mode = m2
    const marks = ms.map((m) => m.received.length)
    const work = source.next(true)
    for (const [i, m] of ms.entries()) {
      const n = await m.nextNotify(marks[i])
      t.equal(n.clean, true, `${m2}: miner ${i} got a parsable clean notify`)
      t.equal(n.prevHash.length, 64)
      t.ok(work.height !== undefined)
    }
    await new Promise((r) => setTimeout(r, 20))
    t.ok(ms.every((m, i) => methods(m, marks[i] as number).join() === 'mining.notify'), `${m2}: exactly one notify each`)
  }
})

t.test('an EAGAIN into a full socket queues the line; the slow-reader check still closes it', async (t) => {
  const { server, port, source } = await startServer(t, { stratum: { limits: { max_write_buffer_bytes: 4096 } } })
  const [m] = await miners(t, port, 1)
  const miner = m as FakeMiner
  miner.socket.pause()
  const session = sessionOf(server, miner)
  const socket = socketOf(session)
  // Fill the kernel's buffers directly: Node's queue stays empty, so the socket is still batchable.
  const fd = batchableFd(socket)
  const chunk = Buffer.from(`${'{"id":null,"method":"test.filler","params":[]}\n'.repeat(1000)}`)
  const results = new Int32Array(1)
  do realWrite(Int32Array.of(fd), chunk, results, 1)
  while ((results[0] as number) > 0)
  t.equal(results[0], -EAGAIN)
  source.next(true)
  t.ok(session.writeBacklog > 0, 'the notify waits in Node, behind the kernel buffers')
  t.equal(session.closed, false)
  session.finishNotify(Buffer.alloc(8192, 0x20))
  t.equal(session.closeReason, 'slow-reader')
})

t.test('fanout: false writes every session itself', async (t) => {
  const { port, source } = await startServer(t, { fanout: false })
  const ms = await miners(t, port, 2)
  const marks = ms.map((m) => m.received.length)
  source.next(true)
  for (const [i, m] of ms.entries()) await m.nextNotify(marks[i])
})

t.test('FanoutBatch: another line stays out; a chunk is written as soon as it is full', async (t) => {
  const calls: number[] = []
  const writer: WriteToMany = (fds, data, results) => {
    calls.push(fds.length)
    results.fill(data.length, 0, fds.length)
    return fds.length
  }
  const batch = new FanoutBatch(writer, 2)
  const two = 2 * CHUNK_PER_THREAD
  t.equal(batch.chunk, two, 'with threads, CHUNK_PER_THREAD sockets per thread and call')
  t.equal(new FanoutBatch(writer, 1).chunk, CHUNK, 'one thread: small chunks')
  const rests: Uint8Array[] = []
  const target: FanoutTarget = { finishNotify: (rest) => rests.push(rest) }
  const fakeSocket = {
    writableLength: 0,
    writable: true,
    connecting: false,
    destroyed: false,
    _handle: { fd: 1000, writeQueueSize: 0 },
  } as unknown as Socket
  batch.begin('a\n')
  t.equal(batch.add(target, fakeSocket, 'b\n'), false, 'another line')
  let added = 0
  for (let i = 0; i < two + 5; i++) if (batch.add(target, fakeSocket, 'a\n')) added++
  t.equal(added, two + 5)
  t.same(calls, [two], 'the first chunk already written')
  t.equal(batch.pending, 5)
  batch.begin('c\n') // flushes what was left
  t.same(calls, [two, 5])
  t.equal(batch.flush(), 0, 'nothing left')
  t.same(rests, [])
  for (const [what, socket] of [
    ['queued in Node', { ...fakeSocket, writableLength: 1 }],
    ['queued in libuv', { ...fakeSocket, _handle: { fd: 1000, writeQueueSize: 3 } }],
    ['not writable', { ...fakeSocket, writable: false }],
    ['no handle', { ...fakeSocket, _handle: null }],
    ['no fd', { ...fakeSocket, _handle: { fd: -1, writeQueueSize: 0 } }],
    ['TLS', { ...fakeSocket, encrypted: true }],
  ] as const) {
    t.equal(batchableFd(socket as unknown as Socket), -1, what)
  }
})

t.test('selectFanoutWriter: the addon when it has writeToMany, else socket.write', async (t) => {
  t.equal(selectFanoutWriter().writer, realWrite)
  const missing = selectFanoutWriter(() => {
    throw new Error('no such file')
  })
  t.equal(missing.writer, undefined)
  t.match(missing.reason, /did not load \(no such file\)/)
  const old = selectFanoutWriter((): NativeAddon => ({ ...loadNativeAddon(), writeToMany: undefined }))
  t.equal(old.writer, undefined)
  t.match(old.reason, /no writeToMany/)
})

t.test('selectFanoutWriter: HEADFRAME_FANOUT=off, or HEADFRAME_HASHER=js, keeps socket.write', async (t) => {
  t.equal(selectFanoutWriter(loadNativeAddon, { HEADFRAME_FANOUT: 'auto' }).writer, realWrite)
  const off = selectFanoutWriter(loadNativeAddon, { HEADFRAME_FANOUT: 'off' })
  t.same(off, { writer: undefined, reason: 'off (HEADFRAME_FANOUT=off): socket.write per session' })
  t.equal(selectFanoutWriter(loadNativeAddon, { HEADFRAME_HASHER: 'js' }).writer, undefined)
  t.match(selectFanoutWriter(loadNativeAddon, { HEADFRAME_FANOUT: 'yes' }).reason, /is not auto or off/)
})

t.test('FanoutBatch: a socket closed between add and the send is not written to', async (t) => {
  const seen: number[][] = []
  const writer: WriteToMany = (fds, data, results) => {
    seen.push([...fds])
    fds.forEach((fd, i) => (results[i] = fd < 0 ? -9 : data.length))
    return fds.filter((fd) => fd >= 0).length
  }
  const socket = (fd: number): Socket & { destroyed: boolean } =>
    ({ writableLength: 0, writable: true, connecting: false, destroyed: false, _handle: { fd, writeQueueSize: 0 } }) as unknown as Socket & { destroyed: boolean }
  const rests: number[] = []
  const batch = new FanoutBatch(writer, 1).begin('x\n')
  const open = socket(40)
  const closing = socket(41)
  batch.add({ finishNotify: () => rests.push(40) }, open, 'x\n')
  batch.add({ finishNotify: (rest) => rests.push(rest.length) }, closing, 'x\n')
  closing.destroyed = true
  t.equal(batch.flush(), 1)
  t.same(seen, [[40, -1]], 'the closed one went to the addon as -1 (EBADF), never as its old fd')
  t.same(rests, [2], 'and was handed the whole line to write itself (a closed session drops it)')
})
