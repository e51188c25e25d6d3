import t from 'tap'
import {
  decodeRequest,
  encodeConfigureResult,
  encodeError,
  encodeGetVersion,
  encodeNotify,
  encodePing,
  encodeReconnect,
  encodeReject,
  encodeResult,
  encodeSetDifficulty,
  encodeSetExtranonce,
  encodeSetVersionMask,
  encodeShowMessage,
  encodeSubscribeResult,
  formatJsonNumber,
  hex8,
  type NotifyJob,
} from '../../src/stratum/index.js'

const JOB: NotifyJob = {
  jobId: '6b09bced00000000',
  prevHash: '7752bc3f83190baae3b2236690b7216285d41e8d4f953db4319d96aa15abfa17',
  coinb1: '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2e016c0004edbc096b048a2cd0310c',
  coinb2: '0a636b706f6f6c',
  merkleBranch: ['2f0a30f8a09c6f71bb20bf6c3062fae4a172167e1f794880601e9730ae507f4e', 'a690ea5fd6b9276ae3f49a10ff24b5605567e423c40be19b7b19caf352d233c5'],
  version: '20000000',
  nbits: '207fffff',
  ntime: '6b09bced',
  cleanJobs: true,
}

t.test('results', async (t) => {
  t.equal(encodeResult(1, true), '{"id":1,"result":true,"error":null}\n')
  t.equal(encodeResult('auth', false), '{"id":"auth","result":false,"error":null}\n')
  t.equal(encodeResult(null, 'pong'), '{"id":null,"result":"pong","error":null}\n')
  t.equal(encodeResult('txlist1', []), '{"id":"txlist1","result":[],"error":null}\n')
  t.equal(encodeResult(3, undefined), '{"id":3,"result":null,"error":null}\n')
  t.equal(encodeResult(3, null), '{"id":3,"result":null,"error":null}\n')
  t.equal(encodeResult(-1.5, 0), '{"id":-1.5,"result":0,"error":null}\n')
  t.equal(encodeResult(123456789012345678901n, true), '{"id":123456789012345678901,"result":true,"error":null}\n', 'bigint id, digit for digit')
  t.equal(encodeResult('a"b\n', true), '{"id":"a\\"b\\n","result":true,"error":null}\n', 'string id escaped')
  t.throws(() => encodeResult(Number.NaN, true), RangeError)
  t.throws(() => encodeResult(Infinity, true), RangeError)
})

t.test('errors and rejects', async (t) => {
  t.equal(encodeError(4, 21, 'Job not found'), '{"id":4,"result":null,"error":[21,"Job not found",null]}\n')
  t.equal(encodeError(null, 20, 'say "hi"'), '{"id":null,"result":null,"error":[20,"say \\"hi\\"",null]}\n')
  t.throws(() => encodeError(1, 20.5, 'x'), RangeError)
  t.equal(encodeReject(5, 'duplicate'), '{"id":5,"result":null,"error":[22,"Duplicate share",null]}\n')
  t.equal(encodeReject(5, 'low-difficulty'), '{"id":5,"result":null,"error":[23,"Low difficulty share",null]}\n')
  t.equal(encodeReject('x', 'stale'), '{"id":"x","result":null,"error":[21,"Stale share",null]}\n')
  t.equal(encodeReject(6, 'unauthorized'), '{"id":6,"result":null,"error":[24,"Unauthorized worker",null]}\n')
  t.equal(encodeReject(7, 'not-subscribed'), '{"id":7,"result":null,"error":[25,"Not subscribed",null]}\n')
  t.equal(encodeReject(8, 'method-not-found'), '{"id":8,"result":null,"error":[20,"Method not found",null]}\n')
  t.equal(encodeReject(null, 'line-too-long'), '{"id":null,"result":null,"error":[20,"Line too long",null]}\n')
  t.equal(
    encodeReject(9, 'invalid-params', 'mining.submit: nonce must be 1-8 hex digits'),
    '{"id":9,"result":null,"error":[20,"mining.submit: nonce must be 1-8 hex digits",null]}\n',
    'a precise message replaces the standard one',
  )
})

t.test('a decode failure is answered as is', async (t) => {
  const r = decodeRequest('{"id": 3, "method": "mining.submit", "params": ["w", "j", "00", "6b09bced", "xyz"]}')
  t.equal(r.ok, false)
  if (!r.ok) {
    t.equal(
      encodeError(r.id, r.error.code, r.error.message),
      '{"id":3,"result":null,"error":[20,"mining.submit: nonce must be 1-8 hex digits or an integer 0-4294967295, got \\"xyz\\"",null]}\n',
    )
  }
})

