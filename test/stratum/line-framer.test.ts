import t from 'tap'
import { createServer, type AddressInfo } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { DEFAULT_MAX_LINE_BYTES, LineFramer, looksLikeTlsHello } from '../../src/stratum/index.js'

/** Push every chunk, collect the lines; fails the test on an overflow. */
function frame(chunks: readonly (Buffer | Uint8Array)[], maxLineBytes?: number): string[] {
  const framer = new LineFramer(maxLineBytes === undefined ? {} : { maxLineBytes })
  const lines: string[] = []
  for (const chunk of chunks) {
    const out = framer.push(chunk)
    if (out.overflow) throw new Error('unexpected overflow')
    lines.push(...out.lines)
  }
  return lines
}

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8')

const SESSION =
  '{"id": 1, "method": "mining.subscribe", "params": ["bitaxe/BM1370"]}\r\n' +
  '\n' +
  '{"id": 2, "method": "mining.authorize", "params": ["acct.矿机🚀", "x"]}\n' +
  '   \r\n' +
  '\t\n' +
  '\r\n' +
  '{"id": 3, "method": "mining.submit", "params": ["acct.矿机🚀", "1", "00000000", "6b09bced", "a8f4508d"]}\r\n'
const SESSION_LINES = [
  '{"id": 1, "method": "mining.subscribe", "params": ["bitaxe/BM1370"]}',
  '{"id": 2, "method": "mining.authorize", "params": ["acct.矿机🚀", "x"]}',
  '{"id": 3, "method": "mining.submit", "params": ["acct.矿机🚀", "1", "00000000", "6b09bced", "a8f4508d"]}',
]

t.test('defaults', async (t) => {
  const framer = new LineFramer()
  t.equal(framer.maxLineBytes, DEFAULT_MAX_LINE_BYTES)
  t.equal(DEFAULT_MAX_LINE_BYTES, 16384)
  t.equal(framer.bufferedBytes, 0)
  t.equal(framer.overflowed, false)
})

t.test('a bad limit is refused', async (t) => {
  for (const maxLineBytes of [0, -1, 1.5, Number.NaN, Infinity]) {
    t.throws(() => new LineFramer({ maxLineBytes }), RangeError, String(maxLineBytes))
  }
})

t.test('LF and CRLF end lines; empty and whitespace-only lines are skipped', async (t) => {
  t.strictSame(frame([bytes(SESSION)]), SESSION_LINES)
})

t.test('a CR inside a line is kept (JSON whitespace); only the one before LF is dropped', async (t) => {
  t.strictSame(frame([bytes('{"a":\r1}\r\r\n')]), ['{"a":\r1}\r'])
})

t.test('a partial line waits for its LF', async (t) => {
  const framer = new LineFramer()
  t.strictSame(framer.push(bytes('{"id":1,')), { lines: [], overflow: false })
  t.equal(framer.bufferedBytes, 8)
  t.strictSame(framer.push(bytes('"method":"mining.ping"}')), { lines: [], overflow: false })
  t.strictSame(framer.push(bytes('\n{"id"')), { lines: ['{"id":1,"method":"mining.ping"}'], overflow: false })
  t.equal(framer.bufferedBytes, 5)
})

t.test('split at every byte offset of a multi-line chunk', async (t) => {
  const all = bytes(SESSION)
  for (let i = 0; i <= all.length; i++) {
    t.strictSame(frame([all.subarray(0, i), all.subarray(i)]), SESSION_LINES, `split at ${i}`)
  }
})

t.test('split at every pair of byte offsets (three chunks)', async (t) => {
  const all = bytes(SESSION)
  let ok = true
  for (let i = 0; i <= all.length && ok; i++) {
    for (let j = i; j <= all.length && ok; j++) {
      const got = frame([all.subarray(0, i), all.subarray(i, j), all.subarray(j)])
      ok = JSON.stringify(got) === JSON.stringify(SESSION_LINES)
      if (!ok) t.strictSame(got, SESSION_LINES, `split at ${i} and ${j}`)
    }
  }
  t.ok(ok, 'every split gives the same lines')
})

t.test('one byte at a time', async (t) => {
  const all = bytes(SESSION)
  t.strictSame(frame([...all].map((b) => Buffer.of(b))), SESSION_LINES)
})

t.test('CR at the end of one chunk, LF at the start of the next', async (t) => {
  t.strictSame(frame([bytes('{"a":1}\r'), bytes('\n{"b":2}\r'), bytes('\n')]), ['{"a":1}', '{"b":2}'])
})

t.test('a multi-byte UTF-8 character split across chunks', async (t) => {
  const line = '"矿机🚀é"'
  const all = bytes(`${line}\n`)
  for (let i = 1; i < all.length - 1; i++) {
    t.strictSame(frame([all.subarray(0, i), all.subarray(i)]), [line], `split at ${i}`)
  }
})

