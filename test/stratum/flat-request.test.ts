/**
 * The fast path of `decodeRequest` (flat-request.ts) gives exactly what the
 * full path (guard scan + JSON.parse) gives, on real lines, on the decode
 * fixtures, and on generated flat lines with random whitespace, key order,
 * ids, escapes and mutations; and it is really taken for the common shapes.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeRequest } from '../../src/stratum/index.js'
import { parseFlatRequest } from '../../src/stratum/flat-request.js'
import { STRATUM_FIXTURES, prng, randomInt, transcript } from '../fixtures/stratum/index.js'

const same = (line: string): boolean => {
  const fast = decodeRequest(line)
  const full = decodeRequest(line, { fastPath: false })
  return JSON.stringify(fast, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? v.toString('hex') : v)) === JSON.stringify(full, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? v.toString('hex') : v))
}

t.test('the common shapes take the fast path, with the values JSON.parse gives', async (t) => {
  t.same(parseFlatRequest('{"id":4,"method":"mining.submit","params":["a.b","1f","00000000","5f5e1000","0000abcd"]}'), {
    id: 4,
    method: 'mining.submit',
    params: ['a.b', '1f', '00000000', '5f5e1000', '0000abcd'],
  })
  t.same(parseFlatRequest(' {"params": ["x", "y"], "id": "abc", "method": "mining.authorize"} \r\n'), { id: 'abc', method: 'mining.authorize', params: ['x', 'y'] })
  t.same(parseFlatRequest('{"id":null,"method":"mining.ping","params":[]}'), { id: null, method: 'mining.ping', params: [] })
  t.same(parseFlatRequest('{"method":"mining.ping","params":null}'), { id: null, method: 'mining.ping', params: null })
  t.same(parseFlatRequest('{"id":0,"method":"m"}'), { id: 0, method: 'm', params: null })
})

t.test('anything else is left to the full path', async (t) => {
  for (const line of [
    '',
    '[]',
    '{}',
    '{"id":1}',
    '{"id":1,"result":true,"error":null}',
    '{"id":1,"method":"a\\u0062","params":[]}',
    '{"id":1,"method":"m","params":["a\\"b"]}',
    '{"id":1,"method":"m","params":[1]}',
    '{"id":1,"method":"m","params":[["x"]]}',
    '{"id":1,"method":"m","params":{}}',
    '{"id":01,"method":"m"}',
    '{"id":-1,"method":"m"}',
    '{"id":1.5,"method":"m"}',
    '{"id":1e3,"method":"m"}',
    '{"id":1234567890123456,"method":"m"}',
    '{"id":true,"method":"m"}',
    '{"id":nul,"method":"m"}',
    '{"id":1,"id":2,"method":"m"}',
    '{"id":1,"method":"m","method":"n"}',
    '{"id":1,"method":"m","params":[],"params":[]}',
    '{"id":1,"method":"m","params":nil}',
    '{"id":1,"method":1}',
    '{"id":1,"method":"m","jsonrpc":"2.0"}',
    '{"__proto__":1,"method":"m"}',
    '{"id":1,"method":"m"} x',
    '{"id":1,"method":"m"',
    '{"id":1,"method":"m",}',
    '{"id":1,"method":"m","params":["a",]}',
    '{"id":1,"method":"m","params":["a" "b"]}',
    '{"id":1 "method":"m"}',
    '{"id":1,"method":"m\u0001"}',
    '{"id":1,"method":"m","params":["a\tb"]}',
    '{"id":"1,"method":"m"}',
    '{"id',
    '{"id":1,"method":"m","params":["x"}',
  ]) {
    t.equal(parseFlatRequest(line), undefined, line)
    t.ok(same(line), `same decode: ${line}`)
  }
})

t.test('the same decode as the full path on every fixture line', async (t) => {
  let n = 0
  for (const name of ['decode-valid.json', 'decode-invalid.json']) {
    const cases = JSON.parse(readFileSync(join(STRATUM_FIXTURES, name), 'utf8')) as { line: string }[]
    for (const c of cases) {
      t.ok(same(c.line), c.line)
      n++
    }
  }
  for (const name of ['cpuminer-ckpool.jsonl', 'bfgminer-ckpool.jsonl']) {
    for (const l of transcript(name)) {
      t.ok(same(l.line), l.line)
      n++
    }
  }
  t.ok(n > 50)
})

t.test('the same decode on generated and mutated flat lines', async (t) => {
  const random = prng(0xf1a7)
  const pick = <T>(xs: readonly T[]): T => xs[randomInt(random, xs.length)] as T
  const ws = (): string => pick(['', '', '', ' ', '  ', '\t', '\r\n'])
  const str = (): string =>
    `"${pick(['', 'a.b', 'mining.submit', '1f', '00000000', '5f5e1000', 'ffffffff', '0x1234', 'worker\\"x', '\\u0041', 'é', 'GG', '12345', '__proto__'])}"`
  const id = (): string => pick(['0', '1', '42', '007', '-3', '1.0', '9007199254740993', '123456789012345', 'null', '"id"', 'true', '"\\n"'])
  const method = (): string =>
    `"${pick(['mining.submit', 'mining.subscribe', 'mining.authorize', 'mining.ping', 'mining.suggest_difficulty', 'mining.get_transactions', 'mining.submit\\u0000', 'x'])}"`
  const params = (): string => {
    if (random() < 0.1) return pick(['null', '{}', '[1,"a"]', '[[]]', '"x"'])
    const count = randomInt(random, 8)
    return `[${Array.from({ length: count }, () => `${ws()}${str()}${ws()}`).join(',')}]`
  }
  let fast = 0
  for (let i = 0; i < 5000; i++) {
    const members = [`"id"${ws()}:${ws()}${id()}`, `"method"${ws()}:${ws()}${method()}`, `"params"${ws()}:${ws()}${params()}`].filter(() => random() < 0.95)
    members.sort(() => random() - 0.5)
    let line = `${ws()}{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}${ws()}`
    if (random() < 0.3) {
      // A random mutation: a byte replaced, removed or inserted.
      const at = randomInt(random, line.length + 1)
      const ch = pick(['"', ',', ':', '{', '}', '[', ']', '\\', ' ', 'a', '0', '\u0000'])
      const how = randomInt(random, 3)
      line = how === 0 ? line.slice(0, at) + ch + line.slice(at + 1) : how === 1 ? line.slice(0, at) + line.slice(at + 1) : line.slice(0, at) + ch + line.slice(at)
    }
    if (parseFlatRequest(line) !== undefined) fast++
    if (!same(line)) {
      t.fail(`fast and full decode differ: ${JSON.stringify(line)}`)
      return
    }
  }
  t.ok(fast > 1000, `${fast} of 5000 lines took the fast path`)
})
