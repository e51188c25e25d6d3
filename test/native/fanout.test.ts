/**
 * The addon's writeToMany (native/fanout.cc): the same bytes to many
 * sockets, per fd the bytes taken or -errno, never a signal, never a block.
 */
import t, { type Test } from 'tap'
import { closeSync, openSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { constants } from 'node:os'
import { loadNativeAddon } from '../../src/shares/native-addon.js'
import { batchableFd } from '../../src/server/fanout.js'

const addon = loadNativeAddon()
const writeToMany = addon.writeToMany as NonNullable<typeof addon.writeToMany>
const { EBADF, EPIPE, ECONNRESET, EAGAIN, ENOTSOCK } = constants.errno

interface Pair {
  server: Socket
  client: Socket
  received: Buffer[]
}

/** `n` loopback connections; the client sides collect what they read. */
async function pairs(t: Test, n: number): Promise<Pair[]> {
  const accepted: Socket[] = []
  // allowHalfOpen: a server side stays open after its peer has gone, to be written to.
  const listener: Server = createServer({ allowHalfOpen: true }, (s) => accepted.push(s))
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const port = (listener.address() as { port: number }).port
  const out: Pair[] = []
  const clients: Socket[] = []
  for (let i = 0; i < n; i++) {
    const client = connect({ port, host: '127.0.0.1' })
    clients.push(client)
    await new Promise<void>((resolve) => client.once('connect', () => resolve()))
  }
  while (accepted.length < n) await new Promise((r) => setTimeout(r, 5))
  // Accept order may differ from connect order: match by the client's local port.
  const byPort = new Map(accepted.map((s) => [s.remotePort, s]))
  for (const client of clients) {
    const server = byPort.get(client.localPort) as Socket
    const received: Buffer[] = []
    client.on('data', (d: Buffer) => received.push(d))
    out.push({ server, client, received })
  }
  t.teardown(() => {
    for (const p of out) {
      p.client.destroy()
      p.server.destroy()
    }
    listener.close()
  })
  return out
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5))
}

t.test('writes the same line to every socket, split over threads', async (t) => {
  // 600 sockets: at 256 per thread at least, 2 threads run (the rest is the calling thread's).
  const all = await pairs(t, 600)
  const line = Buffer.from('{"id":null,"method":"mining.notify","params":["1"]}\n')
  const fds = Int32Array.from(all.map((p) => batchableFd(p.server)))
  t.ok(fds.every((fd) => fd >= 0), 'plain TCP sockets with empty queues have an fd')
  const results = new Int32Array(fds.length).fill(-999)
  t.equal(writeToMany(fds, line, results, 4), 600)
  t.ok(results.every((r) => r === line.length), 'every fd took the whole line')
  await until(() => all.every((p) => Buffer.concat(p.received).length >= line.length))
  t.ok(all.every((p) => Buffer.concat(p.received).equals(line)), 'every client read exactly the line')
  // Twice more, one thread: the bytes arrive in order behind the first.
  t.equal(writeToMany(fds, line, results, 1), 600)
  t.equal(writeToMany(fds, line, results, 1), 600)
  await until(() => all.every((p) => Buffer.concat(p.received).length >= 3 * line.length))
  t.ok(all.every((p) => Buffer.concat(p.received).equals(Buffer.concat([line, line, line]))))
})

t.test('a full send buffer: a short write, then EAGAIN, never a block', async (t) => {
  const [p] = await pairs(t, 1)
  const pair = p as Pair
  pair.client.pause() // a peer that does not read
  const big = Buffer.alloc(64 * 1024 * 1024, 0x61)
  const fds = Int32Array.of(batchableFd(pair.server))
  const results = new Int32Array(1)
  t.equal(writeToMany(fds, big, results, 1), 0, 'not all of it')
  const first = results[0] as number
  t.ok(first > 0 && first < big.length, `a short write (${first} bytes)`)
  // Fill whatever the first write left, until the kernel refuses.
  let last = first
  for (let i = 0; i < 100 && last > 0; i++) {
    writeToMany(fds, big, results, 1)
    last = results[0] as number
  }
  t.equal(last, -EAGAIN, 'then EAGAIN')
})

t.test('bad fds and dead peers are -errno, not a crash or SIGPIPE', async (t) => {
  const [p] = await pairs(t, 1)
  const pair = p as Pair
  const fd = batchableFd(pair.server)
  // A peer that reset the connection: SO_LINGER 0 is not reachable from node:net, so close and write until refused.
  pair.client.destroy()
  await new Promise<void>((resolve) => pair.server.once('end', () => resolve()))
  const line = Buffer.from('x\n')
  const results = new Int32Array(1)
  let r = 0
  for (let i = 0; i < 10 && r >= 0; i++) {
    writeToMany(Int32Array.of(fd), line, results, 1)
    r = results[0] as number
    if (r >= 0) await new Promise((res) => setTimeout(res, 5))
  }
  t.ok(r === -EPIPE || r === -ECONNRESET, `a dead peer: -EPIPE or -ECONNRESET (${r}), and the process lives`)

  const file = openSync(new URL(import.meta.url), 'r')
  writeToMany(Int32Array.of(file), line, results, 1)
  t.equal(results[0], -ENOTSOCK, 'a file is not a socket')
  closeSync(file)
  writeToMany(Int32Array.of(file), line, results, 1)
  t.equal(results[0], -EBADF, 'a closed fd')
  writeToMany(Int32Array.of(-1), line, results, 1)
  t.equal(results[0], -EBADF, 'no fd (-1)')
  t.equal(writeToMany(new Int32Array(0), line, new Int32Array(0), 1), 0, 'no fds at all')
})

t.test('arguments are checked', async (t) => {
  const loose = writeToMany as unknown as (...args: unknown[]) => unknown
  const fds = new Int32Array(2).fill(-1)
  const data = Buffer.from('x')
  t.throws(() => loose([1, 2], data, new Int32Array(2), 1), TypeError, 'fds not an Int32Array')
  t.throws(() => loose(new Uint32Array(2), data, new Int32Array(2), 1), TypeError)
  t.throws(() => loose(fds, 'x', new Int32Array(2), 1), TypeError, 'data not bytes')
  t.throws(() => loose(fds, data, new Float64Array(2), 1), TypeError, 'results not an Int32Array')
  t.throws(() => loose(fds, data, new Int32Array(2), '1'), TypeError, 'threads not a number')
  for (const bad of [0, 65, 1.5, NaN, -1]) t.throws(() => loose(fds, data, new Int32Array(2), bad), RangeError, `threads ${bad}`)
  t.throws(() => loose(fds, data, new Int32Array(1), 1), RangeError, 'results shorter than fds')
  t.throws(() => loose(fds, data, fds, 1), RangeError, 'results overlapping fds')
  const shared = new Int32Array(4)
  t.throws(() => loose(fds, new Uint8Array(shared.buffer, 0, 4), shared.subarray(0, 2), 1), RangeError, 'results overlapping data')
})
