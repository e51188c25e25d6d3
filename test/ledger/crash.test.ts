/**
 * The crash test: a child process under share load is killed with SIGKILL
 * at random (seeded) moments, ten times; after each restart every share the
 * child saw acknowledged is in the ledger exactly once, and the tallies and
 * rounds agree with the share records (each group commit and each tally fold
 * is one atomic LevelDB batch; the child folds every few ms, so kills land
 * before, during and after folds, and the open folds what a kill left out).
 *
 * SIGKILL kills the process, not the machine: what LevelDB handed to the
 * kernel survives it, with or without fsync. Runs alternate sync and nosync
 * to cover both write paths; power loss is what `sync` is for (docs/ledger.md).
 *
 * The child runs as plain JavaScript: this file transpiles the ledger
 * sources and the child (test/helpers/ledger-crash-child.ts) into the test folder
 * first, keeping the repository layout so relative imports hold and `level`
 * resolves from the project's node_modules. Starting a child through tap's
 * TypeScript loader costs seconds; this way it costs ~100 ms, and the test
 * never runs a stale build from dist/.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import ts from 'typescript'
import { scaleDifficulty } from '../../src/ledger/index.js'
import { PACKAGE_ROOT } from '../../src/package-info.js'
import { prng } from '../helpers/prng.js'
import { allShares, openLedger } from '../helpers/ledger-fixtures.js'

const RUNS = 10
const SEED = 0xc0ffee

/** Transpiles the child and what it imports at run time into `dir`; returns the child's path. */
function buildChild(dir: string): string {
  const sources = ['src/errors.ts', 'test/helpers/ledger-crash-child.ts', ...readdirSync(join(PACKAGE_ROOT, 'src/ledger')).map((f) => `src/ledger/${f}`)]
  for (const source of sources.filter((s) => s.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(join(PACKAGE_ROOT, source), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    })
    const out = join(dir, source.replace(/\.ts$/, '.js'))
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, outputText)
  }
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  return join(dir, 'test/helpers/ledger-crash-child.js')
}

/** Runs the child until `killAfterMs` after it is ready; resolves to the ids it printed. */
function runChild(child: string, path: string, run: number, sync: boolean, killAfterMs: number): Promise<{ acked: string[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, path, String(run), sync ? 'sync' : 'nosync'], { stdio: ['ignore', 'pipe', 'inherit'] })
    const acked: string[] = []
    let ready = false
    const lines = createInterface({ input: proc.stdout })
    lines.on('line', (line) => {
      if (line === 'ready') {
        ready = true
        setTimeout(() => proc.kill('SIGKILL'), killAfterMs)
      } else {
        acked.push(line)
      }
    })
    const guard = setTimeout(() => proc.kill('SIGKILL'), 20_000)
    proc.on('error', reject)
    // 'close' comes after the exit and after stdout has ended, so every line has been read.
    proc.on('close', (_code, signal) => {
      clearTimeout(guard)
      if (ready) resolve({ acked, signal })
      else reject(new Error(`child died before it was ready (${signal ?? 'no signal'})`))
    })
  })
}

t.test('every acknowledged share survives SIGKILL, exactly once', async (t) => {
  const started = Date.now()
  const dir = t.testdir({})
  const child = buildChild(join(dir, 'build'))
  const path = join(dir, 'ledger')
  const rand = prng(SEED)
  const acknowledged: string[] = []
  for (let run = 0; run < RUNS; run++) {
    const killAfterMs = 20 + Math.floor(rand() * 300)
    const { acked, signal } = await runChild(child, path, run, run % 2 === 0, killAfterMs)
    t.equal(signal, 'SIGKILL', `run ${run}: killed ${killAfterMs} ms after it was ready, ${acked.length} shares acknowledged`)
    acknowledged.push(...acked)

    const ledger = await openLedger(t, { path })
    const shares = await allShares(ledger)
    const count = new Map<string, number>()
    for (const s of shares) count.set(s.jobId, (count.get(s.jobId) ?? 0) + 1)
    const missing = acknowledged.filter((id) => count.get(id) !== 1)
    t.same(missing.slice(0, 5), [], `run ${run}: all ${acknowledged.length} acknowledged shares present once`)
    t.equal([...count.values()].filter((n) => n > 1).length, 0, 'no share stored twice')

    // The tallies and rounds agree with the records: the child folded every few ms,
    // and the open folded what the kill left out (the m/untallied/ markers).
    const sum = shares.reduce((a, s) => a + scaleDifficulty(s.difficulty), 0n)
    const total = await ledger.acceptedDifficulty({ from: 0, to: 2 ** 48 - 1 })
    t.same([total.shares, total.scaled], [shares.length, sum], 'tallies agree with the share records')
    const blocks = shares.filter((s) => s.block).length
    t.equal(ledger.currentRound(), blocks + 1, 'one round per block share')
    let roundSum = 0n
    for (let r = 1; r <= ledger.currentRound(); r++) roundSum += (await ledger.roundTotals(r))?.difficulty ?? 0n
    t.equal(roundSum, sum, 'rounds agree with the share records')
    await ledger.close()
  }
  t.ok(acknowledged.length > RUNS * 100, `${acknowledged.length} shares acknowledged over ${RUNS} crashes`)
  t.ok(Date.now() - started < 30_000, `bounded: ${Date.now() - started} ms`)
})
