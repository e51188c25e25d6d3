import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ERROR_CODES, HeadframeError, ConfigError, HasherError } from '../src/errors.js'
import { PACKAGE_ROOT } from '../src/package-info.js'

t.test('docs/errors.md lists exactly the codes of src/errors.ts, with the same meanings', async (t) => {
  const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'errors.md'), 'utf8')
  const rows = new Map<string, string>()
  for (const line of doc.split('\n')) {
    const m = /^\| `(HF_[A-Z_]+)` \| (.+?) \|/.exec(line)
    if (m) rows.set(m[1] as string, m[2] as string)
  }
  t.same([...rows.keys()].sort(), Object.keys(ERROR_CODES).sort())
  for (const [code, meaning] of Object.entries(ERROR_CODES)) t.equal(rows.get(code), meaning, code)
})

t.test('errors carry code, name and cause', async (t) => {
  const cause = new Error('root')
  const err = new HasherError('HF_HASHER_UNAVAILABLE', 'no addon', { cause })
  t.ok(err instanceof HeadframeError)
  t.equal(err.code, 'HF_HASHER_UNAVAILABLE')
  t.equal(err.name, 'HasherError')
  t.equal(err.cause, cause)

  const one = new ConfigError('HF_CONFIG_INVALID', ['a: bad'], { source: 'x.toml' })
  t.equal(one.message, 'x.toml: a: bad')
  const many = new ConfigError('HF_CONFIG_INVALID', ['a: bad', 'b: worse'])
  t.equal(many.message, 'config: 2 problems:\n  a: bad\n  b: worse')
  t.same(many.problems, ['a: bad', 'b: worse'])
  t.ok(Object.isFrozen(many.problems))
})
