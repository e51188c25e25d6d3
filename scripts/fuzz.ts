/**
 * The long fuzz run: `npm run fuzz -- --minutes 10` (build first: it runs
 * from dist/scripts). Cycles through every target in rounds of fresh
 * random seeds until the time is up, saves each failing input (shrunk) as
 * a regression file in test/fuzz/regressions/, which the CI test
 * replays, and prints a table of cases run per target.
 *
 *   --minutes N   total time (default 1)
 *   --target NAME only this target (repeatable)
 *   --seed N      first seed (default: random; printed, so a run can be repeated)
 *
 * Exits 1 when anything failed.
 */
import { parseArgs } from 'node:util'
import { runTarget, saveRegression } from './fuzz-runner.js'
import { PURE_TARGETS, type FuzzTarget } from './fuzz-targets.js'
import { sessionTarget } from './fuzz-session.js'
import { upstreamTarget } from './fuzz-upstream.js'

/** One round of one target runs at most this long, then the next target gets its turn. */
const SLICE_MS = 20_000

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { minutes: { type: 'string', default: '1' }, target: { type: 'string', multiple: true }, seed: { type: 'string' } },
  })
  const minutes = Number(values.minutes)
  if (!Number.isFinite(minutes) || minutes <= 0) throw new Error(`--minutes must be a positive number, got ${values.minutes}`)
  const session = sessionTarget()
  let targets: FuzzTarget[] = [...PURE_TARGETS, upstreamTarget, session]
  if (values.target !== undefined) {
    const wanted = new Set(values.target)
    targets = targets.filter((x) => wanted.has(x.name))
    if (targets.length === 0) throw new Error(`no such target; targets: ${[...PURE_TARGETS, upstreamTarget, session].map((x) => x.name).join(', ')}`)
  }
  let seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31)
  console.log(`fuzzing ${targets.length} targets for ${minutes} min, first seed ${seed}`)

  const totals = new Map<string, { runs: number; failures: number }>(targets.map((x) => [x.name, { runs: 0, failures: 0 }]))
  const end = Date.now() + minutes * 60_000
  while (Date.now() < end) {
    for (const target of targets) {
      const left = end - Date.now()
      if (left <= 0) break
      const result = await runTarget(target, { seed, runs: Number.MAX_SAFE_INTEGER, timeLimitMs: Math.min(SLICE_MS, left) })
      const total = totals.get(target.name) as { runs: number; failures: number }
      total.runs += result.runs
      if (result.failure !== undefined) {
        total.failures++
        const path = saveRegression(target.name, result.failure.input, result.failure.message, seed)
        console.log(`FAIL ${target.name} (seed ${seed}): ${result.failure.message.slice(0, 300)}\n  saved ${path}`)
      }
      seed = (seed + 1) % 2 ** 31
    }
  }
  await session.close()

  console.log('\n| target | cases | failures |\n|---|---:|---:|')
  let all = 0
  let failures = 0
  for (const [name, total] of totals) {
    console.log(`| ${name} | ${total.runs.toLocaleString('en')} | ${total.failures} |`)
    all += total.runs
    failures += total.failures
  }
  console.log(`| **total** | ${all.toLocaleString('en')} | ${failures} |`)
  return failures === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(2)
  },
)
