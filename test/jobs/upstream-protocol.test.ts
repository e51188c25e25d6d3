/**
 * The upstream (client-side) decoder against real pool lines (ckpool's side
 * of the recorded cpuminer and bfgminer sessions in test/fixtures/stratum),
 * a table of malformed lines, and random garbage: every pool line of the
 * transcripts decodes, every malformed one is refused with a reason, and
 * nothing throws.
 */
import t from 'tap'
import { decodePoolLine, errorReason, parseConfigureResult, parseSubscribeResult, submitParams } from '../../src/jobs/upstream-protocol.js'
import { prng, randomInt, transcript } from '../fixtures/stratum/index.js'

t.test('every pool line of the recorded sessions decodes; notify fields match the wire', async (t) => {
  let notifies = 0
  for (const name of ['cpuminer-ckpool.jsonl', 'bfgminer-ckpool.jsonl']) {
    for (const entry of transcript(name).filter((l) => l.dir === 'pool->miner')) {
      const decoded = decodePoolLine(entry.line)
      t.ok(decoded.ok, `${name} conn ${entry.conn} at ${entry.ms} ms: ${decoded.ok ? '' : decoded.error}`)
      if (!decoded.ok || decoded.message.kind !== 'notify') continue
      notifies++
      const wire = (JSON.parse(entry.line) as { params: unknown[] }).params
      const job = decoded.message.job
      t.equal(job.jobId, wire[0])
      const swapped = Buffer.from(job.prevHash)
      swapped.swap32()
      t.equal(swapped.toString('hex'), wire[1], 'previous hash back in Stratum word order')
      t.equal(job.coinb1.toString('hex'), wire[2])
      t.equal(job.coinb2.toString('hex'), wire[3])
      t.same(job.merkleBranch.map((b) => b.toString('hex')), wire[4])
      t.equal(job.version, Number.parseInt(wire[5] as string, 16))
      t.equal(job.cleanJobs, wire[8])
    }
  }
  t.ok(notifies >= 3, `${notifies} notifies checked`)
  const subscribe = transcript('cpuminer-ckpool.jsonl').find((l) => l.dir === 'pool->miner' && l.line.includes('mining.notify",'))
  const answer = decodePoolLine(subscribe?.line ?? '')
  t.ok(answer.ok && answer.message.kind === 'response')
  if (answer.ok && answer.message.kind === 'response') t.same(parseSubscribeResult(answer.message.result), { extranonce1: Buffer.from('eebc096b', 'hex'), extranonce2Size: 8 })
})

t.test('every message kind', async (t) => {
  const kinds: [string, string, Record<string, unknown>?][] = [
    ['{"id":null,"method":"mining.set_difficulty","params":[0.5]}', 'set-difficulty', { difficulty: 0.5 }],
    ['{"id":null,"method":"mining.set_extranonce","params":["aabb",6]}', 'set-extranonce', { extranonce2Size: 6 }],
    ['{"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}', 'set-version-mask', { mask: 0x1fffe000 }],
    ['{"id":null,"method":"client.reconnect","params":[]}', 'reconnect', { host: undefined, port: undefined, waitSeconds: 0 }],
    ['{"id":null,"method":"client.reconnect","params":["pool.example",  "3334", 5]}', 'reconnect', { host: 'pool.example', port: 3334, waitSeconds: 5 }],
    ['{"id":null,"method":"client.show_message","params":["hello"]}', 'show-message', { message: 'hello' }],
    ['{"id":7,"method":"mining.ping","params":[]}', 'ping', { id: 7 }],
    ['{"id":"v","method":"client.get_version","params":[]}', 'get-version', { id: 'v' }],
    ['{"id":8,"method":"mining.something","params":[]}', 'unknown', { method: 'mining.something', id: 8 }],
    ['{"id":3,"result":true,"error":null}', 'response', { id: 3, result: true, error: null }],
    ['{"id":3,"result":null,"error":[23,"low difficulty",null]}', 'response', { id: 3 }],
  ]
  for (const [line, kind, fields] of kinds) {
    const d = decodePoolLine(line)
    t.ok(d.ok, line)
    if (!d.ok) continue
    t.equal(d.message.kind, kind, line)
    t.match(d.message, fields ?? {}, line)
  }
})

