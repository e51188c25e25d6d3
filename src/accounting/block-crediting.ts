/**
 * Block maturity crediting: a found block's reward reaches balances once,
 * when it has 100 confirmations, and is taken back if the block is later
 * orphaned.
 *
 * Exactly once: the credit is one ledger posting under the ref
 * `block:<hash>:credit` (all accounts and the fee in one atomic, fsynced
 * batch), the reversal one under `block:<hash>:reversal`. A ref is applied
 * at most once by the ledger, and a block whose ref exists is skipped before
 * anything is recomputed, so restarts, repeated syncs and concurrent runs
 * never credit twice, even if retention pruning has since changed what a
 * recomputation would give.
 *
 * The split (src/payouts/, docs/payouts.md), `sum(credits) + fee === reward`:
 * - pplns: the last `factor × network difficulty` of share difficulty up to
 *   the block's own share (`Ledger.pplnsWindow`), network difficulty from
 *   the block header's nBits;
 * - prop: the block's round, plus the rounds before it whose closing block
 *   was rejected or orphaned (their shares were never paid);
 * - solo: the finder's account;
 * - pps: miners were paid per share already (pps-crediting.ts), so the whole
 *   reward goes to the treasury account.
 * A block that cannot be split by its scheme (not linked to a round, no
 * shares in the window: blocks imported from before the ledger) is
 * credited SOLO to its finder, and the log says so.
 *
 * Reversal never takes a balance below zero: each account gives back what
 * it was credited, or its whole balance if it has less (the difference was
 * already paid out). The shortfall is written off, not carried as debt: it
 * is named in the reversal's journal note, logged at error level, and the
 * blocks report shows it (`unrecovered`).
 */
import type { BlockStatus, JournalEntry, Ledger, LedgerBlock, PostingEntry } from '../ledger/index.js'
import type { Logger } from '../log.js'
import { DEFAULT_PAYOUT_OPTIONS, type PayoutOptions, type PayoutScheme } from './payout-options.js'
import { COINBASE_MATURITY } from './chain-values.js'
import { poolFee } from '../payouts/fee.js'
import { pplnsWindowUnits, splitPplns } from '../payouts/pplns.js'
import { splitProp } from '../payouts/prop.js'
import { splitSolo } from '../payouts/solo.js'
import type { RewardSplit } from '../payouts/split.js'

/** The idempotency ref of a block's credit posting. */
export const blockCreditRef = (hash: string): string => `block:${hash}:credit`
/** The idempotency ref of a block's reversal posting. */
export const blockReversalRef = (hash: string): string => `block:${hash}:reversal`

/** Most earlier rounds a PROP split gathers (rounds closed by rejected or orphaned blocks). */
const MAX_PROP_ROUNDS = 10_000

export interface BlockCreditingOptions extends Pick<PayoutOptions, 'scheme' | 'pplnsFactor' | 'feeBasisPoints' | 'treasury'> {
  /** The network difficulty the block was found at; undefined when unknown (PPLNS then waits). */
  readonly networkDifficulty?: (block: LedgerBlock) => number | undefined
  readonly log?: Logger | undefined
}

/** How a block was (or would be) split. */
export interface BlockSplit extends RewardSplit {
  /** The scheme actually used (`solo` for a fallback). */
  readonly scheme: PayoutScheme
  /** Why the configured scheme was not used, if it was not. */
  readonly fallback: string | undefined
}

/** What one crediting pass did. */
export interface CreditingPass {
  /** Hashes credited now. */
  readonly credited: string[]
  /** Hashes reversed now. */
  readonly reversed: string[]
  /** Blocks due but not credited this time, and why (retried next pass). */
  readonly waiting: { hash: string; reason: string }[]
}

/** A block is mature when bitcoind marked it confirmed or it has 100 confirmations. */
export function isMature(block: { readonly status: BlockStatus; readonly confirmations: number }): boolean {
  return block.status === 'confirmed' || (block.status === 'accepted' && block.confirmations >= COINBASE_MATURITY)
}

/** The credit entries of a split: accounts by name, then the fee to the treasury; no zero entries. */
export function splitEntries(split: RewardSplit, treasury: string): PostingEntry[] {
  const entries: PostingEntry[] = [...split.credits].map(([account, amount]) => ({ account, amount }))
  if (split.fee > 0n) entries.push({ account: treasury, amount: split.fee })
  return entries.filter((e) => e.amount > 0n)
}

