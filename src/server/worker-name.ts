/**
 * Worker names as miners send them in `mining.authorize`: `account.worker`.
 * The account is whom the ledger credits; the worker part names one
 * machine for its stats. A name without a dot is an account whose worker
 * is `default` (many farms set only the account).
 */
import { StringPool } from './string-pool.js'

export interface WorkerName {
  /** As authorized, e.g. `farm1.s19-042`. */
  readonly full: string
  readonly account: string
  readonly worker: string
}

/** Letters, digits and `-_.@:`; accounts may be Bitcoin addresses. */
const NAME = /^[A-Za-z0-9_@:-]{1,64}(\.[A-Za-z0-9_.@:-]{1,64})?$/

export const DEFAULT_WORKER = 'default'

/** Account names shared by the workers that authorize under the same one (a farm's machines). */
const accounts = new StringPool(4096)

/** Parses `account[.worker]`; undefined when malformed. */
export function parseWorkerName(user: string): WorkerName | undefined {
  if (!NAME.test(user)) return undefined
  const dot = user.indexOf('.')
  if (dot < 0) return { full: user, account: user, worker: DEFAULT_WORKER }
  const worker = user.slice(dot + 1)
  return { full: user, account: accounts.intern(user.slice(0, dot)), worker }
}
