/** Crediting balances from blocks and shares (docs/payouts.md "Crediting"). */
export { Accounting, type AccountingOptions, type AccountingPass } from './accounting.js'
export { blockCreditRef, blockReversalRef, creditBlocks, isMature, splitBlock, splitEntries, type BlockCreditingOptions, type BlockSplit, type CreditingPass } from './block-crediting.js'
export { COINBASE_MATURITY, blockSubsidy, networkDifficultyFromBits, networkDifficultyFromBlockHex } from './chain-values.js'
export { DEFAULT_PAYOUT_OPTIONS, payoutOptions, type PayoutOptions, type PayoutScheme } from './payout-options.js'
export { creditPpsPeriods, pausePps, ppsRef, type PpsCreditingOptions, type PpsInputs } from './pps-crediting.js'
export { splitUpstreamRevenue, type RevenueShare, type UpstreamRevenueSplit } from './upstream-split.js'
