/**
 * rpc-answer.ts on its own: every HTTP answer shape and transport error,
 * as a table (one generated test per vector).
 */
import t from 'tap'
import { interpretAnswer, transportError } from '../../src/bitcoind/rpc-answer.js'
import { BitcoindError } from '../../src/errors.js'

const ctx = { url: 'http://127.0.0.1:8332', method: 'getbestblockhash', id: 7, credentials: 'cookie file /d/.cookie' }
const ok = (body: unknown, status = 200) => ({ status, body: typeof body === 'string' ? body : JSON.stringify(body) })

const results: [string, { status: number; body: string }, unknown][] = [
  ['2.0 result', ok({ jsonrpc: '2.0', result: 'abc', id: 7 }), 'abc'],
  ['1.0 result', ok({ result: 'abc', error: null, id: 7 }), 'abc'],
  ['null result (submitblock accepted)', ok({ result: null, error: null, id: 7 }), null],
  ['id null (Core on a parse error) is accepted', ok({ result: 1, error: null, id: null }), 1],
  ['no id', ok({ result: 1 }), 1],
]
for (const [name, answer, want] of results) {
  t.test(`result: ${name}`, async (t) => t.same(interpretAnswer(answer, ctx), want))
}

type Want = Partial<Omit<BitcoindError, 'message'>> & { message?: string | RegExp }
const failures: [string, { status: number; body: string }, Want][] = [
  ['401', ok('', 401), { code: 'HF_BITCOIND_AUTH', httpStatus: 401, message: 'bitcoind rejected the RPC credentials (HTTP 401) at http://127.0.0.1:8332 (cookie file /d/.cookie)' }],
  ['403', ok('', 403), { code: 'HF_BITCOIND_AUTH', httpStatus: 403, message: /rpcallowip/ }],
  ['-28 (1.0, HTTP 500)', ok({ result: null, error: { code: -28, message: 'Verifying blocks…' }, id: 7 }, 500), { code: 'HF_BITCOIND_WARMING_UP', rpcCode: -28, retryable: true, transport: false }],
  ['-10', ok({ jsonrpc: '2.0', error: { code: -10, message: 'in initial sync' }, id: 7 }), { code: 'HF_BITCOIND_IBD', rpcCode: -10, retryable: true }],
  ['-9 not connected is retryable', ok({ error: { code: -9, message: 'Bitcoin Core is not connected!' }, id: 7 }, 500), { code: 'HF_BITCOIND_RPC', rpcCode: -9, retryable: true }],
  ['-8', ok({ error: { code: -8, message: 'bad' }, id: 7 }, 500), { code: 'HF_BITCOIND_RPC', rpcCode: -8, rpcMessage: 'bad', retryable: false, message: 'bitcoind at http://127.0.0.1:8332 answered getbestblockhash with RPC error -8: bad' }],
  ['an error message that is not a string', ok({ error: { code: -1, message: { x: 1 } }, id: 7 }), { code: 'HF_BITCOIND_RPC', rpcMessage: '{"x":1}' }],
  ['an error without a message', ok({ error: { code: -1 }, id: 7 }), { code: 'HF_BITCOIND_RPC', rpcMessage: '""' }],
  ['a malformed error object', ok({ error: 'boom', id: 7 }), { code: 'HF_BITCOIND_BAD_RESPONSE', message: /malformed error object/ }],
  ['an error without a numeric code', ok({ error: { code: 'x' }, id: 7 }), { code: 'HF_BITCOIND_BAD_RESPONSE' }],
  ['another id', ok({ result: 1, error: null, id: 8 }), { code: 'HF_BITCOIND_BAD_RESPONSE', message: /with id 8, not 7/ }],
  ['garbage', ok('<html>oops</html>'), { code: 'HF_BITCOIND_BAD_RESPONSE', transport: true, retryable: true, message: /invalid JSON .*: "<html>oops<\/html>"$/ }],
  ['truncated', ok('{"result":"ab'), { code: 'HF_BITCOIND_BAD_RESPONSE', message: /invalid JSON/ }],
  ['JSON but not JSON-RPC', ok({ hello: 'world' }), { code: 'HF_BITCOIND_BAD_RESPONSE', message: /JSON that is not a JSON-RPC answer/ }],
  ['a JSON array', ok([1, 2]), { code: 'HF_BITCOIND_BAD_RESPONSE' }],
  ['empty 200', ok(''), { code: 'HF_BITCOIND_BAD_RESPONSE', message: 'bitcoind at http://127.0.0.1:8332 answered getbestblockhash with invalid JSON (Unexpected end of JSON input)' }],
  ['503 text', ok('Work queue depth exceeded', 503), { code: 'HF_BITCOIND_HTTP', httpStatus: 503, transport: true, retryable: true }],
  ['404 no body (wrong path)', ok('', 404), { code: 'HF_BITCOIND_HTTP', httpStatus: 404, retryable: false, message: 'bitcoind at http://127.0.0.1:8332 answered getbestblockhash with HTTP 404 and no JSON-RPC body' }],
  ['a long body is cut in the message', ok('x'.repeat(500), 502), { code: 'HF_BITCOIND_HTTP', message: /"x{77}\.\.\."$/ }],
]
for (const [name, answer, want] of failures) {
  t.test(`error: ${name}`, async (t) => {
    const err = (() => {
      try {
        interpretAnswer(answer, ctx)
      } catch (e) {
        return e
      }
      return undefined
    })()
    t.ok(err instanceof BitcoindError)
    t.match(err, { url: ctx.url, method: ctx.method, ...want })
  })
}

