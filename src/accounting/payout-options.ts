/**
 * The `[payouts]` config section as the crediting code takes it: the fee in
 * basis points, amounts as bigint, periods in ms.
 */
import type { PayoutsConfig } from '../config/index.js'

export type PayoutScheme = 'pplns' | 'prop' | 'pps' | 'solo'

export interface PayoutOptions {
  readonly scheme: PayoutScheme
  /** PPLNS window = factor × network difficulty. */
  readonly pplnsFactor: number
  /** Pool fee, basis points (200 = 2 %). */
  readonly feeBasisPoints: number
  /** The account fees (and PPS block rewards) are credited to. */
  readonly treasury: string
  readonly thresholdSats: bigint
  /** PPS crediting period, ms. */
  readonly ppsPeriodMs: number
}

/** Defaults of the config schema, for tests and embedding. */
export const DEFAULT_PAYOUT_OPTIONS: PayoutOptions = {
  scheme: 'pplns',
  pplnsFactor: 2,
  feeBasisPoints: 200,
  treasury: 'treasury',
  thresholdSats: 100_000n,
  ppsPeriodMs: 600_000,
}

export function payoutOptions(config: PayoutsConfig): PayoutOptions {
  return {
    scheme: config.scheme,
    pplnsFactor: config.pplns_factor,
    feeBasisPoints: Math.round(config.fee_percent * 100),
    treasury: config.treasury_account,
    thresholdSats: BigInt(config.threshold_sats),
    ppsPeriodMs: config.pps_period_minutes * 60_000,
  }
}