t.test('subscribe result', async (t) => {
  t.equal(
    encodeSubscribeResult(1, { subscriptionId: 'deadbeef', extranonce1: '0a0B0c0D', extranonce2Size: 8 }),
    '{"id":1,"result":[[["mining.set_difficulty","deadbeef"],["mining.notify","deadbeef"]],"0a0b0c0d",8],"error":null}\n',
  )
  t.equal(
    encodeSubscribeResult('s', { subscriptionId: '1', extranonce1: Buffer.from([0xee, 0xbc, 0x09, 0x6b]), extranonce2Size: 4 }),
    '{"id":"s","result":[[["mining.set_difficulty","1"],["mining.notify","1"]],"eebc096b",4],"error":null}\n',
  )
  t.throws(() => encodeSubscribeResult(1, { subscriptionId: 'x', extranonce1: 'abc', extranonce2Size: 8 }), RangeError, 'odd hex')
  t.throws(() => encodeSubscribeResult(1, { subscriptionId: 'x', extranonce1: '0xab', extranonce2Size: 8 }), RangeError, 'no 0x in our own values')
  t.throws(() => encodeSubscribeResult(1, { subscriptionId: 'x', extranonce1: 'ab', extranonce2Size: 1.5 }), RangeError)
  t.throws(() => encodeSubscribeResult(1, { subscriptionId: 'x', extranonce1: 'ab', extranonce2Size: 33 }), RangeError)
})

t.test('configure result answers exactly the extensions requested', async (t) => {
  t.equal(
    encodeConfigureResult(1, ['version-rolling'], { versionRollingMask: 0x1fffe000 }),
    '{"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}\n',
    'WhatsMiner: version rolling only, nothing extra',
  )
  t.equal(
    encodeConfigureResult(1, ['minimum-difficulty', 'version-rolling'], { versionRollingMask: 0x18000000, minimumDifficulty: true }),
    '{"id":1,"result":{"minimum-difficulty":true,"version-rolling":true,"version-rolling.mask":"18000000"},"error":null}\n',
    'the BIP 310 example, in request order',
  )
  t.equal(
    encodeConfigureResult(2, ['version-rolling', 'minimum-difficulty', 'subscribe-extranonce', 'info'], {
      versionRollingMask: 0,
      minimumDifficulty: true,
      subscribeExtranonce: true,
      info: true,
    }),
    '{"id":2,"result":{"version-rolling":true,"version-rolling.mask":"00000000","minimum-difficulty":true,"subscribe-extranonce":true,"info":true},"error":null}\n',
  )
  t.equal(
    encodeConfigureResult(3, ['version-rolling', 'minimum-difficulty', 'subscribe-extranonce', 'info', 'x-unknown'], {}),
    '{"id":3,"result":{"version-rolling":false,"minimum-difficulty":false,"subscribe-extranonce":false,"info":false,"x-unknown":false},"error":null}\n',
    'refused and unknown extensions are answered false (BIP 310)',
  )
  t.equal(
    encodeConfigureResult(4, ['subscribe-extranonce', 'subscribe-extranonce'], { versionRollingMask: 0x1fffe000, subscribeExtranonce: true }),
    '{"id":4,"result":{"subscribe-extranonce":true},"error":null}\n',
    'granted but not requested: left out; repeats answered once',
  )
  t.equal(encodeConfigureResult(5, [], { versionRollingMask: 0x1fffe000 }), '{"id":5,"result":{},"error":null}\n')
  t.equal(encodeConfigureResult(6, ['a"b'], {}), '{"id":6,"result":{"a\\"b":false},"error":null}\n', 'names escaped')
  t.throws(() => encodeConfigureResult(1, ['version-rolling'], { versionRollingMask: -1 }), RangeError)
})

t.test('configure round trip: the decoded request drives the reply', async (t) => {
  const r = decodeRequest('{"id": 1, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2}]}')
  if (!r.ok || r.request.kind !== 'configure') return t.fail('decode')
  const granted = ((r.request.versionRolling?.mask ?? 0) & 0x1fffe000) >>> 0
  t.equal(encodeConfigureResult(r.request.id, r.request.requested, { versionRollingMask: granted }), '{"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}\n')
})