t.test('malformed lines are refused with a reason', async (t) => {
  const notify = (p: unknown[]) => JSON.stringify({ id: null, method: 'mining.notify', params: p })
  const good = ['j1', '00'.repeat(32), 'aa', 'bb', [], '20000000', '207fffff', '6b09bced', true]
  const bad: [string, RegExp][] = [
    ['not json', /not JSON/],
    ['[1,2]', /not a JSON object/],
    ['{"id":{},"result":true}', /neither a number nor a string/],
    ['{"id":1}', /neither a method nor a result/],
    ['{"method":5}', /method is not a string/],
    ['{"method":"mining.notify","params":{}}', /params is not a list/],
    ['{"method":"x","__proto__":{}}', /__proto__/],
    [`{"method":"x","params":${'['.repeat(20)}${']'.repeat(20)}}`, /deeper/],
    ['{"method":"mining.set_difficulty","params":[0]}', /positive number/],
    ['{"method":"mining.set_difficulty","params":["1"]}', /positive number/],
    ['{"method":"mining.set_extranonce","params":["zz",4]}', /not hex/],
    ['{"method":"mining.set_extranonce","params":["aa",33]}', /impossible extranonce2 size 33/],
    ['{"method":"mining.set_extranonce","params":["aa",-1]}', /impossible/],
    ['{"method":"mining.set_version_mask","params":[1]}', /mask/],
    ['{"method":"client.reconnect","params":["a b"]}', /host/],
    ['{"method":"client.reconnect","params":["h",70000]}', /port/],
    ['{"method":"client.reconnect","params":["h",1,-5]}', /wait/],
    [notify(good.slice(0, 8)), /8 params/],
    [notify(['', ...good.slice(1)]), /job id/],
    [notify([good[0], 'zz', ...good.slice(2)]), /previous hash/],
    [notify([good[0], good[1], '', ...good.slice(3)]), /coinb1/],
    [notify([...good.slice(0, 3), 'x', ...good.slice(4)]), /coinb2/],
    [notify([...good.slice(0, 4), ['ab'], ...good.slice(5)]), /merkle branch entry/],
    [notify([...good.slice(0, 4), 'x', ...good.slice(5)]), /merkle branch is not a list/],
    [notify([...good.slice(0, 5), '2000', ...good.slice(6)]), /8 hex digits/],
    [notify([...good.slice(0, 8), 'yes']), /clean_jobs/],
  ]
  t.ok(decodePoolLine(notify(good)).ok, 'the good notify decodes')
  for (const [line, reason] of bad) {
    const d = decodePoolLine(line)
    t.notOk(d.ok, line.slice(0, 60))
    if (!d.ok) t.match(d.error, reason, line.slice(0, 60))
  }
})

t.test('random bytes and mutated pool lines never throw', async (t) => {
  const random = prng(0xdec0de)
  const lines = transcript('cpuminer-ckpool.jsonl')
    .filter((l) => l.dir === 'pool->miner')
    .map((l) => l.line)
  let refused = 0
  for (let i = 0; i < 5000; i++) {
    const base = lines[randomInt(random, lines.length)] as string
    const chars = [...base]
    for (let k = 0; k < 1 + randomInt(random, 4); k++) chars[randomInt(random, chars.length)] = String.fromCharCode(randomInt(random, 128))
    const d = decodePoolLine(chars.join(''))
    if (!d.ok) refused++
  }
  t.ok(refused > 0, `${refused} mutated lines refused, none threw`)
})

t.test('answers: subscribe, configure, errors, submit params', async (t) => {
  t.match(parseSubscribeResult('x'), /not \[subscriptions/)
  t.match(parseSubscribeResult([[], 'zz', 4]), /extranonce1/)
  t.match(parseSubscribeResult([[], 'aa', 40]), /impossible extranonce2 size 40/)
  t.equal(parseConfigureResult({ 'version-rolling': true, 'version-rolling.mask': '1fffe000' }), 0x1fffe000)
  t.equal(parseConfigureResult({ 'version-rolling': false }), undefined)
  t.equal(parseConfigureResult(null), undefined)
  t.equal(parseConfigureResult({ 'version-rolling': true }), undefined)
  t.equal(errorReason([23, 'Low difficulty share', null]), 'Low difficulty share')
  t.equal(errorReason({ message: 'Stale' }), 'Stale')
  t.equal(errorReason('timeout'), 'timeout')
  t.equal(errorReason(42), 'rejected')
  t.same(submitParams('u', 'j', Buffer.from('0001', 'hex'), 0x6b09bced, 0xa8f4508d, undefined), ['u', 'j', '0001', '6b09bced', 'a8f4508d'])
  t.same(submitParams('u', 'j', Buffer.alloc(1), 1, 2, 0x2000), ['u', 'j', '00', '00000001', '00000002', '00002000'])
})
