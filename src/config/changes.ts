/**
 * What a config reload (SIGHUP) changes: the dotted keys whose values
 * differ, and which of them the running pool can apply without a restart.
 * Only key names are compared and reported, never values, so a changed
 * secret is named in the log but not shown.
 */
import type { Config } from './schema.js'

/**
 * Keys (or key prefixes ending in `.`) a running pool applies on reload:
 * vardiff for new sessions, Stratum authorization, and the limits, with
 * the allowed / trusted address lists and the ban length; the log level
 * (every component's logger follows the root's, pino children made
 * without a level of their own read it from the root).
 */
export const LIVE_KEYS: readonly string[] = ['vardiff.', 'stratum.auth.', 'stratum.limits.', 'log.level']

/** The dotted paths of leaves that differ between `a` and `b`; arrays count as one leaf. */
export function changedKeys(a: unknown, b: unknown, prefix = ''): string[] {
  if (isTable(a) && isTable(b)) {
    const names = new Set([...Object.keys(a), ...Object.keys(b)])
    return [...names].sort().flatMap((name) => changedKeys(a[name], b[name], prefix === '' ? name : `${prefix}.${name}`))
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix]
}

/** Whether a changed key takes effect live. */
export function isLiveKey(key: string): boolean {
  return LIVE_KEYS.some((live) => key.startsWith(live))
}

/** A reload's plan: what is applied now and what waits for a restart. */
export interface ReloadPlan {
  readonly applied: string[]
  readonly needsRestart: string[]
}

/** Splits the changes from `running` to `next` into live and restart-only keys. */
export function reloadPlan(running: Config, next: Config): ReloadPlan {
  const applied: string[] = []
  const needsRestart: string[] = []
  for (const key of changedKeys(running, next)) (isLiveKey(key) ? applied : needsRestart).push(key)
  return { applied, needsRestart }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
