/**
 * Ledger accept-latency benchmark: how long `record` takes to resolve (the
 * time a miner waits for "accepted" on top of the share check), with
 * `sync = false` and `sync = true`, at fixed offered share rates, plus the
 * most shares per second 256 concurrent miners get through.
 *
 *   npm run build:ts && node dist/scripts/bench-ledger.js
 *   node dist/scripts/bench-ledger.js --rates 1000,5000 --seconds 5 --dir /var/lib/headframe
 *
 * Open loop: shares are offered on a 1 ms tick at the given rate whatever
 * the ledger does, as miners do; latency is from the `record` call to its
 * resolution. The database lives in a fresh folder under `--dir` (default:
 * the OS temp folder); put it on the disk the ledger will use, since fsync
 * cost is the disk's. docs/ledger.md has the results.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ledger, type LedgerShare } from '../src/ledger/index.js'

interface Options {
  rates: number[]
  seconds: number
  groupMs: number
  workers: number
  dir: string
}

function parseArgs(argv: string[]): Options {
  const o: Options = { rates: [1000, 5000, 20_000], seconds: 4, groupMs: 0, workers: 500, dir: tmpdir() }
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? '']
    if (flag === '--rates') o.rates = value.split(',').map(Number)
    else if (flag === '--seconds') o.seconds = Number(value)
    else if (flag === '--group-ms') o.groupMs = Number(value)
    else if (flag === '--workers') o.workers = Number(value)
    else if (flag === '--dir') o.dir = value
    else throw new Error(`unknown option ${String(flag)}`)
  }
  return o
}

/** The file system type holding `dir` (fsync cost depends on it). */
function fileSystem(dir: string): string {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length > 2 && dir.startsWith(f[1] as string))
      .sort((a, b) => (b[1] as string).length - (a[1] as string).length)
    const m = mounts[0]
    return m === undefined ? 'unknown' : `${m[2]} on ${m[0]} (${m[1]})`
  } catch {
    return 'unknown'
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}

let counter = 0
function nextShare(workers: number): LedgerShare {
  const n = counter++
  const w = n % workers
  return {
    time: Date.now(),
    account: `acct${w % 20}`,
    worker: `rig${w}`,
    difficulty: 65536 + (n % 1000) / 8,
    jobId: (n >>> 4).toString(16),
    height: 900_000,
    block: false,
    session: w,
    source: 'bench',
  }
}

interface Row {
  mode: string
  offered: number
  achieved: number
  p50: number
  p90: number
  p99: number
  max: number
  groups: number
  perGroup: number
  failed: number
}

/** Offers `rate` shares/s for `seconds`; returns latency figures. */
async function openLoop(o: Options, sync: boolean, rate: number): Promise<Row> {
  const dir = mkdtempSync(join(o.dir, 'hf-bench-ledger-'))
  const ledger = await Ledger.open({ path: dir, sync, retentionDays: 90, groupCommitMs: o.groupMs, pruneIntervalMs: 0 })
  const latencies: number[] = []
  let failed = 0
  const pending: Promise<void>[] = []
  const start = performance.now()
  let offered = 0
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - start
      if (elapsed >= o.seconds * 1000) {
        clearInterval(tick)
        resolve()
        return
      }
      const due = Math.floor((elapsed / 1000) * rate)
      for (; offered < due; offered++) {
        const t0 = performance.now()
        pending.push(
          ledger.record(nextShare(o.workers)).then(
            () => void latencies.push(performance.now() - t0),
            () => void failed++,
          ),
        )
      }
    }, 1)
  })
  await Promise.all(pending)
  const seconds = (performance.now() - start) / 1000
  const stats = ledger.stats
  await ledger.close()
  rmSync(dir, { recursive: true, force: true })
  latencies.sort((a, b) => a - b)
  return {
    mode: sync ? 'sync' : 'nosync',
    offered: rate,
    achieved: Math.round(latencies.length / seconds),
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    groups: stats.groups,
    perGroup: stats.shares / Math.max(1, stats.groups),
    failed,
  }
}

/** 256 miners, each sending its next share as soon as the last is accepted: the ceiling. */
async function closedLoop(o: Options, sync: boolean): Promise<Row> {
  const dir = mkdtempSync(join(o.dir, 'hf-bench-ledger-'))
  const ledger = await Ledger.open({ path: dir, sync, retentionDays: 90, groupCommitMs: o.groupMs, pruneIntervalMs: 0 })
  const latencies: number[] = []
  const end = performance.now() + o.seconds * 1000
  const start = performance.now()
  const miner = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now()
      await ledger.record(nextShare(o.workers))
      latencies.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: 256 }, miner))
  const seconds = (performance.now() - start) / 1000
  const stats = ledger.stats
  await ledger.close()
  rmSync(dir, { recursive: true, force: true })
  latencies.sort((a, b) => a - b)
  return {
    mode: sync ? 'sync' : 'nosync',
    offered: NaN,
    achieved: Math.round(latencies.length / seconds),
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    groups: stats.groups,
    perGroup: stats.shares / Math.max(1, stats.groups),
    failed: 0,
  }
}

function print(rows: Row[]): void {
  const ms = (v: number): string => v.toFixed(2).padStart(8)
  console.log('mode     offered/s  accepted/s   p50 ms   p90 ms   p99 ms   max ms   groups  shares/group')
  for (const r of rows) {
    const offered = Number.isNaN(r.offered) ? 'max (256)' : String(r.offered)
    console.log(
      `${r.mode.padEnd(8)} ${offered.padStart(9)}  ${String(r.achieved).padStart(10)} ${ms(r.p50)} ${ms(r.p90)} ${ms(r.p99)} ${ms(r.max)} ${String(r.groups).padStart(8)}  ${r.perGroup.toFixed(1).padStart(12)}${r.failed > 0 ? `  FAILED ${r.failed}` : ''}`,
    )
  }
}

const o = parseArgs(process.argv.slice(2))
console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} CPUs, Node ${process.version}`)
console.log(`ledger folder: ${o.dir} (${fileSystem(o.dir)}); group commit ${o.groupMs} ms; ${o.workers} workers; ${o.seconds} s per row`)
const rows: Row[] = []
for (const sync of [false, true]) {
  for (const rate of o.rates) rows.push(await openLoop(o, sync, rate))
  rows.push(await closedLoop(o, sync))
}
print(rows)
