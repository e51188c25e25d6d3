import t from 'tap'
import { connect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { join } from 'node:path'
import { FakeMiner, type Message } from '../helpers/fake-miner.js'
import { startServer } from '../helpers/server.js'
import { FIXTURES } from '../helpers/fixtures.js'

/** A fixed TLS port (the schema has no "ephemeral" value): random, to stay clear of parallel runs. */
const TLS_PORT = 40000 + Math.floor(Math.random() * 10000)
const errorCode = (m: Message): number | undefined => (Array.isArray(m.error) ? (m.error[0] as number) : undefined)
const closed = (m: FakeMiner): Promise<void> => (m.closed ? Promise.resolve() : new Promise((resolve) => m.socket.once('close', () => resolve())))

t.test('an over-long line gets an error and the connection is closed', async (t) => {
  const { server, port } = await startServer(t, { stratum: { max_line_bytes: 1024 } })
  const m = await FakeMiner.connect(port)
  m.sendRaw(`{"id":1,"method":"mining.subscribe","params":["${'x'.repeat(2000)}"]}\n`)
  const reply = await m.waitFor((x) => x.error !== undefined)
  t.equal(errorCode(reply), 20)
  t.match((reply.error as unknown[])[1], /line longer than 1024 bytes/)
  await closed(m)
  t.equal(server.counters.closed['line-too-long'], 1)
})

t.test('a 10 MB line without a newline: closed early, memory not held', async (t) => {
  const { server, port } = await startServer(t)
  const socket = connect({ port, host: '127.0.0.1' })
  socket.on('error', () => {})
  socket.resume() // read the error reply, so the server's FIN is seen
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  let written = 0
  await new Promise<void>((resolve) => {
    socket.on('close', () => resolve())
    const pump = (): void => {
      while (written < 10 * 1024 * 1024) {
        written += chunk.length
        if (!socket.write(chunk)) return void socket.once('drain', pump)
      }
    }
    socket.on('connect', pump)
  })
  t.equal(server.counters.closed['line-too-long'], 1)
  t.ok(written <= 10 * 1024 * 1024)
})

t.test('slowloris: a line one byte at a time is still one line', async (t) => {
  const { port } = await startServer(t)
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  const line = '{"id":5,"method":"mining.ping","params":[]}\r\n'
  for (const ch of line) {
    m.sendRaw(ch)
    await new Promise((r) => setImmediate(r))
  }
  t.equal((await m.waitFor((x) => x.id === 5)).result, 'pong')
})

t.test('connections per address are limited; others still connect', async (t) => {
  const { server, port } = await startServer(t, { stratum: { limits: { max_connections_per_ip: 3 } } })
  const ok = await Promise.all([1, 2, 3].map(() => FakeMiner.connect(port)))
  t.teardown(() => ok.forEach((m) => m.close()))
  const refused = await FakeMiner.connect(port)
  await closed(refused)
  t.equal(server.counters.refused['too-many-from-address'], 1)
  const other = await FakeMiner.connect(port, '127.0.0.1', '127.0.0.2')
  t.teardown(() => other.close())
  t.equal((await other.request('mining.ping', [])).result, 'pong', 'another address is not affected')
  t.equal((await ok[0]?.request('mining.ping', []))?.result, 'pong', 'admitted sessions keep working')
})

t.test('a flood of connections from one address: the limit holds', async (t) => {
  const { server, port } = await startServer(t, { stratum: { limits: { max_connections_per_ip: 50 } } })
  // Each client ends up either answered (admitted) or closed (refused).
  const outcomes = await Promise.all(
    Array.from({ length: 400 }, () =>
      new Promise<{ socket: Socket; admitted: boolean }>((resolve) => {
        const socket = connect({ port, host: '127.0.0.1' })
        socket.on('error', () => {})
        socket.on('connect', () => socket.write('{"id":1,"method":"mining.ping","params":[]}\n'))
        socket.on('data', () => resolve({ socket, admitted: true }))
        socket.on('close', () => resolve({ socket, admitted: false }))
      }),
    ),
  )
  t.teardown(() => outcomes.forEach((o) => o.socket.destroy()))
  t.equal(outcomes.filter((o) => o.admitted).length, 50)
  t.equal(server.sessions.size, 50)
  t.equal(server.counters.refused['too-many-from-address'], 350)
})

t.test('never authorizing: closed after auth_timeout_s; idle: closed after idle_timeout_s', async (t) => {
  const { server, port, clock } = await startServer(t, { stratum: { limits: { auth_timeout_s: 30, idle_timeout_s: 120 } } })
  const lazy = await FakeMiner.connect(port)
  const working = await FakeMiner.connect(port)
  await working.handshake()
  await lazy.request('mining.subscribe', [])
  clock.now += 29_000
  server.tick()
  t.equal(lazy.closed, false)
  clock.now += 1_000
  server.tick()
  await closed(lazy)
  t.equal(server.counters.closed['auth-timeout'], 1)
  t.equal(working.closed, false, 'an authorized session is not timed out')
  clock.now += 120_000
  server.tick()
  await closed(working)
  t.equal(server.counters.closed['idle-timeout'], 1)
})

t.test('garbage lines get errors, then a disconnect', async (t) => {
  const { server, port } = await startServer(t)
  const m = await FakeMiner.connect(port)
  m.sendRaw('not json\n')
  const first = await m.waitFor((x) => x.error !== undefined)
  t.equal(errorCode(first), 20)
  t.equal(first.id, null)
  m.sendRaw('{"id":9,"method":"mining.submit","params":"nope"}\n')
  const second = await m.waitFor((x) => x.id === 9)
  t.equal(errorCode(second), 20, 'wrong type: a JSON-RPC error with the id')
  for (let i = 0; i < 20; i++) m.sendRaw('[[[[\n')
  await closed(m)
  t.equal(server.counters.closed.garbage, 1)
})

t.test('a TLS ClientHello on the plain port is closed quietly, without a ban', async (t) => {
  const { server, port } = await startServer(t)
  const s = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false })
  await new Promise<void>((resolve) => {
    s.on('error', () => resolve())
    s.on('close', () => resolve())
  })
  t.equal(server.counters.closed['tls-probe'], 1)
  t.equal(server.counters.bans, 0)
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  t.equal((await m.request('mining.ping', [])).result, 'pong')
})

