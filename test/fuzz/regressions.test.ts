/**
 * Replays every saved fuzz regression case (test/fuzz/regressions/*.json,
 * written by `npm run fuzz` when a property broke) against its target, and
 * checks the runner that finds and saves them.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { loadRegressions, runTarget, saveRegression } from '../../scripts/fuzz-runner.js'
import { PURE_TARGETS, type FuzzTarget } from '../../scripts/fuzz-targets.js'
import { sessionTarget } from '../../scripts/fuzz-session.js'
import { upstreamTarget } from '../../scripts/fuzz-upstream.js'

const session = sessionTarget()
const TARGETS = new Map<string, FuzzTarget>([...PURE_TARGETS, upstreamTarget as FuzzTarget, session].map((x) => [x.name, x]))
t.teardown(() => session.close())

const cases = loadRegressions()
t.ok(cases.length > 0, `${cases.length} saved regression cases`)
for (const c of cases) {
  t.test(`${c.file}: ${c.message.slice(0, 100)}`, async (t) => {
    const target = TARGETS.get(c.target)
    if (target === undefined) return t.fail(`no fuzz target named ${c.target}`)
    // Passes once the bug is fixed; throws (the property's message) while it is not.
    await t.resolves(async () => target.check(c.input as never))
  })
}

t.test('the runner shrinks a failure, saves it, and loads it back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hf-fuzz-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const broken: FuzzTarget<number> = {
    name: 'toy',
    ciRuns: 1000,
    arbitrary: fc.integer({ min: 0, max: 1_000_000 }),
    check: (n) => {
      if (n >= 1234) throw new Error(`too big: ${n}`)
    },
  }
  const result = await runTarget(broken, { seed: 42 })
  t.equal(result.failure?.input, 1234, 'shrunk to the smallest failing input')
  t.match(result.failure?.message, /^Error: too big: 1234/)
  const path = saveRegression('toy', result.failure?.input, result.failure?.message ?? '', 42, dir)
  t.match(path, /toy-[0-9a-f]{12}\.json$/)
  t.same(
    loadRegressions(dir).map((c) => [c.target, c.input, c.seed]),
    [['toy', 1234, 42]],
  )
  t.same(loadRegressions(join(dir, 'missing')), [], 'no folder: no cases')

  const timed = await runTarget({ ...broken, check: () => {} }, { seed: 1, runs: 1e9, timeLimitMs: 50 })
  t.ok(timed.runs > 0 && timed.runs < 1e9 && timed.failure === undefined, `a time limit stops the run cleanly (${timed.runs} cases)`)
})
