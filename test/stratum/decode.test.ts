import t, { type Test } from 'tap'
import { decodeRequest, MAX_JSON_DEPTH, MAX_USER_AGENT_LENGTH, type DecodeResult } from '../../src/stratum/index.js'
import { normalize, readFixture } from '../fixtures/stratum/index.js'

interface ValidVector {
  description: string
  line: string
  expect: Record<string, unknown>
}
interface InvalidVector {
  description: string
  line: string
  id: unknown
  reason: string
  message: string
}

const valid = JSON.parse(readFixture('decode-valid.json')) as ValidVector[]
const invalid = JSON.parse(readFixture('decode-invalid.json')) as InvalidVector[]

function request(t: Test, result: DecodeResult): unknown {
  if (!result.ok) {
    t.fail(`decode failed: ${result.error.message}`)
    return undefined
  }
  return normalize(result.request)
}

t.test('valid vectors', async (t) => {
  for (const v of valid) {
    t.test(v.description, async (t) => {
      t.strictSame(request(t, decodeRequest(v.line)), v.expect)
    })
  }
})

t.test('invalid vectors', async (t) => {
  for (const v of invalid) {
    t.test(v.description, async (t) => {
      t.strictSame(decodeRequest(v.line), { ok: false, id: v.id, reason: v.reason, error: { code: 20, message: v.message } })
    })
  }
})

t.test('every request kind and every failure reason is covered by the tables', async (t) => {
  const kinds = new Set(valid.map((v) => v.expect.kind))
  t.strictSame(
    [...kinds].sort(),
    ['authorize', 'configure', 'extranonce-subscribe', 'get-transactions', 'multi-version', 'ping', 'response', 'submit', 'subscribe', 'suggest-difficulty', 'suggest-target', 'unknown'],
  )
  t.strictSame([...new Set(invalid.map((v) => v.reason))].sort(), ['invalid-params', 'invalid-request', 'parse-error'])
})

/** Vectors too long or too repetitive for the JSON tables. */
t.test('generated vectors', async (t) => {
  const nest = (depth: number): string => `{"id":1,"method":"mining.ping","params":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`

  t.test(`nesting of exactly ${MAX_JSON_DEPTH} levels is accepted`, async (t) => {
    t.strictSame(request(t, decodeRequest(nest(MAX_JSON_DEPTH))), { kind: 'ping', id: 1 })
  })
  t.test('one level more is refused, before parsing, without the id', async (t) => {
    t.strictSame(decodeRequest(nest(MAX_JSON_DEPTH + 1)), {
      ok: false,
      id: null,
      reason: 'invalid-request',
      error: { code: 20, message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` },
    })
  })
  t.test('8,000 levels in a 16 KiB line are refused quickly', async (t) => {
    const line = `{"id":1,"params":${'['.repeat(8000)}${']'.repeat(8000)}}`
    const started = process.hrtime.bigint()
    const result = decodeRequest(line)
    t.equal(result.ok, false)
    t.ok(process.hrtime.bigint() - started < 50_000_000n, 'under 50 ms')
  })
  t.test('unbalanced deep brackets (invalid JSON) are refused as too deep', async (t) => {
    t.equal((decodeRequest('['.repeat(100)) as { reason: string }).reason, 'invalid-request')
  })
  t.test('brackets inside strings do not count as nesting', async (t) => {
    const user = `${'['.repeat(100)}{{{`
    t.strictSame(request(t, decodeRequest(JSON.stringify({ id: 1, method: 'mining.authorize', params: [user, ']]]'] }))), {
      kind: 'authorize',
      id: 1,
      user,
      password: ']]]',
    })
  })
  t.test('escaped quotes and backslashes inside strings', async (t) => {
    t.strictSame(request(t, decodeRequest('{"id":1,"method":"mining.authorize","params":["a\\"b\\\\","\\\\\\""]}')), {
      kind: 'authorize',
      id: 1,
      user: 'a"b\\',
      password: '\\"',
    })
  })
  t.test('lone surrogates in strings are kept', async (t) => {
    t.strictSame(request(t, decodeRequest('{"id":"\\ud800","method":"mining.authorize","params":["\\udfff"]}')), {
      kind: 'authorize',
      id: '\ud800',
      user: '\udfff',
      password: '',
    })
  })
  t.test('an unterminated string is a parse error', async (t) => {
    t.equal((decodeRequest('{"id": 1, "method": "mining.ping", "x": "abc') as { reason: string }).reason, 'parse-error')
  })
  t.test('a key with a malformed escape is a parse error', async (t) => {
    t.equal((decodeRequest('{"\\u00zz": 1, "id": 1, "method": "mining.ping"}') as { reason: string }).reason, 'parse-error')
  })
  t.test(`a user agent is cut at ${MAX_USER_AGENT_LENGTH} characters`, async (t) => {
    const agent = 'a'.repeat(300)
    t.strictSame(request(t, decodeRequest(JSON.stringify({ id: 1, method: 'mining.subscribe', params: [agent] }))), {
      kind: 'subscribe',
      id: 1,
      userAgent: agent.slice(0, MAX_USER_AGENT_LENGTH),
    })
  })
  t.test('limits can be tightened', async (t) => {
    t.equal((decodeRequest(nest(4), { maxDepth: 3 }) as { reason: string }).reason, 'invalid-request')
    const r = decodeRequest('{"id":1,"method":"mining.authorize","params":["u","p"]}', { maxParams: 1 })
    t.strictSame(r, { ok: false, id: 1, reason: 'invalid-params', error: { code: 20, message: 'mining.authorize: at most 1 params, got 2' } })
  })
  t.test('the bad value in a message is cut and quoted', async (t) => {
    const r = decodeRequest(JSON.stringify({ id: 1, method: 'mining.submit', params: ['w', 'j', '00', 'n'.repeat(5000), '00000000'] }))
    t.ok(!r.ok && r.error.message.length < 200, 'short message')
  })
  t.test('results are plain values: a decoded request serializes (Buffers aside)', async (t) => {
    const r = decodeRequest('{"id": 1, "method": "mining.configure", "params": [["info"], {"info.hw-id": "x"}]}')
    t.equal(JSON.stringify(r), '{"ok":true,"request":{"kind":"configure","id":1,"requested":["info"],"subscribeExtranonce":false,"info":{"hwId":"x"}}}')
  })
})
