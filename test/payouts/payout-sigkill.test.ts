/**
 * Double-pay prevention with real process deaths: a child process
 * (test/helpers/payout-sigkill-child.ts) credits earnings and runs the
 * payout loop against this process's fake wallet, and is killed with
 * SIGKILL at seeded moments: on a timer, or the instant the wallet receives
 * its sendmany (which the wallet then executes for a process that no longer
 * exists) or its listtransactions. Some sends also lose their answer.
 * After the last kill this process settles what is pending; then every
 * balance must have been paid exactly once (see double-pay.test.ts for the
 * invariants).
 *
 * The child runs as plain JavaScript transpiled here (the files it imports,
 * found by following relative imports), as in test/ledger/crash.test.ts.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { createInterface } from 'node:readline'
import ts from 'typescript'
import { PACKAGE_ROOT } from '../../src/package-info.js'
import { batchComment } from '../../src/payouts/onchain-sender.js'
import { PayoutRunner } from '../../src/payouts/payout-runner.js'
import { FakeWallet } from '../helpers/fake-wallet.js'
import { openLedger } from '../helpers/ledger-fixtures.js'
import { regtestAddress, walletSender } from '../helpers/payout-fixtures.js'
import { prng } from '../helpers/prng.js'

const RUNS = 12
const SEED = 0x5eed

/** Transpiles `entry` and every file it reaches by relative imports into `dir`. */
function build(dir: string, entry: string): string {
  const todo = [entry]
  const done = new Set<string>()
  while (todo.length > 0) {
    const source = todo.pop() as string
    if (done.has(source)) continue
    done.add(source)
    const text = readFileSync(join(PACKAGE_ROOT, source), 'utf8')
    const { outputText } = ts.transpileModule(text, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } })
    for (const m of outputText.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) todo.push(normalize(join(dirname(source), `${m[1]}.ts`)))
    const out = join(dir, source.replace(/\.ts$/, '.js'))
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, outputText)
  }
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  return join(dir, entry.replace(/\.ts$/, '.js'))
}

type KillWhen = { on: 'timer'; ms: number } | { on: 'sendmany' | 'listtransactions'; nth: number }

function runChild(child: string, args: string[], wallet: FakeWallet, when: KillWhen): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let ready = false
    let seen = 0
    const kill = (): void => void proc.kill('SIGKILL')
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (line !== 'ready') return
      ready = true
      if (when.on === 'timer') setTimeout(kill, when.ms)
      else {
        wallet.onCall = (method) => {
          if (method === when.on && ++seen === when.nth) kill()
        }
      }
    })
    const guard = setTimeout(kill, 15_000)
    proc.on('error', reject)
    proc.on('close', (_code, signal) => {
      clearTimeout(guard)
      wallet.onCall = undefined
      if (ready) resolve(signal)
      else reject(new Error(`child died before it was ready (${signal ?? 'no signal'})`))
    })
  })
}

t.test(`SIGKILL at random moments never pays a balance twice (${RUNS} kills)`, async (t) => {
  const dir = t.testdir({})
  // The child's build lives outside tap's fixture folder: in one full run the
  // child could not find its own file there (ERR_MODULE_NOT_FOUND right after
  // the build). Inside the project, so that `level` resolves from node_modules.
  const cache = join(PACKAGE_ROOT, 'node_modules', '.cache')
  mkdirSync(cache, { recursive: true })
  const buildDir = mkdtempSync(join(cache, 'hf-sigkill-'))
  t.teardown(() => rmSync(buildDir, { recursive: true, force: true }))
  const child = build(buildDir, 'test/helpers/payout-sigkill-child.ts')
  const path = join(dir, 'ledger')
  const wallet = await FakeWallet.start({ noise: 12 })
  t.teardown(() => wallet.close())
  const rand = prng(SEED)
  /** Sends the wallet must have executed: each kill on the n-th sendmany follows n of them. */
  let atLeast = 0
  for (let run = 0; run < RUNS; run++) {
    const r = rand()
    const when: KillWhen = r < 0.4 ? { on: 'sendmany', nth: 1 + Math.floor(rand() * 3) } : r < 0.6 ? { on: 'listtransactions', nth: 1 } : { on: 'timer', ms: 10 + Math.floor(rand() * 200) }
    // A lost answer leaves a batch pending, so the next run asks listtransactions.
    if (when.on === 'listtransactions' || rand() < 0.3) wallet.failNext({ kind: 'drop-after', method: 'sendmany' })
    if (when.on === 'sendmany') atLeast += when.nth
    const began = Date.now()
    const signal = await runChild(child, [path, wallet.url, String(run + 1)], wallet, when)
    t.equal(signal, 'SIGKILL', `run ${run}: killed (${JSON.stringify(when)}) after ${Date.now() - began} ms`)
  }
  wallet.clearFaults()

  const ledger = await openLedger(t, { path })
  const sender = walletSender(wallet)
  t.teardown(() => sender.close())
  const address = (a: string): string => regtestAddress(`sigkill/${a}`)
  for (let i = 0; i < 10; i++) {
    const result = await new PayoutRunner({ ledger, sender, thresholdSats: 100_000n, addressOf: address, maxOutputs: 2, reconcileGraceMs: 0 }).runOnce()
    if (result.pending.length === 0 && result.planned.length === 0) break
  }

  const batches = await ledger.payoutBatches.list()
  const sent = batches.filter((b) => b.status === 'sent')
  t.same(batches.filter((b) => b.status === 'pending'), [], 'nothing pending')
  const comments = wallet.sends.map((s) => s.comment)
  t.equal(new Set(comments).size, comments.length, 'each batch id reached the wallet at most once')
  t.same(
    wallet.sends.filter((s) => !sent.some((b) => batchComment(b.id) === s.comment && b.txid === s.txid)).map((s) => s.txid),
    [],
    'every wallet transaction is a sent batch with that txid',
  )
  const credited = new Map<string, bigint>()
  for await (const e of ledger.journal()) {
    if (e.amount > 0n && !(e.ref ?? '').startsWith('payout-refund:')) credited.set(e.account, (credited.get(e.account) ?? 0n) + e.amount)
  }
  const paid = wallet.paid()
  for (const [account, total] of credited) {
    const balance = await ledger.balance(account)
    t.equal(total, balance + (paid.get(address(account)) ?? 0n), `${account}: credited = balance + paid`)
    t.ok(balance < 100_000n, `${account}: nothing left due`)
  }
  t.ok(atLeast > 0 && wallet.sends.length >= atLeast, `${wallet.sends.length} transactions (at least ${atLeast}), ${batches.length} batches`)
})