/** Splits a block's reward by the configured scheme (see the module comment). */
export async function splitBlock(ledger: Ledger, block: LedgerBlock, options: BlockCreditingOptions): Promise<BlockSplit | { wait: string }> {
  const { feeBasisPoints } = options
  const solo = (fallback: string | undefined): BlockSplit => ({ ...splitSolo({ reward: block.reward, finder: block.account, feeBasisPoints }), scheme: 'solo', fallback })
  switch (options.scheme) {
    case 'solo':
      return solo(undefined)
    case 'pps': {
      // Everything to the treasury: the fee, and the rest, which paid for the shares already credited.
      const fee = poolFee(block.reward, feeBasisPoints)
      const rest = block.reward - fee
      return { fee, credits: rest > 0n ? new Map([[options.treasury, rest]]) : new Map(), scheme: 'pps', fallback: undefined }
    }
    case 'prop': {
      if (block.round === undefined) return solo('the block is not linked to a round')
      const units = new Map<string, bigint>()
      let round = block.round
      for (let taken = 0; round >= 1 && taken < MAX_PROP_ROUNDS; taken++, round--) {
        const totals = await ledger.roundTotals(round)
        if (totals === undefined) break
        if (round !== block.round) {
          const closer = totals.closedBy?.block
          const closedBy = closer === undefined ? undefined : await ledger.block(closer)
          if (closer !== undefined && closedBy !== undefined && closedBy.status !== 'rejected' && closedBy.status !== 'orphaned') break
        }
        for (const [account, u] of totals.accounts) units.set(account, (units.get(account) ?? 0n) + u)
      }
      if (units.size === 0) return solo('its round holds no shares')
      return { ...splitProp({ reward: block.reward, shares: [...units].map(([account, u]) => ({ account, units: u })), feeBasisPoints }), scheme: 'prop', fallback: undefined }
    }
    case 'pplns': {
      const difficulty = options.networkDifficulty?.(block)
      if (difficulty === undefined || !(difficulty > 0)) return { wait: 'the network difficulty of the block is unknown' }
      const window = await ledger.pplnsWindow({ block: block.hash, difficulty: difficulty * options.pplnsFactor })
      if (window.total === 0n) return solo('the PPLNS window holds no shares')
      const windowUnits = pplnsWindowUnits(difficulty, options.pplnsFactor)
      const shares = [...window.accounts].map(([account, units]) => ({ account, units }))
      return { ...splitPplns({ reward: block.reward, shares, windowUnits: windowUnits > window.total ? windowUnits : window.total, feeBasisPoints }), scheme: 'pplns', fallback: undefined }
    }
  }
}

/**
 * Credits every mature block not credited yet and reverses every credited
 * block now orphaned. Safe to run at any time, repeatedly, concurrently.
 */
export async function creditBlocks(ledger: Ledger, options: BlockCreditingOptions = DEFAULT_PAYOUT_OPTIONS): Promise<CreditingPass> {
  const pass: CreditingPass = { credited: [], reversed: [], waiting: [] }
  for (const block of await ledger.blocks()) {
    try {
      if (isMature(block)) {
        if ((await ledger.posting(blockCreditRef(block.hash))) !== undefined) continue
        if (await creditBlock(ledger, block, options, pass)) pass.credited.push(block.hash)
      } else if (block.status === 'orphaned') {
        const credit = await ledger.posting(blockCreditRef(block.hash))
        if (credit === undefined || (await ledger.posting(blockReversalRef(block.hash))) !== undefined) continue
        await reverseBlock(ledger, block, credit, options)
        pass.reversed.push(block.hash)
      }
    } catch (err) {
      // One block failing (a payout debiting the same balance meanwhile, a write error) must not stop the others.
      pass.waiting.push({ hash: block.hash, reason: (err as Error).message })
      options.log?.error({ err, hash: block.hash, height: block.height }, `crediting block ${block.height} failed; retried next pass`)
    }
  }
  return pass
}

async function creditBlock(ledger: Ledger, block: LedgerBlock, options: BlockCreditingOptions, pass: CreditingPass): Promise<boolean> {
  const split = await splitBlock(ledger, block, options)
  if ('wait' in split) {
    pass.waiting.push({ hash: block.hash, reason: split.wait })
    options.log?.warn({ hash: block.hash, height: block.height }, `block ${block.height} is mature but not credited yet: ${split.wait}`)
    return false
  }
  const entries = splitEntries(split, options.treasury)
  const scheme = split.fallback === undefined ? split.scheme : `solo (${split.fallback})`
  await ledger.post(entries, { ref: blockCreditRef(block.hash), note: `block ${block.height} ${block.hash} matured: ${scheme}` })
  options.log?.[split.fallback === undefined ? 'info' : 'warn'](
    { hash: block.hash, height: block.height, reward: block.reward.toString(), fee: split.fee.toString(), accounts: split.credits.size, scheme: split.scheme, fallback: split.fallback },
    `block ${block.height} credited (${scheme})`,
  )
  return true
}

/** Takes back what `credit` gave, clamped to each balance (see the module comment). */
async function reverseBlock(ledger: Ledger, block: LedgerBlock, credit: readonly JournalEntry[], options: BlockCreditingOptions): Promise<void> {
  const owed = new Map<string, bigint>()
  for (const e of credit) owed.set(e.account, (owed.get(e.account) ?? 0n) + e.amount)
  const entries: PostingEntry[] = []
  const short: string[] = []
  let unrecovered = 0n
  for (const [account, amount] of owed) {
    const balance = await ledger.balance(account)
    const take = balance < amount ? balance : amount
    if (take > 0n) entries.push({ account, amount: -take })
    if (take < amount) {
      short.push(`${account} ${amount - take}`)
      unrecovered += amount - take
    }
  }
  const note = `block ${block.height} ${block.hash} orphaned: credit reversed${short.length > 0 ? `; already paid out, not recovered: ${short.join(', ')} sats` : ''}`
  await ledger.post(entries, { ref: blockReversalRef(block.hash), note })
  const log = { hash: block.hash, height: block.height, unrecovered: unrecovered.toString() }
  if (unrecovered > 0n) options.log?.error(log, `block ${block.height} orphaned after crediting: ${unrecovered} sats were already paid out and are written off`)
  else options.log?.warn(log, `block ${block.height} orphaned after crediting: credit reversed`)
}
