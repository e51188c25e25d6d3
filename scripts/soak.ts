/**
 * The soak: `npm run build:ts && npm run soak -- --minutes 5` (see
 * scripts/soak-run.ts for what runs). Prints one line of numbers per
 * report period and a summary; exits 1 if an accepted share is missing
 * from the ledger or the handles did not come back to their baseline.
 *
 *   --minutes N          wall-clock length (default 5)
 *   --sessions N         miner sessions (default 1000), in child processes of 500
 *   --speed N            clock speed-up for vardiff and the ledger (default 60)
 *   --block-every-s N    a new block every N s (default 120)
 *   --report-s N         sample every N s (default 60)
 *   --share-interval-ms  mean ms between a session's submits (default 2000)
 *   --dir PATH           ledger folder (default: a new temporary one, removed after)
 *
 * Child mode (used by the above): --miners N --port P --first K --interval-ms I.
 */
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runSoak, SoakMiners } from './soak-run.js'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    sessions: { type: 'string', default: '1000' },
    speed: { type: 'string', default: '60' },
    'block-every-s': { type: 'string', default: '120' },
    'report-s': { type: 'string', default: '60' },
    'share-interval-ms': { type: 'string', default: '2000' },
    dir: { type: 'string' },
    miners: { type: 'string' },
    port: { type: 'string' },
    first: { type: 'string', default: '0' },
    'interval-ms': { type: 'string', default: '2000' },
  },
})

async function minersChild(): Promise<void> {
  const miners = new SoakMiners(Number(values.port), Number(values.miners), Number(values['interval-ms']), Number(values.first))
  process.on('SIGTERM', () => {
    void miners.stop().then(() => process.exit(0))
  })
  await miners.start()
}

/** Miners in child processes of this script, 500 sessions each (well under 20,000 open files a process). */
async function forkMiners(port: number, sessions: number, intervalMs: number): Promise<() => Promise<void>> {
  const perProcess = 500
  const children = Array.from({ length: Math.ceil(sessions / perProcess) }, (_, i) =>
    fork(fileURLToPath(import.meta.url), ['--miners', String(Math.min(perProcess, sessions - i * perProcess)), '--port', String(port), '--first', String(i * perProcess), '--interval-ms', String(intervalMs)], {
      stdio: 'inherit',
    }),
  )
  return async () => {
    await Promise.all(children.map((c) => new Promise((resolve) => (c.once('exit', resolve), c.kill('SIGTERM')))))
  }
}

async function main(): Promise<number> {
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'headframe-soak-'))
  const ledgerPath = values.dir === undefined ? join(dir, 'ledger') : dir
  const columns = ['t', 'simHours', 'sessions', 'accepted', 'rejected', 'unrecorded', 'blocks', 'rssMiB', 'heapMiB', 'handles', 'fds', 'ledgerMiB', 'medianDifficulty'] as const
  console.log(`soak: ${values.sessions} sessions for ${values.minutes} min, clock x${values.speed}, a block every ${values['block-every-s']} s; node ${process.version}`)
  console.log(`\n| ${columns.join(' | ')} |\n|${columns.map(() => '---:').join('|')}|`)
  const report = await runSoak({
    sessions: Number(values.sessions),
    seconds: Number(values.minutes) * 60,
    ledgerPath,
    speed: Number(values.speed),
    blockEveryS: Number(values['block-every-s']),
    reportS: Number(values['report-s']),
    shareIntervalMs: Number(values['share-interval-ms']),
    startMiners: forkMiners,
    onSample: (s) => console.log(`| ${columns.map((c) => (c === 'medianDifficulty' ? s[c].toExponential(2) : String(s[c]))).join(' | ')} |`),
  })
  if (values.dir === undefined) rmSync(dir, { recursive: true, force: true })
  const lost = report.accepted - report.pruned - report.ledgerShares
  const leaked = Object.entries(report.afterClose.handles).filter(([k, n]) => n > (report.baseline.handles[k] ?? 0))
  console.log(`\naccepted ${report.accepted}, rejected ${JSON.stringify(report.rejected)}, in the ledger ${report.ledgerShares} (+${report.pruned} pruned by retention): ${lost} missing`)
  console.log(`sessions closed by reason: ${JSON.stringify(report.closed)}`)
  console.log(`handles at start ${JSON.stringify(report.baseline.handles)} fds ${report.baseline.fds}; after close ${JSON.stringify(report.afterClose.handles)} fds ${report.afterClose.fds}`)
  return lost === 0 && leaked.length === 0 ? 0 : 1
}

if (values.miners !== undefined) {
  void minersChild()
} else {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err)
      process.exit(2)
    },
  )
}
