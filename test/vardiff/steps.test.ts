/**
 * Hashrate steps after 30 steady windows (a 200 TH/s machine halving,
 * doubling, losing boards, idling): vardiff gets back within 2x of the new
 * ideal within the bound given per row (about the 99th percentile over 1000
 * seeds in `scripts/sim-vardiff.ts`), and over windows 20-60 after the step
 * the mean share interval is within ±30 % of the target again.
 */
import t from 'tap'
import { defaultVardiffOptions } from '../../src/vardiff/index.js'
import { idealDifficulty, simulate, type Phase, type SimulationResult } from '../helpers/simulated-miner.js'

const W = defaultVardiffOptions.retargetInterval
const T = defaultVardiffOptions.targetInterval
const H = 2e14
const STEP = 30 * W
const SEEDS = 5

/** Windows after `from` until the difficulty stays within 2x of `ideal` (Infinity if it never does). */
function windowsToWithin2x(sim: SimulationResult, from: number, ideal: number): number {
  const inside = (d: number): boolean => d / ideal >= 0.5 && d / ideal <= 2
  let since = inside(sim.difficultyAt(from)) ? 0 : Infinity
  for (const c of sim.changesIn(from, Infinity)) {
    if (!inside(c.difficulty)) since = Infinity
    else if (since === Infinity) since = (c.t - from) / W
  }
  return since
}

const steps: readonly { name: string; factor: number; windows: number }[] = [
  { name: 'halves', factor: 0.5, windows: 9 },
  { name: 'doubles', factor: 2, windows: 10 },
  { name: 'loses two boards of three', factor: 1 / 3, windows: 12 },
  { name: 'drops to a tenth', factor: 0.1, windows: 11 },
  { name: 'grows tenfold', factor: 10, windows: 3 },
]

for (const { name, factor, windows } of steps) {
  t.test(`a miner that ${name} is back within 2x in ${windows} windows and within the band later`, async (t) => {
    const ideal = idealDifficulty(H * factor, T)
    const phases: Phase[] = [
      { at: 0, hashrate: H },
      { at: STEP, hashrate: H * factor },
    ]
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = simulate({ hashrate: phases, seconds: STEP + 60 * W, seed: 700000 + seed })
      const took = windowsToWithin2x(sim, STEP, ideal)
      t.ok(took <= windows, `seed ${seed}: within 2x after ${took.toFixed(1)} windows`)
      const error = sim.meanInterval(STEP + 20 * W, STEP + 60 * W) / T - 1
      t.ok(Math.abs(error) <= 0.3, `seed ${seed}: mean interval ${(error * 100).toFixed(1)} % off in windows 20-60`)
    }
  })
}

t.test('a tenfold step up is retargeted within seconds, not at the end of the window', async (t) => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const sim = simulate({ hashrate: [{ at: 0, hashrate: H }, { at: STEP, hashrate: 10 * H }], seconds: STEP + W, seed: 700000 + seed })
    const first = sim.changesIn(STEP, Infinity)[0]
    t.ok(first !== undefined && first.t - STEP < W / 4, `seed ${seed}: first change ${first === undefined ? 'never' : `${(first.t - STEP).toFixed(1)} s`} after the step`)
    t.ok((first?.difficulty ?? 0) >= 2 * sim.difficultyAt(STEP), 'at least doubling the difficulty at once')
  }
})

t.test('a miner idle for 10 windows is lowered gently, then found again within 2 windows', async (t) => {
  const back = STEP + 10 * W
  const ideal = idealDifficulty(H, T)
  const phases: Phase[] = [
    { at: 0, hashrate: H },
    { at: STEP, hashrate: 0 },
    { at: back, hashrate: H },
  ]
  for (let seed = 1; seed <= SEEDS; seed++) {
    const sim = simulate({ hashrate: phases, seconds: back + 60 * W, seed: 800000 + seed })
    const before = sim.difficultyAt(STEP)
    const atReturn = sim.difficultyAt(back)
    t.ok(atReturn < before / 1.3, `seed ${seed}: lowered while idle (${before} -> ${atReturn})`)
    // It fades e-fold per 10 windows: not chased down to the minimum.
    t.ok(atReturn > ideal / 8, `seed ${seed}: no lower than ideal / 8 when it returns (${(atReturn / ideal).toFixed(2)} x ideal)`)
    const took = windowsToWithin2x(sim, back, ideal)
    t.ok(took <= 2, `seed ${seed}: within 2x ${took.toFixed(2)} windows after returning`)
    const error = sim.meanInterval(back + 20 * W, back + 60 * W) / T - 1
    t.ok(Math.abs(error) <= 0.3, `seed ${seed}: mean interval ${(error * 100).toFixed(1)} % off later`)
  }
})
