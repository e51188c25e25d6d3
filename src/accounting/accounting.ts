/**
 * The crediting step the pool runs after each found-block sync (at start,
 * after each block, every minute): matured blocks credited, orphaned ones
 * reversed (block-crediting.ts), and under PPS the finished share periods
 * credited (pps-crediting.ts). Passes never overlap; a failing pass is
 * logged and the next one retries (every step is idempotent).
 */
import type { Ledger, LedgerBlock } from '../ledger/index.js'
import type { Logger } from '../log.js'
import { type CreditingPass, creditBlocks } from './block-crediting.js'
import type { PayoutOptions } from './payout-options.js'
import { type PpsInputs, creditPpsPeriods, pausePps } from './pps-crediting.js'

export interface AccountingOptions extends PayoutOptions {
  /** The network difficulty a block was found at (from its header), if known. */
  readonly networkDifficulty: (block: LedgerBlock) => number | undefined
  /** PPS: what a share is worth now (current work), if known. */
  readonly ppsInputs: () => PpsInputs | undefined
  readonly clock?: () => number
  readonly log?: Logger | undefined
}

export interface AccountingPass extends CreditingPass {
  /** PPS periods credited. */
  readonly ppsPeriods: number
}

export class Accounting {
  private chain: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly ledger: Ledger,
    private readonly options: AccountingOptions,
  ) {}

  /** One crediting pass, after any pass still running. Never rejects: failures are logged (undefined). */
  run(): Promise<AccountingPass | undefined> {
    const pass = this.chain.then(() => this.pass()).catch((err: unknown) => {
      this.options.log?.error({ err }, 'crediting pass failed; the next one retries')
      return undefined
    })
    this.chain = pass
    return pass
  }

  private async pass(): Promise<AccountingPass> {
    const o = this.options
    const blocks = await creditBlocks(this.ledger, o)
    const clock = o.clock ?? Date.now
    if (o.scheme !== 'pps') {
      await pausePps(this.ledger, { ...o, clock })
      return { ...blocks, ppsPeriods: 0 }
    }
    return { ...blocks, ppsPeriods: await creditPpsPeriods(this.ledger, { ...o, inputs: o.ppsInputs, clock }) }
  }
}