t.test('invalid UTF-8 becomes U+FFFD, never an exception', async (t) => {
  t.strictSame(frame([Buffer.from([0x7b, 0xff, 0xc3, 0x7d, 0x0a])]), ['{\ufffd\ufffd}'])
})

t.test('Uint8Array chunks (not Buffers) work, views included', async (t) => {
  const backing = new Uint8Array(bytes(`xx${SESSION}yy`))
  t.strictSame(frame([backing.subarray(2, backing.length - 2)]), SESSION_LINES)
})

t.test('empty chunks are harmless', async (t) => {
  t.strictSame(frame([Buffer.alloc(0), bytes('{"a":1}'), Buffer.alloc(0), bytes('\n'), new Uint8Array(0)]), ['{"a":1}'])
})

t.test('the limit: exactly maxLineBytes passes, one more overflows', async (t) => {
  const max = 32
  const full = 'x'.repeat(max)
  const cases: [string, (Buffer | Uint8Array)[]][] = [
    ['LF, one chunk', [bytes(`${full}\n`)]],
    ['CRLF, one chunk (the CR is not counted)', [bytes(`${full}\r\n`)]],
    ['LF, partial path', [bytes(full), bytes('\n')]],
    ['CRLF split between CR and LF, partial path', [bytes(`${full}\r`), bytes('\n')]],
    ['CRLF, LF alone in the last chunk after a split line', [bytes(full.slice(0, 10)), bytes(`${full.slice(10)}\r`), bytes('\n')]],
    ['one byte at a time with CRLF', [...bytes(`${full}\r\n`)].map((b) => Buffer.of(b))],
  ]
  for (const [name, chunks] of cases) t.strictSame(frame(chunks, max), [full], name)

  const over = 'x'.repeat(max + 1)
  const overflowing: [string, Buffer[]][] = [
    ['LF, one chunk', [bytes(`${over}\n`)]],
    ['CRLF, one chunk', [bytes(`${over}\r\n`)]],
    ['partial then LF', [bytes(over.slice(0, 20)), bytes(`${over.slice(20)}\n`)]],
    ['partial of max + 1 without CR', [bytes(over)]],
    ['partial of max + 1 then CRLF', [bytes(over), bytes('\r\n')]],
    ['partial of max + 1 ending in CR, then more', [bytes(`${full}\r`), bytes('y\n')]],
    ['partial then a CR-terminated chunk that is too long', [bytes('xx'), bytes(`${full}\r`), bytes('\n')]],
  ]
  for (const [name, chunks] of overflowing) {
    const framer = new LineFramer({ maxLineBytes: max })
    const overflowed = chunks.some((chunk) => framer.push(chunk).overflow)
    t.ok(overflowed, name)
    t.equal(framer.overflowed, true, `${name}: flagged`)
    t.equal(framer.bufferedBytes, 0, `${name}: nothing kept`)
  }
})

t.test('an over-long line: the lines before it come out, then nothing more', async (t) => {
  const framer = new LineFramer({ maxLineBytes: 16 })
  t.strictSame(framer.push(bytes('{"a":1}\n{"b":2}\n{"this line":"is too long"}\n{"c":3}\n')), { lines: ['{"a":1}', '{"b":2}'], overflow: true })
  t.strictSame(framer.push(bytes('{"d":4}\n')), { lines: [], overflow: true })
  t.equal(framer.overflowed, true)
})

t.test('an over-long partial line without newline overflows as soon as it passes the limit', async (t) => {
  const framer = new LineFramer({ maxLineBytes: 1024 })
  let pushes = 0
  let out = framer.push(bytes('{"ok":1}\n'))
  t.strictSame(out.lines, ['{"ok":1}'])
  while (!out.overflow) {
    out = framer.push(bytes('x'.repeat(100)))
    pushes++
  }
  t.equal(pushes, 11, 'the 11th chunk of 100 bytes crosses 1024')
  t.equal(framer.bufferedBytes, 0)
})

t.test('a 10 MB chunk without newline overflows without being buffered', async (t) => {
  const framer = new LineFramer()
  const huge = Buffer.alloc(10 * 1024 * 1024, 0x61)
  const started = process.hrtime.bigint()
  t.strictSame(framer.push(huge), { lines: [], overflow: true })
  t.ok(process.hrtime.bigint() - started < 50_000_000n, 'under 50 ms (memchr over 10 MB, no copy)')
  t.equal(framer.bufferedBytes, 0)
})

t.test('a 10 MB chunk after valid lines: the lines come out, the rest is refused', async (t) => {
  const framer = new LineFramer()
  const chunk = Buffer.concat([bytes('{"a":1}\n'), Buffer.alloc(10 * 1024 * 1024, 0x61), bytes('\n')])
  t.strictSame(framer.push(chunk), { lines: ['{"a":1}'], overflow: true })
})