t.test('notify', async (t) => {
  const line = encodeNotify(JOB)
  t.equal(
    line,
    '{"id":null,"method":"mining.notify","params":["6b09bced00000000","7752bc3f83190baae3b2236690b7216285d41e8d4f953db4319d96aa15abfa17",' +
      '"01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2e016c0004edbc096b048a2cd0310c","0a636b706f6f6c",' +
      '["2f0a30f8a09c6f71bb20bf6c3062fae4a172167e1f794880601e9730ae507f4e","a690ea5fd6b9276ae3f49a10ff24b5605567e423c40be19b7b19caf352d233c5"],' +
      '"20000000","207fffff","6b09bced",true]}\n',
  )
  t.equal(
    encodeNotify({
      ...JOB,
      coinb1: Buffer.from(JOB.coinb1 as string, 'hex'),
      coinb2: new Uint8Array(Buffer.from(JOB.coinb2 as string, 'hex')),
      merkleBranch: JOB.merkleBranch.map((h) => Buffer.from(h as string, 'hex')),
      version: 0x20000000,
      nbits: 0x207fffff,
      ntime: 0x6b09bced,
    }),
    line,
    'bytes and numbers give the same line',
  )
  const lowered = JSON.parse(encodeNotify({ ...JOB, prevHash: JOB.prevHash.toUpperCase(), version: '2000E000', merkleBranch: [], cleanJobs: false })) as {
    params: unknown[]
  }
  t.strictSame(
    lowered.params,
    [JOB.jobId, JOB.prevHash, JOB.coinb1, JOB.coinb2, [], '2000e000', '207fffff', '6b09bced', false],
    'upper-case hex is lowered; empty branch; clean_jobs false',
  )
  t.equal((JSON.parse(encodeNotify({ ...JOB, jobId: 'a"b' })) as { params: unknown[] }).params[0], 'a"b', 'job id escaped')
  t.throws(() => encodeNotify({ ...JOB, prevHash: 'ab' }), RangeError, 'short prevhash')
  t.throws(() => encodeNotify({ ...JOB, prevHash: 'zz'.repeat(32) }), RangeError, 'prevhash not hex')
  t.throws(() => encodeNotify({ ...JOB, coinb1: 'abc' }), RangeError, 'odd coinb1')
  t.throws(() => encodeNotify({ ...JOB, merkleBranch: ['ab'] }), RangeError, 'short branch hash')
  t.throws(() => encodeNotify({ ...JOB, version: '2000000' }), RangeError, 'version of 7 digits')
  t.throws(() => encodeNotify({ ...JOB, nbits: '0x207fff' }), RangeError, 'no 0x in our own values')
  t.throws(() => encodeNotify({ ...JOB, ntime: 2 ** 32 }), RangeError, 'ntime beyond uint32')
})

t.test('notify is built once per job: one string for every session', async (t) => {
  const line = encodeNotify(JOB)
  const started = process.hrtime.bigint()
  let bytes = 0
  for (let i = 0; i < 10_000; i++) bytes += line.length // what a broadcast does: reuse, no re-encoding
  t.equal(bytes, line.length * 10_000)
  t.ok(process.hrtime.bigint() - started < 50_000_000n)
})

t.test('set_difficulty: never an exponent', async (t) => {
  const cases: [number, string][] = [
    [1, '1'],
    [1024, '1024'],
    [65536.5, '65536.5'],
    [0.5, '0.5'],
    [0.001, '0.001'],
    [1e-7, '0.0000001'],
    [1.5e-9, '0.0000000015'],
    [123456789.123, '123456789.123'],
    [1e21, '1000000000000000000000.0'],
    [2 ** 53 + 2, '9007199254740994'],
    [1e19, '10000000000000000000.0'],
    [5e-324, `0.${'0'.repeat(323)}5`],
  ]
  for (const [d, text] of cases) {
    t.equal(encodeSetDifficulty(d), `{"id":null,"method":"mining.set_difficulty","params":[${text}]}\n`, String(d))
    t.equal(JSON.parse(text), d, `${text} parses back to ${d}`)
  }
  for (const bad of [0, -1, Number.NaN, Infinity, -Infinity]) t.throws(() => encodeSetDifficulty(bad), RangeError, String(bad))
})

