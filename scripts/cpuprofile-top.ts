/**
 * The top self-time functions of a V8 `.cpuprofile` (from `node
 * --cpu-prof`, e.g. `bench-load --profile DIR`), so that a profile can be
 * read on a machine without Chrome DevTools.
 *
 *   node dist/scripts/cpuprofile-top.js <file.cpuprofile> [--top 30]
 *
 * Self time of a function is the time the sampler found it on top of the
 * stack; functions are grouped by name, file and line. The share of
 * `(idle)` says how much of the run the process was waiting.
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

interface Profile {
  nodes: ProfileNode[]
  samples?: number[]
  timeDeltas?: number[]
  startTime: number
  endTime: number
}

/** Self time per function (µs), largest first. */
export function topSelfTime(profile: Profile): { name: string; where: string; us: number; percent: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  // timeDeltas[i] is the time before sample i: charge it to the sample's node.
  for (let i = 0; i < samples.length; i++) self.set(samples[i] as number, (self.get(samples[i] as number) ?? 0) + (deltas[i] ?? 0))
  const total = profile.endTime - profile.startTime
  const grouped = new Map<string, { name: string; where: string; us: number }>()
  for (const [id, us] of self) {
    const frame = byId.get(id)?.callFrame
    if (frame === undefined) continue
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName
    const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/')
    const where = file === '' ? '' : `${file}:${frame.lineNumber + 1}`
    const key = `${name} ${where}`
    const entry = grouped.get(key) ?? { name, where, us: 0 }
    entry.us += us
    grouped.set(key, entry)
  }
  return [...grouped.values()].sort((a, b) => b.us - a.us).map((e) => ({ ...e, percent: (100 * e.us) / total }))
}

function main(argv: string[]): void {
  const file = argv.find((a) => !a.startsWith('--'))
  const topAt = argv.indexOf('--top')
  const top = topAt >= 0 ? Number(argv[topAt + 1]) : 30
  if (file === undefined || !Number.isInteger(top)) {
    console.error('node dist/scripts/cpuprofile-top.js <file.cpuprofile> [--top 30]')
    process.exit(2)
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const rows = topSelfTime(profile)
  console.log(`${file}: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s profiled`)
  console.log('   self ms       %  function (file:line)')
  for (const r of rows.slice(0, top)) console.log(`${(r.us / 1000).toFixed(1).padStart(10)}  ${r.percent.toFixed(1).padStart(6)}  ${r.name} ${r.where}`)
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) main(process.argv.slice(2))
