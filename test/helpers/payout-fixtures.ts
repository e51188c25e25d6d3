/** Shared pieces of the payout-sending tests: regtest addresses, a sender on a fake wallet, a crash. */
import { createHash } from 'node:crypto'
import { bech32 } from 'bech32'
import { OnchainSender } from '../../src/payouts/onchain-sender.js'
import type { FakeWallet } from './fake-wallet.js'

/** A valid regtest P2WPKH address derived from `seed` (deterministic). */
export function regtestAddress(seed: string): string {
  const program = createHash('sha256').update(seed).digest().subarray(0, 20)
  return bech32.encode('bcrt', [0, ...bech32.toWords(program)])
}

/** An onchain sender paying from `wallet` (fast retries, short timeout). */
export function walletSender(wallet: FakeWallet, options: { timeoutMs?: number; pageSize?: number; walletName?: string } = {}): OnchainSender {
  return new OnchainSender({
    rpc: { url: wallet.url, auth: { user: 'rpc', password: 'secret' }, timeoutMs: options.timeoutMs ?? 5000, retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2 } },
    wallet: options.walletName ?? 'pool',
    pageSize: options.pageSize ?? 100,
  })
}

/** Thrown by a test's fault hook: the runner stops there as if the process died. */
export class Crash extends Error {
  constructor(readonly point: string) {
    super(`simulated crash at ${point}`)
  }
}
