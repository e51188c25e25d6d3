/**
 * Double-pay prevention, many times over (seeded): accounts earn, the
 * payout loop runs against a fake wallet that drops connections before or
 * after executing sendmany, refuses sends, or cannot be asked; the process
 * "crashes" at random points of a run (the runner stops there, the ledger
 * is closed and reopened, a new runner and sender start). At the end every
 * balance must have been paid exactly once: what the wallet paid each
 * address equals what the ledger debited for it in sent batches, every
 * batch id reached the wallet at most once, every wallet transaction
 * belongs to a batch marked sent with its txid, and credited = balance +
 * paid for each account.
 */
import t from 'tap'
import type { Ledger } from '../../src/ledger/index.js'
import { PayoutRunner, type PayoutCrashPoint } from '../../src/payouts/payout-runner.js'
import { batchComment } from '../../src/payouts/onchain-sender.js'
import { FakeWallet, type WalletFault } from '../helpers/fake-wallet.js'
import { ledgerPath, openLedger } from '../helpers/ledger-fixtures.js'
import { Crash, regtestAddress, walletSender } from '../helpers/payout-fixtures.js'
import { prng } from '../helpers/prng.js'

const SEEDS = 60
const POINTS: readonly PayoutCrashPoint[] = ['batch-created', 'attempt-recorded', 'sent', 'txid-recorded']
const THRESHOLD = 100_000n

t.test(`no balance is ever paid twice (${SEEDS} seeds)`, async (t) => {
  let crashes = 0
  let walletFaults = 0
  let batchesSent = 0
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rand = prng(seed)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T
    const wallet = await FakeWallet.start({ noise: Math.floor(rand() * 30) })
    const path = ledgerPath(t, `seed-${seed}`)
    const accounts = Array.from({ length: 2 + Math.floor(rand() * 10) }, (_, i) => `acct${i}`)
    const address = new Map(accounts.map((a) => [a, regtestAddress(`${seed}/${a}`)]))
    // One account never has an address: its balance must stay put.
    address.delete('acct1')
    const owner = new Map([...address].map(([a, addr]) => [addr, a]))
    const credited = new Map<string, bigint>()
    const maxOutputs = 1 + Math.floor(rand() * 4)

    let ledger: Ledger = await openLedger(t, { path })
    let sender = walletSender(wallet, { pageSize: 1 + Math.floor(rand() * 8) })
    const earn = async (): Promise<void> => {
      for (const a of accounts) {
        if (rand() < 0.6) {
          const sats = BigInt(1 + Math.floor(rand() * 300_000))
          await ledger.credit(a, sats)
          credited.set(a, (credited.get(a) ?? 0n) + sats)
        }
      }
    }
    const restart = async (): Promise<void> => {
      await sender.close()
      await ledger.close()
      ledger = await openLedger(t, { path })
      sender = walletSender(wallet, { pageSize: 1 + Math.floor(rand() * 8) })
    }

    const rounds = 4 + Math.floor(rand() * 8)
    for (let round = 0; round < rounds; round++) {
      await earn()
      const crashAt = rand() < 0.4 ? pick(POINTS) : undefined
      const crashOn = 1 + Math.floor(rand() * 2)
      let seen = 0
      if (rand() < 0.5) {
        const fault: WalletFault = pick<WalletFault>([
          { kind: 'drop-before', method: 'sendmany' },
          { kind: 'drop-after', method: 'sendmany' },
          { kind: 'rpc-error', method: 'sendmany', code: -6, message: 'Insufficient funds' },
          { kind: 'drop-after', method: 'listtransactions' },
          { kind: 'rpc-error', method: 'listtransactions', code: -28, message: 'Loading wallet...' },
        ])
        wallet.failNext(fault)
        walletFaults++
      }
      const runner = new PayoutRunner({
        ledger,
        sender,
        thresholdSats: THRESHOLD,
        addressOf: (a) => address.get(a),
        maxOutputs,
        reconcileGraceMs: 0,
        faults: (point) => {
          if (point === crashAt && ++seen === crashOn) throw new Crash(point)
        },
      })
      try {
        await runner.runOnce()
      } catch (err) {
        if (!(err instanceof Crash)) throw err
        crashes++
        await restart()
      }
      if (rand() < 0.3) await restart()
    }
    // Calm weather: runs until nothing is pending or due.
    wallet.clearFaults()
    for (let i = 0; i < 20; i++) {
      const result = await new PayoutRunner({ ledger, sender, thresholdSats: THRESHOLD, addressOf: (a) => address.get(a), maxOutputs, reconcileGraceMs: 0 }).runOnce()
      if (result.pending.length === 0 && result.planned.every((p) => p.address === undefined)) break
    }

    const batches = await ledger.payoutBatches.list()
    const sent = batches.filter((b) => b.status === 'sent')
    batchesSent += sent.length
    const problems: string[] = []
    if (batches.some((b) => b.status === 'pending')) problems.push('a batch is still pending')
    const comments = wallet.sends.map((s) => s.comment)
    if (new Set(comments).size !== comments.length) problems.push('a batch id reached the wallet twice')
    for (const send of wallet.sends) {
      const batch = sent.find((b) => batchComment(b.id) === send.comment)
      if (batch === undefined) problems.push(`wallet tx ${send.txid} has no sent batch`)
      else if (batch.txid !== send.txid) problems.push(`batch ${batch.id} records ${batch.txid}, the wallet sent ${send.txid}`)
      if (!send.stringAmounts) problems.push('an amount went out as a JSON number')
    }
    const debited = new Map<string, bigint>()
    for (const b of sent) for (const l of b.lines) debited.set(l.account, (debited.get(l.account) ?? 0n) + l.amount)
    const paidTo = new Map<string, bigint>()
    for (const [addr, sats] of wallet.paid()) paidTo.set(owner.get(addr) ?? `?${addr}`, sats)
    for (const a of accounts) {
      const balance = await ledger.balance(a)
      const paid = paidTo.get(a) ?? 0n
      if ((debited.get(a) ?? 0n) !== paid) problems.push(`${a}: ledger debited ${debited.get(a) ?? 0n} in sent batches, wallet paid ${paid}`)
      if ((credited.get(a) ?? 0n) !== balance + paid) problems.push(`${a}: credited ${credited.get(a) ?? 0n} != balance ${balance} + paid ${paid}`)
      if (address.has(a) && balance >= THRESHOLD) problems.push(`${a}: ${balance} still due`)
    }
    if ((credited.get('acct1') ?? 0n) !== (await ledger.balance('acct1'))) problems.push('acct1 (no address) lost money')
    t.same(problems, [], `seed ${seed}: ${wallet.sends.length} sends, ${batches.length} batches`)
    await sender.close()
    await ledger.close()
    await wallet.close()
  }
  t.ok(crashes > 20 && walletFaults > 50 && batchesSent > 100, `exercised: ${crashes} crashes, ${walletFaults} wallet faults, ${batchesSent} batches sent`)
})