const transport: [string, unknown, string, string][] = [
  ['ECONNREFUSED', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'HF_BITCOIND_UNREACHABLE', 'connection refused'],
  ['ENOTFOUND', Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'HF_BITCOIND_UNREACHABLE', 'host not found'],
  ['ECONNRESET', Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'HF_BITCOIND_UNREACHABLE', 'connection reset'],
  ['EHOSTUNREACH', Object.assign(new Error('x'), { code: 'EHOSTUNREACH' }), 'HF_BITCOIND_UNREACHABLE', 'no route to host'],
  ['connect timeout', Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), 'HF_BITCOIND_UNREACHABLE', 'connect timed out'],
  ['socket closed', Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), 'HF_BITCOIND_UNREACHABLE', 'the connection closed before an answer'],
  ['happy eyeballs', new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })]), 'HF_BITCOIND_UNREACHABLE', 'connection refused'],
  ['a wrapped cause', Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('y'), { code: 'ECONNREFUSED' }) }), 'HF_BITCOIND_UNREACHABLE', 'connection refused'],
  ['unknown', new Error('something odd'), 'HF_BITCOIND_UNREACHABLE', 'something odd'],
  ['not an Error', 'weird', 'HF_BITCOIND_UNREACHABLE', 'weird'],
  ['headers timeout', Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'HF_BITCOIND_TIMEOUT', 'did not answer getbestblockhash in time'],
  ['body timeout', Object.assign(new Error('x'), { code: 'UND_ERR_BODY_TIMEOUT' }), 'HF_BITCOIND_TIMEOUT', 'did not answer getbestblockhash in time'],
  ['bad HTTP', Object.assign(new Error('x'), { code: 'HPE_INVALID_CONSTANT' }), 'HF_BITCOIND_BAD_RESPONSE', 'malformed HTTP response (HPE_INVALID_CONSTANT)'],
]
for (const [name, cause, code, words] of transport) {
  t.test(`transport: ${name}`, async (t) => {
    const err = transportError(cause, ctx)
    t.match(err, { code, transport: true, retryable: true, cause })
    t.ok(err.message.includes(words), err.message)
    t.ok(err.message.includes(ctx.url))
  })
}