t.test('stratum+ssl listener', async (t) => {
  const { StratumServer } = await import('../../src/server/stratum-server.js')
  const { parseConfig } = await import('../../src/config/index.js')
  const { createLogger } = await import('../../src/log.js')
  const { selectHasher } = await import('../../src/shares/hasher.js')
  const { FixedDifficulty } = await import('../../src/server/difficulty-control.js')
  const base = parseConfig({ stratum: { host: '127.0.0.1', tls: { port: TLS_PORT, cert: join(FIXTURES, 'tls', 'cert.pem'), key: join(FIXTURES, 'tls', 'key.pem') } } })
  const tlsServer = new StratumServer({
    config: { ...base.stratum, port: 0 },
    hasher: selectHasher({}),
    log: createLogger({ level: 'silent' }),
    difficulty: () => new FixedDifficulty(1),
  })
  const { tlsPort } = await tlsServer.listen()
  t.teardown(() => tlsServer.close())
  t.equal(tlsPort, TLS_PORT)
  const s = tlsConnect({ port: TLS_PORT, host: '127.0.0.1', rejectUnauthorized: false })
  await new Promise<void>((resolve) => s.on('secureConnect', () => resolve()))
  s.write('{"id":1,"method":"mining.ping","params":[]}\n')
  const line = await new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString())))
  t.equal(line, '{"id":1,"result":"pong","error":null}\n')
  s.destroy()

  // A not-allowed address is refused before any handshake.
  const guarded = new StratumServer({
    config: { ...base.stratum, port: 0, tls: { ...base.stratum.tls, port: TLS_PORT + 1 }, limits: { ...base.stratum.limits, allowed_cidrs: ['10.0.0.0/8'] } },
    hasher: selectHasher({}),
    log: createLogger({ level: 'silent' }),
    difficulty: () => new FixedDifficulty(1),
  })
  await guarded.listen()
  t.teardown(() => guarded.close())
  const refused = tlsConnect({ port: TLS_PORT + 1, host: '127.0.0.1', rejectUnauthorized: false })
  await new Promise<void>((resolve) => {
    refused.on('error', () => resolve())
    refused.on('close', () => resolve())
  })
  t.equal(guarded.counters.refused['not-allowed'], 1, 'refused before the TLS handshake')

  const badKey = new StratumServer({
    config: { ...base.stratum, port: 0, tls: { ...base.stratum.tls, key: join(FIXTURES, 'missing.pem') } },
    hasher: selectHasher({}),
    log: createLogger({ level: 'silent' }),
    difficulty: () => new FixedDifficulty(1),
  })
  await t.rejects(badKey.listen(), { code: 'HF_STRATUM_TLS' })
})

t.test('a port in use is a clear error', async (t) => {
  const { port } = await startServer(t)
  const { StratumServer } = await import('../../src/server/stratum-server.js')
  const { parseConfig } = await import('../../src/config/index.js')
  const { createLogger } = await import('../../src/log.js')
  const { selectHasher } = await import('../../src/shares/hasher.js')
  const { FixedDifficulty } = await import('../../src/server/difficulty-control.js')
  const clash = new StratumServer({
    config: parseConfig({ stratum: { host: '127.0.0.1', port } }).stratum,
    hasher: selectHasher({}),
    log: createLogger({ level: 'silent' }),
    difficulty: () => new FixedDifficulty(1),
  })
  await t.rejects(clash.listen(), { code: 'HF_STRATUM_LISTEN', message: new RegExp(`cannot listen on 127.0.0.1:${port}`) })
})