t.test('formatJsonNumber', async (t) => {
  t.equal(formatJsonNumber(0), '0')
  t.equal(formatJsonNumber(-0), '0')
  t.equal(formatJsonNumber(-42), '-42')
  t.equal(formatJsonNumber(-1e-7), '-0.0000001')
  t.equal(formatJsonNumber(-(2 ** 64)), '-18446744073709551616.0')
  t.equal(formatJsonNumber(2 ** 63 - 1024), '9223372036854774784', 'just below 2^63: an integer')
  t.equal(formatJsonNumber(2 ** 63), '9223372036854775808.0', '2^63: a real for jansson')
  t.throws(() => formatJsonNumber(Number.NaN), RangeError)
})

t.test('set_version_mask, set_extranonce', async (t) => {
  t.equal(encodeSetVersionMask(0x1fffe000), '{"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}\n')
  t.equal(encodeSetVersionMask(0x3000), '{"id":null,"method":"mining.set_version_mask","params":["00003000"]}\n', 'BIP 310 example')
  t.throws(() => encodeSetVersionMask(2 ** 32), RangeError)
  t.equal(encodeSetExtranonce('0a0b0c0d', 8), '{"id":null,"method":"mining.set_extranonce","params":["0a0b0c0d",8]}\n')
  t.equal(encodeSetExtranonce(Buffer.from('ABCD', 'hex'), 4), '{"id":null,"method":"mining.set_extranonce","params":["abcd",4]}\n')
  t.throws(() => encodeSetExtranonce('0a0b0c0d', -1), RangeError)
})

t.test('client.reconnect: port as a string (cgminer reads json_string_value)', async (t) => {
  t.equal(encodeReconnect(), '{"id":null,"method":"client.reconnect","params":[]}\n', 'same pool')
  t.equal(encodeReconnect({ host: 'pool.lan' }), '{"id":null,"method":"client.reconnect","params":["pool.lan"]}\n')
  t.equal(encodeReconnect({ host: 'pool.lan', port: 3333 }), '{"id":null,"method":"client.reconnect","params":["pool.lan","3333"]}\n')
  t.equal(encodeReconnect({ host: '10.0.0.2', port: 3334, waitSeconds: 5 }), '{"id":null,"method":"client.reconnect","params":["10.0.0.2","3334",5]}\n')
  t.throws(() => encodeReconnect({ port: 3333 }), RangeError, 'port without host')
  t.throws(() => encodeReconnect({ host: 'h', waitSeconds: 5 }), RangeError, 'wait without port')
  t.throws(() => encodeReconnect({ host: 'h', port: 0 }), RangeError)
  t.throws(() => encodeReconnect({ host: 'h', port: 65536 }), RangeError)
  t.throws(() => encodeReconnect({ host: 'h', port: 1, waitSeconds: -1 }), RangeError)
})

t.test('show_message, ping, get_version', async (t) => {
  t.equal(encodeShowMessage('Welcome to Headframe'), '{"id":null,"method":"client.show_message","params":["Welcome to Headframe"]}\n')
  t.equal(encodeShowMessage('line\n"two"'), '{"id":null,"method":"client.show_message","params":["line\\n\\"two\\""]}\n', 'escaped: one line stays one line')
  t.equal(encodePing('hf-ping-1'), '{"id":"hf-ping-1","method":"mining.ping","params":[]}\n')
  t.equal(encodeGetVersion(7), '{"id":7,"method":"client.get_version","params":[]}\n')
})

t.test('every encoded line is one line of valid JSON', async (t) => {
  const lines = [
    encodeResult(1, { a: [1, 'x\n'] }),
    encodeError(1, 20, 'a\nb'),
    encodeSubscribeResult(1, { subscriptionId: 'a\nb', extranonce1: 'ab', extranonce2Size: 8 }),
    encodeConfigureResult(1, ['x\ny'], {}),
    encodeNotify({ ...JOB, jobId: 'j\nk' }),
    encodeSetDifficulty(1e-300),
    encodeShowMessage('\u2028\u2029\n'),
    encodeReconnect({ host: 'a\nb', port: 1, waitSeconds: 0 }),
  ]
  for (const line of lines) {
    t.equal(line.indexOf('\n'), line.length - 1, 'one newline, at the end')
    t.doesNotThrow(() => {
      JSON.parse(line)
    })
  }
})

t.test('hex8', async (t) => {
  t.equal(hex8(0), '00000000')
  t.equal(hex8(0xffffffff), 'ffffffff')
  t.throws(() => hex8(1.5), RangeError)
})
