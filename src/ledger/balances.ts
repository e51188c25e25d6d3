/**
 * Balances and their journal, in integer satoshis (bigint; stored as
 * decimal strings, JSON having no bigint).
 *
 * Every change of a balance is a journal entry written in the same batch as
 * the new balance, so the journal always explains the balance. A posting
 * (one or more entries) is applied whole or not at all, and never leaves a
 * balance below zero: the check runs before anything is written, under the
 * write lock, so two postings cannot both spend the same satoshis.
 *
 * Idempotency: a posting may carry a `ref` (say `block:<hash>:pplns` or
 * `payout:<batch id>`). A ref is applied once; posting it again returns the
 * entries written the first time, and posting it with different entries is
 * an `HF_LEDGER_CONFLICT`. That is what lets maturity crediting and payouts
 * retry after a crash without paying twice. Postings are fsynced always:
 * they are few and they are money.
 */
import { type BatchOp, type LedgerContext, corrupt, get, getMany, parseRecord, scan, write } from './context.js'
import { assertName, keys, prefixRange } from './keyspace.js'
import { LedgerError } from './ledger-error.js'

/** One line of a posting: a signed amount (credit > 0, debit < 0). */
export interface PostingEntry {
  readonly account: string
  readonly amount: bigint
}

export interface PostingOptions {
  /** Idempotency reference: the posting is applied at most once under it. */
  readonly ref?: string
  readonly note?: string
  /** Runs under the write lock before anything else (before the ref is looked up): throwing refuses the posting, nothing written. */
  readonly precheck?: () => Promise<void>
}

/** A journal entry as stored. */
export interface JournalEntry {
  readonly seq: number
  /** ms since the epoch (the ledger clock). */
  readonly time: number
  readonly account: string
  /** Signed satoshis: credit > 0, debit < 0. */
  readonly amount: bigint
  /** The account's balance after this entry. */
  readonly balance: bigint
  readonly ref: string | undefined
  readonly note: string | undefined
}

function encodeEntry(entry: JournalEntry): string {
  return JSON.stringify({ ...entry, amount: entry.amount.toString(), balance: entry.balance.toString() })
}

function decodeEntry(ctx: LedgerContext, key: string, raw: string): JournalEntry {
  const v = parseRecord(ctx, key, raw)
  if (
    typeof v.seq !== 'number' ||
    typeof v.time !== 'number' ||
    typeof v.account !== 'string' ||
    typeof v.amount !== 'string' ||
    !/^-?\d+$/.test(v.amount) ||
    typeof v.balance !== 'string' ||
    !/^\d+$/.test(v.balance)
  ) {
    throw corrupt(ctx, key, raw)
  }
  return {
    seq: v.seq,
    time: v.time,
    account: v.account,
    amount: BigInt(v.amount),
    balance: BigInt(v.balance),
    ref: typeof v.ref === 'string' ? v.ref : undefined,
    note: typeof v.note === 'string' ? v.note : undefined,
  }
}

function decodeBalance(ctx: LedgerContext, key: string, raw: string | undefined): bigint {
  if (raw === undefined) return 0n
  if (!/^\d+$/.test(raw)) throw corrupt(ctx, key, raw)
  return BigInt(raw)
}

/** An account's balance, satoshis (0 for an account never credited). */
export async function balance(ctx: LedgerContext, account: string): Promise<bigint> {
  assertName(account, 'account')
  const key = keys.balance(account)
  return decodeBalance(ctx, key, await get(ctx, key))
}

/** Every account with a balance record (zero balances included), by name. */
export async function balances(ctx: LedgerContext): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>()
  for await (const [key, raw] of scan(ctx, prefixRange(keys.balancesAll), 'reading balances')) {
    out.set(key.slice(keys.balancesAll.length), decodeBalance(ctx, key, raw))
  }
  return out
}

function validate(entries: readonly PostingEntry[], options: PostingOptions): void {
  // An empty posting is allowed under a ref: it marks the ref as done (say, a reversal with nothing left to take back).
  if (entries.length === 0 && options.ref === undefined) throw new LedgerError('HF_LEDGER_INVALID', 'a posting needs at least one entry (or a ref)')
  for (const e of entries) {
    assertName(e.account, 'account')
    if (typeof e.amount !== 'bigint' || e.amount === 0n) {
      throw new LedgerError('HF_LEDGER_INVALID', `amount for ${e.account} must be a non-zero bigint of satoshis, got ${String(e.amount)}`)
    }
  }
  if (options.ref !== undefined && (typeof options.ref !== 'string' || options.ref.length === 0 || options.ref.length > 256)) {
    throw new LedgerError('HF_LEDGER_INVALID', 'a posting ref must be a string of 1-256 characters')
  }
  if (options.note !== undefined && typeof options.note !== 'string') throw new LedgerError('HF_LEDGER_INVALID', 'a posting note must be a string')
}

