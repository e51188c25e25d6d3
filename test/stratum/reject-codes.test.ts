import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REJECT_CODES, REJECT_REASONS, rejectCode, rejectMessage, type RejectReason } from '../../src/stratum/index.js'
import { PACKAGE_ROOT } from '../../src/package-info.js'

t.test('the Stratum codes 20-25 mean what firmware expects', async (t) => {
  t.equal(rejectCode('other'), 20)
  t.equal(rejectCode('job-not-found'), 21)
  t.equal(rejectCode('stale'), 21)
  t.equal(rejectCode('duplicate'), 22)
  t.equal(rejectCode('low-difficulty'), 23)
  t.equal(rejectCode('unauthorized'), 24)
  t.equal(rejectCode('not-subscribed'), 25)
  t.equal(rejectMessage('duplicate'), 'Duplicate share')
})

t.test('the table covers share validation and protocol errors', async (t) => {
  const needed: RejectReason[] = [
    'job-not-found',
    'stale',
    'bad-extranonce2',
    'bad-ntime',
    'bad-version-bits',
    'duplicate',
    'low-difficulty',
    'unauthorized',
    'not-subscribed',
    'method-not-found',
    'invalid-params',
    'invalid-request',
    'parse-error',
    'line-too-long',
    'other',
  ]
  t.strictSame([...REJECT_REASONS].sort(), [...needed].sort())
  for (const reason of REJECT_REASONS) {
    const [code, message] = REJECT_CODES[reason]
    t.ok(code >= 20 && code <= 25, `${reason}: code ${code}`)
    t.ok(message.length > 0, `${reason}: message`)
  }
  t.ok(Object.isFrozen(REJECT_REASONS))
})

t.test('docs/stratum.md lists exactly the reasons of reject-codes.ts, with the same codes and messages', async (t) => {
  const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'stratum.md'), 'utf8')
  const rows = new Map<string, [number, string]>()
  for (const line of doc.split('\n')) {
    const m = /^\| `([a-z0-9-]+)` \| (\d+) \| (.+?) \|$/.exec(line)
    if (m) rows.set(m[1] as string, [Number(m[2]), m[3] as string])
  }
  t.strictSame([...rows.keys()].sort(), [...REJECT_REASONS].sort())
  for (const reason of REJECT_REASONS) t.strictSame(rows.get(reason), [...REJECT_CODES[reason]], reason)
})
