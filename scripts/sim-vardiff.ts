/**
 * Vardiff against simulated miners (Poisson shares, simulated clock, seeded
 * PRNG: deterministic). Prints two tables:
 *
 * 1. Steady miners, per hashrate: where the difficulty stands after three
 *    windows (the "within 2x of ideal within three windows"), and
 *    over the following `windows` windows the mean share interval against
 *    the target, the number of changes and the most changes in one window.
 * 2. Hashrate steps after 30 steady windows (200 TH/s): windows until the
 *    difficulty is back within 2x of the new ideal and within the band.
 *
 *   npx tsc -p tsconfig.build.json && node dist/scripts/sim-vardiff.js [seeds] [windows]
 *
 * docs/vardiff.md quotes this script's output with the defaults.
 */
import { arch, cpus, platform } from 'node:os'
import { defaultVardiffOptions } from '../src/vardiff/index.js'
import { idealDifficulty, simulate, type Phase, VARDIFF_HASHRATES } from '../test/helpers/simulated-miner.js'


const STEPS: readonly { name: string; factor: number; idleWindows?: number }[] = [
  { name: 'halves', factor: 0.5 },
  { name: 'doubles', factor: 2 },
  { name: 'drops to a third', factor: 1 / 3 },
  { name: 'drops to a tenth', factor: 0.1 },
  { name: 'grows tenfold', factor: 10 },
  { name: 'idle 10 windows, back', factor: 1, idleWindows: 10 },
]

const o = defaultVardiffOptions
const W = o.retargetInterval
const T = o.targetInterval

function quantiles(values: number[], ps: readonly number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b)
  return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN)
}

function steadyTable(seeds: number, windows: number): void {
  console.log('| hashrate | ideal difficulty | D / ideal after 3 windows (min-max) | outside 2x after 3 windows | steady interval error (min / median / max) | steady changes (mean / p99 / max) | most changes in one window |')
  console.log('|---|---|---|---|---|---|---|')
  let runs = 0
  let misses = 0
  for (const [index, { name, hashrate, vardiff }] of VARDIFF_HASHRATES.entries()) {
    const ideal = idealDifficulty(hashrate, T)
    const at3: number[] = []
    const errors: number[] = []
    const changes: number[] = []
    let perWindow = 0
    for (let k = 1; k <= seeds; k++) {
      const sim = simulate({ vardiff, hashrate, seconds: (3 + windows) * W, seed: index * 100000 + k })
      const r = sim.difficultyAt(3 * W) / ideal
      at3.push(r)
      if (r < 0.5 || r > 2) misses++
      errors.push(sim.meanInterval(3 * W, (3 + windows) * W) / T - 1)
      const steady = sim.changesIn(3 * W, (3 + windows) * W)
      changes.push(steady.length)
      for (let i = 1; i < steady.length; i++) if ((steady[i]?.t ?? 0) - (steady[i - 1]?.t ?? 0) < W) perWindow = Math.max(perWindow, 2)
      if (steady.length > 0) perWindow = Math.max(perWindow, 1)
    }
    runs += seeds
    const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`
    const [c99 = 0, cMax = 0] = quantiles(changes, [0.99, 1])
    const mean = changes.reduce((a, b) => a + b, 0) / seeds
    console.log(
      `| ${name} | ${ideal.toPrecision(3)} | ${Math.min(...at3).toFixed(2)}-${Math.max(...at3).toFixed(2)} | ${at3.filter((r) => r < 0.5 || r > 2).length} of ${seeds} | ${pct(Math.min(...errors))} / ${pct(quantiles(errors, [0.5])[0] ?? NaN)} / ${pct(Math.max(...errors))} | ${mean.toFixed(2)} / ${c99} / ${cMax} | ${perWindow} |`,
    )
  }
  console.log(`\n${misses} of ${runs} runs outside 2x of ideal after three windows.\n`)
}

function stepTable(seeds: number): void {
  const hashrate = 2e14
  const before = 30 * W
  console.log('| 200 TH/s miner ... | windows to within 2x (median / p99 / max) | windows to within the band (median / p90; runs not there after 40) | changes (median / max) |')
  console.log('|---|---|---|---|')
  for (const step of STEPS) {
    const back = before + (step.idleWindows ?? 0) * W
    const phases: Phase[] =
      step.idleWindows === undefined
        ? [{ at: 0, hashrate }, { at: before, hashrate: hashrate * step.factor }]
        : [{ at: 0, hashrate }, { at: before, hashrate: 0 }, { at: back, hashrate }]
    const ideal = idealDifficulty(hashrate * step.factor, T)
    const to2: number[] = []
    const toBand: number[] = []
    const changes: number[] = []
    for (let k = 1; k <= seeds; k++) {
      const sim = simulate({ hashrate: phases, seconds: back + 40 * W, seed: 900000 + k })
      // Windows after `back` from which D stays inside [lo, hi] x ideal.
      const settle = (lo: number, hi: number): number => {
        let since = 0
        const inside = (d: number): boolean => d / ideal >= lo && d / ideal <= hi
        if (!inside(sim.difficultyAt(back))) since = Infinity
        for (const c of sim.changesIn(back, Infinity)) {
          if (!inside(c.difficulty)) since = Infinity
          else if (since === Infinity) since = (c.t - back) / W
        }
        return since
      }
      to2.push(settle(0.5, 2))
      // The mean interval is T * D / ideal: within the band when D / ideal is in 1 ± variance.
      toBand.push(settle(1 - o.variance, 1 + o.variance))
      changes.push(sim.changesIn(before, Infinity).length)
    }
    const f = (xs: number[], ps: number[]): string => quantiles(xs, ps).map((x) => x.toFixed(1)).join(' / ')
    const [cMed = 0, cMax = 0] = quantiles(changes, [0.5, 1])
    const never = toBand.filter((x) => x === Infinity).length
    console.log(`| ${step.name} | ${f(to2, [0.5, 0.99, 1])} | ${f(toBand, [0.5, 0.9])}; ${never} of ${seeds} | ${cMed} / ${cMax} |`)
  }
}

function main(): void {
  const seeds = Number(process.argv[2] ?? 200)
  const windows = Number(process.argv[3] ?? 200)
  const started = process.hrtime.bigint()
  console.log(
    `vardiff simulation, defaults: start ${o.startDifficulty}, min ${o.minDifficulty}, target ${T} s, window ${W} s, band ±${o.variance * 100} %, retargetShares ${o.retargetShares}; ticks every 1 s`,
  )
  console.log(`${seeds} seeds per row; steady run = windows 3 to ${3 + windows}; ${platform()} ${arch()}, ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}\n`)
  steadyTable(seeds, windows)
  stepTable(seeds)
  console.log(`\n${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`)
}

main()
