/**
 * Runs fuzz targets with fast-check and keeps what they find: a failing
 * input (shrunk to a small one) is written to test/fuzz/regressions/ as a
 * JSON file named after the target and the input's hash, and every such
 * file is replayed by the CI fuzz test (test/fuzz/regressions.test.ts), so
 * a bug found once stays found.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { PACKAGE_ROOT } from '../src/package-info.js'
import type { FuzzTarget } from './fuzz-targets.js'

/** Where regression cases live. */
export const REGRESSIONS_DIR = join(PACKAGE_ROOT, 'test', 'fuzz', 'regressions')

/** A saved failing input. */
export interface RegressionCase {
  readonly target: string
  readonly input: unknown
  /** What broke when it was found. */
  readonly message: string
  readonly seed: number
  readonly found: string
}

export interface RunOptions {
  readonly seed: number
  /** Cases to run (default: the target's CI count). */
  readonly runs?: number
  /** Stop after this long (ms), whatever `runs` says. */
  readonly timeLimitMs?: number
}

export interface RunResult {
  readonly target: string
  /** Cases actually run. */
  readonly runs: number
  readonly seed: number
  /** The shrunk failing input and its message, when the property broke. */
  readonly failure?: { readonly input: unknown; readonly message: string }
}

/** Runs one target; never throws for a failing property (the result says so). */
export async function runTarget(target: FuzzTarget, options: RunOptions): Promise<RunResult> {
  const parameters: fc.Parameters<[unknown]> = {
    seed: options.seed,
    numRuns: options.runs ?? target.ciRuns,
    ...(options.timeLimitMs !== undefined ? { interruptAfterTimeLimit: options.timeLimitMs, markInterruptAsFailure: false } : {}),
  }
  const details = target.async
    ? await fc.check(
        fc.asyncProperty(target.arbitrary, async (input) => {
          await target.check(input)
        }),
        parameters,
      )
    : fc.check(
        fc.property(target.arbitrary, (input) => {
          // The check's own return value is not a verdict: only a throw fails it.
          void target.check(input)
        }),
        parameters,
      )
  const result: RunResult = { target: target.name, runs: details.numRuns, seed: options.seed }
  if (!details.failed || details.counterexample === null) return result
  const err = details.errorInstance
  const message = err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)
  return { ...result, failure: { input: details.counterexample[0], message } }
}

/** Writes a failing input as a regression file; returns its path. */
export function saveRegression(target: string, input: unknown, message: string, seed: number, dir = REGRESSIONS_DIR): string {
  mkdirSync(dir, { recursive: true })
  const text = JSON.stringify(input)
  const hash = createHash('sha256').update(`${target}\n${text}`).digest('hex').slice(0, 12)
  const path = join(dir, `${target}-${hash}.json`)
  const record: RegressionCase = { target, input, message: message.slice(0, 2000), seed, found: new Date().toISOString() }
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`)
  return path
}

/** Every saved regression case, with its file name. */
export function loadRegressions(dir = REGRESSIONS_DIR): (RegressionCase & { readonly file: string })[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((file) => ({ ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as RegressionCase), file }))
}