t.test('slowloris: a 16 KiB line one byte at a time stays cheap', async (t) => {
  const framer = new LineFramer()
  const line = `{"id":1,"method":"mining.authorize","params":["${'u'.repeat(DEFAULT_MAX_LINE_BYTES - 60)}","x"]}`
  t.ok(Buffer.byteLength(line) <= DEFAULT_MAX_LINE_BYTES)
  const all = bytes(`${line}\n`)
  const started = process.hrtime.bigint()
  const lines: string[] = []
  for (let i = 0; i < all.length; i++) lines.push(...framer.push(all.subarray(i, i + 1)).lines)
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  t.strictSame(lines, [line])
  t.ok(elapsed < 250, `16 K one-byte pushes in ${elapsed.toFixed(1)} ms`)
  t.equal(framer.bufferedBytes, 0)
})

t.test('slowloris at a 1 MiB limit: linear, not quadratic', async (t) => {
  const max = 1024 * 1024
  const framer = new LineFramer({ maxLineBytes: max })
  const piece = Buffer.alloc(16, 0x61)
  const started = process.hrtime.bigint()
  for (let i = 0; i < max / 16; i++) framer.push(piece)
  t.equal(framer.bufferedBytes, max)
  t.strictSame(framer.push(bytes('\n')).lines.map((l) => l.length), [max])
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  // Quadratic concatenation would copy ~32 GB here.
  t.ok(elapsed < 1000, `65,536 pushes into a 1 MiB line in ${elapsed.toFixed(1)} ms`)
})

t.test('after a long line, short ones keep working (buffer released and regrown)', async (t) => {
  const framer = new LineFramer()
  const long = 'l'.repeat(10_000)
  t.strictSame(framer.push(bytes(long.slice(0, 5000))).lines, [])
  t.strictSame(framer.push(bytes(`${long.slice(5000)}\n{"a"`)).lines, [long])
  t.strictSame(framer.push(bytes(':1}\n')).lines, ['{"a":1}'])
})

t.test('a split line holds a buffer only until it is complete', async (t) => {
  const framer = new LineFramer()
  t.equal(framer.heldBytes, 0)
  t.strictSame(framer.push(bytes('{"id":1,')).lines, [])
  t.ok(framer.heldBytes >= 8, 'the first part is held')
  t.strictSame(framer.push(bytes('"a":2}\n{"id"')).lines, ['{"id":1,"a":2}'])
  t.equal(framer.bufferedBytes, 5, 'the next partial line')
  t.strictSame(framer.push(bytes(':3}\n')).lines, ['{"id":3}'])
  t.equal(framer.heldBytes, 0, 'nothing held between lines')
  t.equal(framer.bufferedBytes, 0)
})

t.test('looksLikeTlsHello', async (t) => {
  const hello = Buffer.from('160301020001' + '00'.repeat(10), 'hex')
  t.equal(looksLikeTlsHello(hello), true, 'TLS 1.0 record version, ClientHello')
  t.equal(looksLikeTlsHello(Buffer.from('160303020001', 'hex')), true, 'TLS 1.2 record version')
  t.equal(looksLikeTlsHello(Buffer.from('16', 'hex')), true, 'one byte: cannot tell yet, and JSON never starts with 0x16')
  t.equal(looksLikeTlsHello(Buffer.from('1603', 'hex')), true)
  t.equal(looksLikeTlsHello(Buffer.from('16030102', 'hex')), true)
  t.equal(looksLikeTlsHello(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])), true, 'Uint8Array')
  t.equal(looksLikeTlsHello(Buffer.alloc(0)), false, 'empty')
  t.equal(looksLikeTlsHello(bytes('{"id": 1, "method": "mining.subscribe"}\n')), false, 'JSON')
  t.equal(looksLikeTlsHello(bytes('\r\n{"id":1}')), false, 'JSON after a blank line')
  t.equal(looksLikeTlsHello(Buffer.from('170301020001', 'hex')), false, 'application data record')
  t.equal(looksLikeTlsHello(Buffer.from('160201020001', 'hex')), false, 'major version 2')
  t.equal(looksLikeTlsHello(Buffer.from('160305020001', 'hex')), false, 'minor version 5')
  t.equal(looksLikeTlsHello(Buffer.from('160301020002', 'hex')), false, 'ServerHello')
  t.equal(looksLikeTlsHello(bytes('GET / HTTP/1.1\r\n')), false, 'HTTP')
})

t.test('looksLikeTlsHello recognises a real ClientHello (node:tls, as bfgminer probes)', async (t) => {
  const first = await new Promise<Buffer>((resolve, reject) => {
    const server = createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        resolve(chunk)
        socket.destroy()
        server.close()
      })
    })
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      const client = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      client.on('error', () => client.destroy()) // the server hangs up mid-handshake
    })
  })
  t.equal(first[0], 0x16)
  t.equal(looksLikeTlsHello(first), true)
  // The same bytes through the framer would not be a line: no LF is guaranteed.
  t.equal(looksLikeTlsHello(first.subarray(0, 3)), true, 'a short first read')
})
