/** Runs a fuzz target inside a tap test: a fixed seed, the target's CI case count, the count printed. */
import type { Test } from 'tap'
import { runTarget } from '../../scripts/fuzz-runner.js'
import type { FuzzTarget } from '../../scripts/fuzz-targets.js'

/** Cases run by every `fuzzInTap` in this process (printed per file). */
export const fuzzCounts = { cases: 0 }

export async function fuzzInTap(t: Test, target: FuzzTarget, seed: number): Promise<number> {
  const result = await runTarget(target, { seed })
  fuzzCounts.cases += result.runs
  t.comment(`${target.name}: ${result.runs} cases (seed ${seed})`)
  // The shrunk input is in the message: replay it with `npm run fuzz -- --target ${name} --seed ${seed}`.
  t.equal(result.failure, undefined, `${target.name} holds for every case${result.failure ? `: ${result.failure.message}\ninput: ${JSON.stringify(result.failure.input).slice(0, 2000)}` : ''}`)
  t.equal(result.runs, target.ciRuns, `${target.name} ran all its cases`)
  return result.runs
}
