/**
 * Child process of crash.test.ts (not a test itself): records shares from
 * 32 simulated miners as fast as group commit allows and prints each share's
 * id on stdout the moment its `record` resolves, i.e. when a miner would be
 * told "accepted". The parent kills it with SIGKILL at a random moment.
 * The parent runs it as plain JavaScript (transpiled with the ledger into a
 * test folder): tap's TypeScript loader would cost seconds per start.
 *
 *   crash-child.ts <ledger path> <run> <sync|nosync>
 *
 * stdout is a pipe: Node writes to pipes synchronously on Linux, and each
 * line is far below PIPE_BUF, so every printed id reaches the parent whole
 * even when the process dies right after.
 */
import { Ledger } from '../../src/ledger/index.js'

const [path, run, mode] = process.argv.slice(2)
if (path === undefined || run === undefined) {
  // `tap test/ledger` runs every file of the folder: say what this one is.
  console.log('1..0 # helper process of crash.test.ts, run with <path> <run> <sync|nosync>')
  process.exit(0)
}
// Tallies folded every few ms (the run number picks 2-50 ms), and a tally
// read now and then (it folds too): the kill lands before, during and after
// folds, not only before the first one.
const tallyFoldMs = 2 + ((Number(run) * 7) % 49)
const ledger = await Ledger.open({ path, sync: mode === 'sync', retentionDays: 90, groupCommitMs: 2, pruneIntervalMs: 0, tallyFoldMs })
process.stdout.write('ready\n')
setInterval(() => void ledger.acceptedDifficulty({ from: 0, to: 2 ** 47 }).catch(() => undefined), 7).unref()

let next = 0
const start = Date.now()
async function miner(m: number): Promise<void> {
  for (;;) {
    const n = next++
    const id = `${run}-${n}`
    await ledger.record({
      time: start + n,
      account: `acct${m % 4}`,
      worker: `rig${m}`,
      difficulty: 1 + (n % 13) / 16,
      jobId: id,
      height: 900_000 + Number(run),
      // Now and then a block share, so rounds close across crashes too.
      block: n % 997 === 0,
      session: m,
      source: 'crash-test',
    })
    process.stdout.write(`${id}\n`)
  }
}
for (let m = 0; m < 32; m++) void miner(m)
