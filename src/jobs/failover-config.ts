/**
 * `[failover]` and `[[sources]]` as the failover source needs them: the
 * options from the config, and the checks the schema alone cannot make
 * (source names routed by, timeouts against refresh intervals), so
 * `check-config` reports what `run` would trip over.
 */
import type { Config, FailoverConfig } from '../config/index.js'

/** The failover timings of a validated config, in ms. */
export function failoverOptions(f: FailoverConfig): { checkIntervalMs: number; noWorkTimeoutMs: number; holdDownMs: number; failGraceMs: number } {
  return { checkIntervalMs: f.check_interval_ms, noWorkTimeoutMs: f.no_work_timeout_s * 1000, holdDownMs: f.hold_down_s * 1000, failGraceMs: f.fail_grace_ms }
}

/** Every problem of the sources seen together, one line each (empty when fine). */
export function failoverProblems(config: Config): string[] {
  const problems: string[] = []
  const seen = new Map<string, number>()
  config.sources.forEach((source, i) => {
    // Blocks and shares go back to the source named in their work.
    const first = seen.get(source.name)
    if (first !== undefined) {
      problems.push(`sources.${i}.name: ${JSON.stringify(source.name)} is already the name of sources.${first}; give every source its own name`)
    } else {
      seen.set(source.name, i)
    }
    // A template refresh is new work: a longer refresh than the timeout would flap the source.
    if ('refresh_s' in source && source.refresh_s >= config.failover.no_work_timeout_s) {
      problems.push(
        `sources.${i}.refresh_s: ${source.refresh_s} s is not below failover.no_work_timeout_s (${config.failover.no_work_timeout_s} s); the source would be judged without work between refreshes`,
      )
    }
  })
  return problems
}
