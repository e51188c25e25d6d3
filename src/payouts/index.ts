/** Payout schemes, the payout threshold and report CSV: pure functions, integer satoshis (docs/payouts.md). */
export { formatBtc, MAX_MONEY_SATS, SATS_PER_BTC } from './amount.js'
export { difficultyUnits, UNITS_PER_DIFFICULTY } from './units.js'
export { BASIS_POINTS, DEFAULT_FEE_BASIS_POINTS, poolFee } from './fee.js'
export { compareAccounts, splitProportionally, unitsByAccount, type RewardSplit, type ShareSplit, type ShareWeight } from './split.js'
export { DEFAULT_PPLNS_FACTOR, pplnsWindow, pplnsWindowUnits, splitPplns, type PplnsInput } from './pplns.js'
export { splitProp, type PropInput } from './prop.js'
export { creditPps, type PpsCarry, type PpsCredit, type PpsInput } from './pps.js'
export { splitSolo, type SoloInput } from './solo.js'
export { DEFAULT_PAYOUT_THRESHOLD_SATS, selectPayouts, type PayoutSelection } from './threshold.js'
export { csvHeaders, DEFAULT_DIFFICULTY_DIGITS, formatCsv, formatRatio, type CsvCell, type CsvColumn, type CsvOptions } from './csv.js'
// The payout loop, its senders and setup do I/O: import them from their files
// (payout-runner.ts, onchain-sender.ts, payout-setup.ts), not from here.
export { certainlyUnpaid, type PaymentStatus, type PayoutOutput, type PayoutRequest, type PayoutSender, type SentPayment } from './sender.js'
