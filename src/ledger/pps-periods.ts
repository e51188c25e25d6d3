/**
 * PPS period records, `pp/<period start>`: what one PPS crediting period
 * used and produced (its inputs, credits and the carried fractions), as an
 * opaque JSON text the crediting module (src/accounting/pps-crediting.ts)
 * writes and reads. The ledger keeps them forever, fsynced, in start order;
 * the last one holds the carry the next period starts from.
 */
import { type LedgerContext, scan, write } from './context.js'
import { assertTime, keys, prefixRange } from './keyspace.js'

export interface PpsPeriodRecord {
  /** Period start, ms since the epoch. */
  readonly start: number
  /** The record, JSON. */
  readonly json: string
}

/** Writes (or rewrites) a period record. Fsynced. */
export function putPpsPeriod(ctx: LedgerContext, record: PpsPeriodRecord): Promise<void> {
  assertTime(record.start, 'PPS period start')
  return ctx.lock.run(() => write(ctx, [{ type: 'put', key: keys.ppsPeriod(record.start), value: record.json }], `PPS period ${record.start}`, true))
}

/** Period records, oldest first; newest first with `reverse`; at most `limit`. */
export async function ppsPeriods(ctx: LedgerContext, options: { readonly reverse?: boolean; readonly limit?: number } = {}): Promise<PpsPeriodRecord[]> {
  const out: PpsPeriodRecord[] = []
  const range = { ...prefixRange(keys.ppsPeriodsAll), reverse: options.reverse ?? false, ...(options.limit === undefined ? {} : { limit: options.limit }) }
  for await (const [key, json] of scan(ctx, range, 'reading PPS periods')) out.push({ start: parseInt(key.slice(3), 16), json })
  return out
}