t.test('invalid-share flood: the address is banned and refused until the ban ends', async (t) => {
  const { server, port, clock } = await startServer(t, { stratum: { limits: { invalid_window: 20, max_invalid_ratio: 0.5, ban_seconds: 60 } } })
  const m = await FakeMiner.connect(port)
  await m.handshake()
  for (let i = 0; i < 20; i++) m.send('mining.submit', ['acct.rig1', 'ffff00', '0000000000000000', '6b09b91f', '00000000'])
  await closed(m)
  t.equal(server.counters.closed.banned, 1)
  t.equal(server.counters.bans, 1)
  const again = await FakeMiner.connect(port)
  await closed(again)
  t.equal(server.counters.refused.banned, 1)
  clock.now += 60_000
  const later = await FakeMiner.connect(port)
  t.teardown(() => later.close())
  t.equal((await later.request('mining.ping', [])).result, 'pong', 'free after ban_seconds')
})

t.test('submit flood: difficulty raised first, then a ban at the maximum', async (t) => {
  const { FixedDifficulty } = await import('../../src/server/difficulty-control.js')
  const { server, port } = await startServer(t, {
    stratum: { limits: { max_submits_per_second: 1, max_invalid_ratio: 1 } },
    difficulty: () => new FixedDifficulty(0.001, 0.001, 0.004),
  })
  const m = await FakeMiner.connect(port)
  await m.handshake()
  for (let i = 0; i < 12; i++) m.send('mining.submit', ['acct.rig1', 'ffff00', '0000000000000000', '6b09b91f', '00000000'])
  const raised = await m.waitFor((x) => x.method === 'mining.set_difficulty' && x.params?.[0] !== 0.001)
  t.equal(raised.params?.[0], 0.004, 'difficulty raised to the maximum first')
  t.equal(server.counters.bans, 0, 'no ban yet')
  for (let i = 0; i < 12; i++) m.send('mining.submit', ['acct.rig1', 'ffff00', '0000000000000000', '6b09b91f', '00000000'])
  await closed(m)
  t.equal(server.counters.closed.banned, 1)
})

t.test('the submit-rate window starts at the connection, also for a session that submits late', async (t) => {
  const { FixedDifficulty } = await import('../../src/server/difficulty-control.js')
  // 1 submit/s: 10 per 10-second window.
  const { server, port, clock } = await startServer(t, {
    stratum: { limits: { max_submits_per_second: 1, max_invalid_ratio: 1 } },
    difficulty: () => new FixedDifficulty(0.001, 0.001, 0.004),
  })
  const bad = ['acct.rig1', 'ffff00', '0000000000000000', '6b09b91f', '00000000']
  const raised = (m: FakeMiner): boolean => m.received.some((x) => x.method === 'mining.set_difficulty' && x.params?.[0] !== 0.001)
  const start = clock.now
  const late = await FakeMiner.connect(port)
  t.teardown(() => late.close())
  await late.handshake()
  // 10 submits at the end of the first window, 1 just after it: within the limit.
  clock.now = start + 9_500
  for (let i = 0; i < 10; i++) await late.request('mining.submit', bad)
  clock.now = start + 10_500
  await late.request('mining.submit', bad)
  t.equal(raised(late), false, 'the 11th submit opened a new window')
  // The same 11 submits inside one window: over the limit.
  const fast = await FakeMiner.connect(port)
  t.teardown(() => fast.close())
  await fast.handshake()
  for (let i = 0; i < 11; i++) await fast.request('mining.submit', bad)
  await fast.request('mining.ping', [])
  t.equal(raised(fast), true, 'difficulty raised')
  t.equal(server.counters.bans, 0)
})

t.test('a miner that does not read is dropped at the write-buffer limit', async (t) => {
  // Unpaced work: this test floods notifies on purpose.
  const { server, port, source } = await startServer(t, { stratum: { limits: { max_write_buffer_bytes: 4096 } }, workPacing: { burst: 1_000_000_000, intervalMs: 1 } })
  const m = await FakeMiner.connect(port)
  await m.handshake()
  m.socket.pause() // stop reading
  // Kernel socket buffers on loopback take megabytes before Node buffers anything.
  for (let i = 0; i < 200_000 && server.sessions.size > 0; i++) {
    source.next(false)
    if (i % 100 === 0) await new Promise((r) => setImmediate(r))
  }
  t.equal(server.counters.closed['slow-reader'], 1)
})

t.test('no vardiff while there is no work: waiting miners keep their difficulty', async (t) => {
  const { Vardiff } = await import('../../src/vardiff/index.js')
  const { server, port, clock } = await startServer(t, {
    difficulty: (now) => new Vardiff({ startDifficulty: 0.001, minDifficulty: 0.00001, maxDifficulty: 1 }, now),
    noSource: true,
  })
  const m = await FakeMiner.connect(port)
  t.teardown(() => m.close())
  await m.handshake()
  for (let i = 0; i < 120; i++) {
    clock.now += 1000
    server.tick()
  }
  t.equal(m.received.filter((x) => x.method === 'mining.set_difficulty').length, 1, 'only the first set_difficulty')
  t.equal(m.difficulty, 0.001)
})
