/**
 * Upstream revenue (proxy mode). Headframe does not see what an upstream
 * pool pays; the operator records it per period (`headframe ledger
 * add-revenue`, or the admin route), and the reports split it over accounts
 * by the difficulty they had accepted in that period. Kept forever,
 * `up/<from>/<seq>`: ordered by the start of the period.
 */
import { type LedgerContext, corrupt, parseRecord, scan, write } from './context.js'
import { assertTime, keys, prefixRange } from './keyspace.js'
import { LedgerError } from './ledger-error.js'

export interface UpstreamRevenueInput {
  /** Satoshis earned upstream in [from, to). */
  readonly amountSats: bigint
  /** ms since the epoch, inclusive. */
  readonly from: number
  /** ms since the epoch, exclusive. */
  readonly to: number
  readonly note?: string
}

export interface UpstreamRevenue {
  /** Ledger sequence number: the record's id. */
  readonly id: number
  readonly amountSats: bigint
  readonly from: number
  readonly to: number
  readonly note: string | undefined
  /** When it was recorded (ledger clock). */
  readonly recordedAt: number
}

/** Records revenue for a period. Fsynced. */
export function addUpstreamRevenue(ctx: LedgerContext, input: UpstreamRevenueInput): Promise<UpstreamRevenue> {
  if (typeof input.amountSats !== 'bigint' || input.amountSats <= 0n) {
    throw new LedgerError('HF_LEDGER_INVALID', `upstream revenue must be a positive bigint of satoshis, got ${String(input.amountSats)}`)
  }
  assertTime(input.from, 'from')
  assertTime(input.to, 'to')
  if (input.to <= input.from) throw new LedgerError('HF_LEDGER_INVALID', 'upstream revenue period must end after it starts')
  if (input.note !== undefined && typeof input.note !== 'string') throw new LedgerError('HF_LEDGER_INVALID', 'note must be a string')
  return ctx.lock.run(async () => {
    const id = ctx.state.nextSeq
    const record: UpstreamRevenue = { id, amountSats: input.amountSats, from: input.from, to: input.to, note: input.note, recordedAt: ctx.clock() }
    await write(
      ctx,
      [
        { type: 'put', key: keys.upstream(input.from, id), value: JSON.stringify({ ...record, amountSats: record.amountSats.toString() }) },
        { type: 'put', key: keys.meta('seq'), value: String(id + 1) },
      ],
      'an upstream revenue record',
      true,
    )
    ctx.state.nextSeq = id + 1
    return record
  })
}

/** Revenue records whose period overlaps [from, to) (all when omitted), by start of period. */
export async function upstreamRevenue(ctx: LedgerContext, query: { readonly from?: number; readonly to?: number } = {}): Promise<UpstreamRevenue[]> {
  const from = query.from ?? 0
  const to = query.to ?? Number.MAX_SAFE_INTEGER
  const out: UpstreamRevenue[] = []
  for await (const [key, raw] of scan(ctx, prefixRange(keys.upstreamAll), 'reading upstream revenue')) {
    const v = parseRecord(ctx, key, raw)
    if (
      typeof v.id !== 'number' ||
      typeof v.amountSats !== 'string' ||
      !/^\d+$/.test(v.amountSats) ||
      typeof v.from !== 'number' ||
      typeof v.to !== 'number' ||
      typeof v.recordedAt !== 'number'
    ) {
      throw corrupt(ctx, key, raw)
    }
    if (v.from >= to) break
    if (v.to <= from) continue
    out.push({
      id: v.id,
      amountSats: BigInt(v.amountSats),
      from: v.from,
      to: v.to,
      note: typeof v.note === 'string' ? v.note : undefined,
      recordedAt: v.recordedAt,
    })
  }
  return out
}