const sameEntries = (a: readonly PostingEntry[], b: readonly PostingEntry[]): boolean =>
  a.length === b.length && a.every((e, i) => e.account === b[i]?.account && e.amount === b[i]?.amount)

/**
 * Applies a posting atomically: every entry, or none.
 * @throws LedgerError `HF_LEDGER_BALANCE` if an entry would take a balance
 * below zero; `HF_LEDGER_CONFLICT` if `ref` was used for different entries.
 */
export function post(
  ctx: LedgerContext,
  entries: readonly PostingEntry[],
  options: PostingOptions = {},
  /** More operations written in the same atomic batch (a payout batch record); not written when `ref` was already applied. */
  extra: readonly BatchOp[] = [],
): Promise<JournalEntry[]> {
  validate(entries, options)
  const list = entries.map((e) => ({ account: e.account, amount: e.amount }))
  return ctx.lock.run(async () => {
    await options.precheck?.()
    if (options.ref !== undefined) {
      const done = await get(ctx, keys.ref(options.ref))
      if (done !== undefined) {
        const previous = await entriesOf(ctx, keys.ref(options.ref), done)
        if (!sameEntries(previous, list)) {
          throw new LedgerError('HF_LEDGER_CONFLICT', `posting ref ${JSON.stringify(options.ref)} was already used for different entries`, { path: ctx.path })
        }
        return previous
      }
    }
    const accounts = [...new Set(list.map((e) => e.account))]
    const stored = await getMany(ctx, accounts.map(keys.balance))
    const current = new Map(accounts.map((a, i) => [a, decodeBalance(ctx, keys.balance(a), stored[i])]))
    const now = ctx.clock()
    let seq = ctx.state.nextSeq
    const ops: BatchOp[] = []
    const written: JournalEntry[] = []
    for (const e of list) {
      const next = (current.get(e.account) ?? 0n) + e.amount
      if (next < 0n) {
        throw new LedgerError(
          'HF_LEDGER_BALANCE',
          `debiting ${-e.amount} sats from ${e.account} would leave ${next} (balance ${current.get(e.account) ?? 0n}); nothing was written`,
          { path: ctx.path },
        )
      }
      current.set(e.account, next)
      const entry: JournalEntry = { seq, time: now, account: e.account, amount: e.amount, balance: next, ref: options.ref, note: options.note }
      const value = encodeEntry(entry)
      ops.push({ type: 'put', key: keys.journal(seq), value }, { type: 'put', key: keys.journalOf(e.account, seq), value })
      written.push(entry)
      seq++
    }
    for (const [account, value] of current) ops.push({ type: 'put', key: keys.balance(account), value: value.toString() })
    if (options.ref !== undefined) ops.push({ type: 'put', key: keys.ref(options.ref), value: JSON.stringify(written.map((e) => e.seq)) })
    ops.push({ type: 'put', key: keys.meta('seq'), value: String(seq) }, ...extra)
    await write(ctx, ops, `a posting of ${list.length} entries`, true)
    ctx.state.nextSeq = seq
    return written
  })
}

async function entriesOf(ctx: LedgerContext, refKey: string, raw: string): Promise<JournalEntry[]> {
  let seqs: unknown
  try {
    seqs = JSON.parse(raw)
  } catch {
    throw corrupt(ctx, refKey, raw)
  }
  if (!Array.isArray(seqs) || !seqs.every((s) => typeof s === 'number')) throw corrupt(ctx, refKey, raw)
  const journalKeys = (seqs).map(keys.journal)
  const values = await getMany(ctx, journalKeys)
  return values.map((v, i) => {
    const key = journalKeys[i] as string
    if (v === undefined) throw corrupt(ctx, refKey, `${raw} (no ${key})`)
    return decodeEntry(ctx, key, v)
  })
}

/** The entries a posting under `ref` wrote, or undefined if `ref` was never posted. */
export async function postingByRef(ctx: LedgerContext, ref: string): Promise<JournalEntry[] | undefined> {
  const key = keys.ref(ref)
  const raw = await get(ctx, key)
  return raw === undefined ? undefined : entriesOf(ctx, key, raw)
}

/** Journal entries in order, of one account or of all. */
export async function* journal(ctx: LedgerContext, query: { readonly account?: string } = {}): AsyncGenerator<JournalEntry> {
  if (query.account !== undefined) assertName(query.account, 'account')
  const prefix = query.account === undefined ? keys.journalAll : keys.journalsOf(query.account)
  for await (const [key, raw] of scan(ctx, prefixRange(prefix), 'reading the journal')) yield decodeEntry(ctx, key, raw)
}
