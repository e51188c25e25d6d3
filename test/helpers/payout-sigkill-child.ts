/**
 * Child process of payout-sigkill.test.ts (not a test itself): opens the
 * ledger, then forever credits random earnings to six accounts and runs the
 * payout loop against the parent's fake wallet. The parent kills it with
 * SIGKILL at seeded moments (on a timer, or the instant the wallet receives
 * a sendmany or listtransactions from it). Run as plain JavaScript
 * transpiled by the test, like ledger-crash-child.ts.
 *
 *   payout-sigkill-child.ts <ledger path> <wallet url> <seed>
 */
import { Ledger } from '../../src/ledger/index.js'
import { OnchainSender } from '../../src/payouts/onchain-sender.js'
import { PayoutRunner } from '../../src/payouts/payout-runner.js'
import { regtestAddress } from './payout-fixtures.js'
import { prng } from './prng.js'

const [path, url, seed] = process.argv.slice(2)
if (path === undefined || url === undefined || seed === undefined) {
  console.log('1..0 # helper process of payout-sigkill.test.ts, run with <path> <wallet url> <seed>')
  process.exit(0)
}
const ledger = await Ledger.open({ path, sync: false, retentionDays: 90, groupCommitMs: 1, pruneIntervalMs: 0 })
const sender = new OnchainSender({ rpc: { url, auth: { user: 'rpc', password: 'secret' }, timeoutMs: 2000, retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2 } }, wallet: 'pool', pageSize: 5 })
const accounts = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5']
const runner = new PayoutRunner({ ledger, sender, thresholdSats: 100_000n, addressOf: (a) => regtestAddress(`sigkill/${a}`), maxOutputs: 2, reconcileGraceMs: 0 })
process.stdout.write('ready\n')
const rand = prng(Number(seed))
for (;;) {
  for (const a of accounts) if (rand() < 0.5) await ledger.credit(a, BigInt(1 + Math.floor(rand() * 200_000)))
  await runner.runOnce().catch(() => undefined)
  await new Promise((r) => setTimeout(r, 1))
}
