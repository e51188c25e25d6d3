/**
 * Vardiff under simulated miners: prints, per hashrate, how many windows the
 * difficulty takes to come within 2x of the ideal, where it stands after
 * three windows, and over a long steady run the share-interval error and the
 * number of changes. Deterministic (seeded PRNG, simulated clock).
 *
 *   npx tsc -p tsconfig.build.json && node dist/scripts/sim-vardiff.js [seeds] [windows]
 *
 * The numbers in docs/vardiff.md come from this script with the defaults.
 */
import { arch, cpus, platform } from 'node:os'
import { defaultVardiffOptions, type VardiffOptions } from '../src/vardiff/index.js'
import { idealDifficulty, simulate } from '../test/vardiff/simulated-miner.js'

/** The hashrates the issue names, plus a CPU miner (with a low minimum difficulty). */
export const HASHRATES: readonly { name: string; hashrate: number; vardiff?: Partial<VardiffOptions> }[] = [
  { name: '1 MH/s (CPU)', hashrate: 1e6, vardiff: { minDifficulty: 0.0001 } },
  { name: '1 GH/s', hashrate: 1e9 },
  { name: '10 GH/s', hashrate: 1e10 },
  { name: '100 GH/s', hashrate: 1e11 },
  { name: '1 TH/s', hashrate: 1e12 },
  { name: '14 TH/s', hashrate: 14e12 },
  { name: '100 TH/s', hashrate: 1e14 },
  { name: '200 TH/s', hashrate: 2e14 },
  { name: '1 PH/s', hashrate: 1e15 },
]

interface Row {
  name: string
  ideal: number
  /** Windows until the difficulty stays within 2x of ideal: worst over seeds. */
  convergeWorst: number
  convergeMean: number
  /** Difficulty / ideal after 3 windows: extremes over seeds. */
  at3Min: number
  at3Max: number
  /** Steady mean interval error vs target, extremes over seeds (fraction). */
  errMin: number
  errMax: number
  /** Changes during the steady run: mean and worst over seeds. */
  changesMean: number
  changesMax: number
  /** Most changes in one window of the steady run (any seed). */
  perWindowMax: number
}

function run(seeds: number, windows: number): Row[] {
  const o = defaultVardiffOptions
  const w = o.retargetInterval
  const rows: Row[] = []
  for (const { name, hashrate, vardiff } of HASHRATES) {
    const target = vardiff?.targetInterval ?? o.targetInterval
    const ideal = idealDifficulty(hashrate, target)
    const row: Row = { name, ideal, convergeWorst: 0, convergeMean: 0, at3Min: Infinity, at3Max: 0, errMin: Infinity, errMax: -Infinity, changesMean: 0, changesMax: 0, perWindowMax: 0 }
    for (let seed = 1; seed <= seeds; seed++) {
      const sim = simulate({ vardiff, hashrate, seconds: (3 + windows) * w, seed })
      // First window boundary from which the difficulty stays within 2x of ideal up to 3 windows.
      let converged = 0
      for (const c of sim.changes) {
        const r = c.difficulty / ideal
        if (c.t <= 3 * w && (r > 2 || r < 0.5)) converged = Math.ceil((sim.changes.find((x) => x.t > c.t)?.t ?? Infinity) / w)
      }
      row.convergeWorst = Math.max(row.convergeWorst, converged)
      row.convergeMean += converged / seeds
      const at3 = sim.difficultyAt(3 * w) / ideal
      row.at3Min = Math.min(row.at3Min, at3)
      row.at3Max = Math.max(row.at3Max, at3)
      const err = sim.meanInterval(3 * w, (3 + windows) * w) / target - 1
      row.errMin = Math.min(row.errMin, err)
      row.errMax = Math.max(row.errMax, err)
      const steady = sim.changesIn(3 * w, (3 + windows) * w)
      row.changesMean += steady.length / seeds
      row.changesMax = Math.max(row.changesMax, steady.length)
      for (let k = 3; k < 3 + windows; k++) row.perWindowMax = Math.max(row.perWindowMax, sim.changesIn(k * w, (k + 1) * w).length)
    }
    rows.push(row)
  }
  return rows
}

function main(): void {
  const seeds = Number(process.argv[2] ?? 20)
  const windows = Number(process.argv[3] ?? 200)
  const o = defaultVardiffOptions
  const started = process.hrtime.bigint()
  const rows = run(seeds, windows)
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`
  console.log(`vardiff simulation: defaults (start ${o.startDifficulty}, target ${o.targetInterval} s, window ${o.retargetInterval} s, band ±${o.variance * 100} %, early end at ${o.retargetShares} shares)`)
  console.log(`${seeds} seeds per hashrate; steady run = windows 3..${3 + windows}; ${platform()} ${arch()}, ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}; ${ms.toFixed(0)} ms\n`)
  console.log('| hashrate | ideal difficulty | windows to 2x (mean / worst) | D/ideal after 3 windows (min-max) | steady interval error (min / max) | steady changes (mean / max) | max changes in a window |')
  console.log('|---|---|---|---|---|---|---|')
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.ideal.toPrecision(3)} | ${r.convergeMean.toFixed(2)} / ${r.convergeWorst} | ${r.at3Min.toFixed(2)}-${r.at3Max.toFixed(2)} | ${pct(r.errMin)} / ${pct(r.errMax)} | ${r.changesMean.toFixed(2)} / ${r.changesMax} | ${r.perWindowMax} |`,
    )
  }
}

main()
