/**
 * The load harness (issue 9): shares per second, submit latency and the
 * memory of many sessions, against a real pool in its own process.
 *
 *   npm run build:ts && npm run bench:load            # invalid, accepted and latency, one after the other
 *   npm run bench:sessions                            # idle sessions: RSS per session at 2k, 5k, 10k, 19k
 *   node dist/scripts/bench-load.js <scenario> [options]   (--help)
 *
 * Processes, all on 127.0.0.0/8:
 * - the pool (scripts/bench-pool.ts): `startPool` as `headframe run` calls
 *   it, ledger on (LevelDB in a temporary folder, group commit), a static
 *   work source, fixed tiny difficulty: every unique share is valid, and the
 *   pool still checks each one in full;
 * - the generators (scripts/load-clients.ts, `--generators` of them):
 *   the sessions, over source addresses 127.0.0.2-41, each doing the real
 *   handshake (configure, subscribe, authorize), then submitting at a total
 *   `--rate` or with `--inflight` submits in flight per session;
 * - this one: starts them, tells them when to run, samples CPU and RSS from
 *   /proc, prints the tables.
 *
 * Everything is bounded: session counts are capped, every run has a fixed
 * duration, each child exits by itself when this process goes away, and a
 * watchdog ends the whole run. docs/benchmarks.md has the results.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync, mkdirSync } from 'node:fs'
import { cpus, loadavg, release } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FromPool, PoolRunnerOptions, PoolStats, ToPool } from './bench-pool.js'
import type { FromGenerator, RunResult, ShareKind, ToGenerator } from './load-clients.js'

const WATCHDOG_MS = 15 * 60_000
/** Sessions one generator process holds at most (its open-file cap is 20,000). */
const MAX_PER_GENERATOR = 15_000
/** Sessions the pool process holds at most (the same cap, minus its own files). */
const MAX_SESSIONS = 19_000
/** Source addresses 127.0.0.2 .. 127.0.0.(1 + this). */
const SOURCE_ADDRESSES = 40
const CLOCK_TICKS = 100
const BUCKET_BASE = 1.01

type Scenario = 'invalid' | 'accepted' | 'latency' | 'sessions' | 'smoke'
const SCENARIOS: readonly Scenario[] = ['invalid', 'accepted', 'latency', 'sessions', 'smoke']

export interface LoadOptions {
  scenarios: Scenario[]
  sessions: number
  generators: number
  inflight: number
  rate: number
  seconds: number
  warmup: number
  /** Fraction of sessions that suggest `hardDifficulty` (all their shares are low difficulty). */
  hard: number
  hardDifficulty: number
  stale: number
  duplicate: number
  branch: number
  difficulty: number
  sync: boolean
  groupMs: number
  groupMax: number
  steps: number[]
  profile: string | undefined
  heapSnapshot: string | undefined
  /** A bare Node responder (scripts/bench-bare.ts) in place of the pool: the floor of Node's socket I/O. */
  bare: boolean
  json: boolean
  seed: number
}

class UsageError extends Error {}

const HELP = `node dist/scripts/bench-load.js [scenario...] [options]

scenarios (default: invalid accepted latency):
  invalid    50 sessions x 16 in flight, random nonces at difficulty 1: every share hashed and
             rejected as above target (the ckpool reference: 43,000/s on this kind of machine)
  accepted   200 sessions x 8 in flight, valid shares, ledger on (group commit, sync=false)
  latency    200 sessions, 20,000 shares/s total from 2 generators, ledger on: submit round trip p50/p99/p999
  sessions   idle authorized sessions in one pool process: RSS per session at --steps
  smoke      300 sessions, 2 s, a mix of valid, stale, duplicate and low-difficulty shares (CI)

options (each overrides the scenario's own value):
  --sessions N        sessions (max ${MAX_SESSIONS})          --generators N   generator processes (1-8)
  --inflight K        submits in flight per session        --rate R         total shares/s (instead of --inflight)
  --seconds S         measured seconds                     --warmup S       seconds before measuring
  --hard F            fraction of sessions at --hard-difficulty (all their shares rejected low-difficulty)
  --hard-difficulty D (default 1)                          --stale F, --duplicate F   fractions of submits
  --branch N          merkle branch levels of the work (12 is mainnet-like)
  --difficulty D      the pool's fixed share difficulty (default 2^-32, the ledger's resolution: all but
                      1 in 65,536 random shares are valid; those few are counted as 'unlucky', not errors)
  --sync              fsync each group commit              --group-ms N, --group-max N   ledger group commit
  --steps a,b,c       session counts of the sessions scenario (default 2000,5000,10000,19000)
  --profile DIR       run the pool with --cpu-prof, profiles in DIR (read them with scripts/cpuprofile-top.ts)
  --heap-snapshot DIR sessions scenario: a heap snapshot of the pool at the last step, in DIR
  --bare              a bare Node responder in place of the pool (answers every submit at once: no
                      check, no ledger): what Node's socket I/O alone costs at this load, to read the
                      pool's numbers against
  --seed N            PRNG seed of the share mix          --json           JSON instead of tables`

interface ScenarioDefaults {
  sessions: number
  inflight: number
  rate: number
  seconds: number
  warmup: number
  hard: number
  stale: number
  duplicate: number
  branch: number
}

const DEFAULTS: Record<Exclude<Scenario, 'sessions'>, ScenarioDefaults> = {
  // As the ckpool reference: regtest work (coinbase only), 50 x 16, all shares low difficulty.
  invalid: { sessions: 50, inflight: 16, rate: 0, seconds: 10, warmup: 2, hard: 1, stale: 0, duplicate: 0, branch: 0 },
  accepted: { sessions: 200, inflight: 8, rate: 0, seconds: 10, warmup: 2, hard: 0, stale: 0, duplicate: 0, branch: 12 },
  latency: { sessions: 200, inflight: 0, rate: 20_000, seconds: 10, warmup: 2, hard: 0, stale: 0, duplicate: 0, branch: 12 },
  smoke: { sessions: 300, inflight: 2, rate: 0, seconds: 2, warmup: 0.5, hard: 0.1, stale: 0.05, duplicate: 0.05, branch: 12 },
}

export function parseArgs(argv: readonly string[]): { options: LoadOptions; given: Set<string> } {
  const o: LoadOptions = {
    scenarios: [],
    sessions: 0,
    generators: 0,
    inflight: 0,
    rate: 0,
    seconds: 0,
    warmup: 0,
    hard: 0,
    hardDifficulty: 1,
    stale: 0,
    duplicate: 0,
    branch: 0,
    difficulty: 2 ** -32,
    sync: false,
    groupMs: 0,
    groupMax: 1000,
    steps: [2000, 5000, 10_000, 19_000],
    profile: undefined,
    heapSnapshot: undefined,
    bare: false,
    json: false,
    seed: 1,
  }
  const given = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new UsageError(`${arg} needs a value`)
      return v
    }
    const num = (min: number, max: number, integer = false): number => {
      const v = value()
      const n = Number(v)
      if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
        throw new UsageError(`${arg}: ${integer ? 'an integer' : 'a number'} in ${min}..${max}, not ${v}`)
      }
      return n
    }
    if (!arg.startsWith('-')) {
      if (!(SCENARIOS as readonly string[]).includes(arg)) throw new UsageError(`unknown scenario ${arg} (one of ${SCENARIOS.join(', ')})`)
      o.scenarios.push(arg as Scenario)
      continue
    }
    const key = arg.replace(/^--/, '')
    given.add(key)
    switch (arg) {
      case '--sessions':
        o.sessions = num(1, MAX_SESSIONS, true)
        break
      case '--generators':
        o.generators = num(1, 8, true)
        break
      case '--inflight':
        o.inflight = num(1, 1024, true)
        break
      case '--rate':
        o.rate = num(1, 1_000_000, true)
        break
      case '--seconds':
        o.seconds = num(0.5, 600)
        break
      case '--warmup':
        o.warmup = num(0, 60)
        break
      case '--hard':
        o.hard = num(0, 1)
        break
      case '--hard-difficulty':
        o.hardDifficulty = num(1e-6, 1e15)
        break
      case '--stale':
        o.stale = num(0, 1)
        break
      case '--duplicate':
        o.duplicate = num(0, 1)
        break
      case '--branch':
        o.branch = num(0, 32, true)
        break
      case '--difficulty':
        o.difficulty = num(2 ** -32, 1e15)
        break
      case '--sync':
        o.sync = true
        break
      case '--group-ms':
        o.groupMs = num(0, 1000, true)
        break
      case '--group-max':
        o.groupMax = num(1, 100_000, true)
        break
      case '--steps':
        o.steps = value()
          .split(',')
          .map((s) => {
            const n = Number(s)
            if (!Number.isInteger(n) || n < 1 || n > MAX_SESSIONS) throw new UsageError(`--steps: integers in 1..${MAX_SESSIONS}, not ${s}`)
            return n
          })
          .sort((a, b) => a - b)
        break
      case '--profile':
        o.profile = value()
        break
      case '--heap-snapshot':
        o.heapSnapshot = value()
        break
      case '--seed':
        o.seed = num(0, 2 ** 32 - 1, true)
        break
      case '--json':
        o.json = true
        break
      case '--bare':
        o.bare = true
        break
      case '--help':
      case '-h':
        throw new UsageError(HELP)
      default:
        throw new UsageError(`unknown argument ${arg} (--help)`)
    }
  }
  if (given.has('rate') && given.has('inflight')) throw new UsageError('--rate or --inflight, not both')
  if (o.stale + o.duplicate > 1) throw new UsageError('--stale + --duplicate must be at most 1')
  if (o.scenarios.length === 0) o.scenarios = ['invalid', 'accepted', 'latency']
  if (o.bare && o.scenarios.includes('sessions')) throw new UsageError('--bare is for the throughput scenarios, not sessions')
  return { options: o, given }
}

/** The options of one scenario: its defaults, overridden by what was given. */
function scenarioOptions(scenario: Exclude<Scenario, 'sessions'>, o: LoadOptions, given: Set<string>): LoadOptions {
  const d = DEFAULTS[scenario]
  const pick = <K extends keyof ScenarioDefaults>(k: K, flag: string): ScenarioDefaults[K] => (given.has(flag) ? o[k] : d[k])
  const r: LoadOptions = {
    ...o,
    sessions: pick('sessions', 'sessions'),
    inflight: given.has('rate') ? 0 : pick('inflight', 'inflight'),
    rate: given.has('inflight') ? 0 : pick('rate', 'rate'),
    seconds: pick('seconds', 'seconds'),
    warmup: pick('warmup', 'warmup'),
    hard: pick('hard', 'hard'),
    stale: pick('stale', 'stale'),
    duplicate: pick('duplicate', 'duplicate'),
    branch: pick('branch', 'branch'),
  }
  // The latency scenario's submits come from two generators: one Node generator's own event loop adds
  // about 6 ms to the p99 it measures at 20,000/s (the bare responder: p99 8 ms with one, 2 ms with two).
  if (!given.has('generators')) r.generators = Math.max(scenario === 'latency' ? 2 : 1, Math.ceil(r.sessions / 10_000))
  return r
}

// ---- /proc -------------------------------------------------------------------

/** utime + stime of a process, in clock ticks; undefined when it is gone (or not Linux). */
function cpuTicksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(rest[11]) + Number(rest[12])
  } catch {
    return undefined
  }
}

/** VmRSS of a process in bytes. */
function rssOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? undefined : Number(m[1]) * 1024
  } catch {
    return undefined
  }
}

/**
 * Ticks of the whole machine (all CPUs) from /proc/stat: busy (everything
 * but idle and iowait), of it stolen (the hypervisor ran another guest on
 * our vCPU: on a shared VM the largest source of run-to-run noise) and
 * softirq (mostly loopback TCP here, charged to no process).
 */
function machineTicks(): { busy: number; steal: number; softirq: number } | undefined {
  try {
    const f = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), steal: f[7] ?? 0, softirq: f[6] ?? 0 }
  } catch {
    return undefined
  }
}

interface CpuMark {
  at: number
  pool: number | undefined
  generators: number | undefined
  self: number | undefined
  machine: { busy: number; steal: number; softirq: number } | undefined
}

function cpuMark(poolPid: number, generatorPids: number[]): CpuMark {
  let gens: number | undefined = 0
  for (const pid of generatorPids) {
    const t = cpuTicksOf(pid)
    gens = t === undefined || gens === undefined ? undefined : gens + t
  }
  return { at: performance.now(), pool: cpuTicksOf(poolPid), generators: gens, self: cpuTicksOf(process.pid), machine: machineTicks() }
}

/** % of one core between two marks: pool, generators, others (every other process, interrupts and softirq), stolen by the hypervisor, softirq alone. */
function cpuShare(a: CpuMark, b: CpuMark): { pool: number; generators: number; others: number; steal: number; softirq: number } {
  const s = (b.at - a.at) / 1000
  const pct = (x: number | undefined, y: number | undefined): number => (x === undefined || y === undefined ? NaN : ((y - x) / CLOCK_TICKS / s) * 100)
  const pool = pct(a.pool, b.pool)
  const generators = pct(a.generators, b.generators)
  const machine = pct(a.machine?.busy, b.machine?.busy)
  const steal = pct(a.machine?.steal, b.machine?.steal)
  return { pool, generators, others: Math.max(0, machine - pool - generators - steal), steal, softirq: pct(a.machine?.softirq, b.machine?.softirq) }
}

// ---- children ------------------------------------------------------------------

function nextMessage<T>(child: ChildProcess, match: (m: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', on)
      child.off('exit', onExit)
      reject(new Error(`${what}: no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    const done = (): void => {
      clearTimeout(timer)
      child.off('message', on)
      child.off('exit', onExit)
    }
    const on = (m: unknown): void => {
      if ((m as { type?: string }).type === 'error') {
        done()
        reject(new Error(`${what}: ${(m as { message: string }).message}`))
      } else if (match(m as T)) {
        done()
        resolve(m as T)
      }
    }
    const onExit = (code: number | null): void => {
      done()
      reject(new Error(`${what}: the process exited (${String(code)})`))
    }
    child.on('message', on)
    child.once('exit', onExit)
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

const here = fileURLToPath(new URL('.', import.meta.url))
/** `.js` in dist/scripts; `.ts` when run from source under a TypeScript loader (the CI smoke test), which the children inherit. */
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
const children = new Set<ChildProcess>()

function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

interface PoolHandle {
  child: ChildProcess
  pid: number
  port: number
  hasher: string
  request<T extends FromPool>(m: ToPool, type: T['type'], timeoutMs?: number): Promise<T>
}

async function startPoolProcess(o: LoadOptions, extraExecArgv: string[] = []): Promise<PoolHandle> {
  const options: PoolRunnerOptions = {
    difficulty: o.difficulty,
    branch: o.branch,
    sync: o.sync,
    groupCommitMs: o.groupMs,
    groupCommitMax: o.groupMax,
    logLevel: 'error',
  }
  const execArgv = [...process.execArgv, ...extraExecArgv]
  if (o.profile !== undefined) {
    mkdirSync(o.profile, { recursive: true })
    execArgv.push('--cpu-prof', '--cpu-prof-dir', o.profile)
  }
  const child = track(fork(join(here, `${o.bare ? 'bench-bare' : 'bench-pool'}${ext}`), [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv }))
  const ready = await nextMessage<FromPool>(child, (m) => m.type === 'ready', 60_000, 'pool start')
  if (ready.type !== 'ready') throw new Error('unreachable')
  return {
    child,
    pid: ready.pid,
    port: ready.port,
    hasher: ready.hasher,
    request: <T extends FromPool>(m: ToPool, type: T['type'], timeoutMs = 30_000) => {
      const answer = nextMessage<T>(child, (r) => r.type === type, timeoutMs, `pool ${m.type}`)
      child.send(m)
      return answer
    },
  }
}

async function stopPool(pool: PoolHandle): Promise<void> {
  if (pool.child.exitCode !== null || pool.child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => pool.child.once('exit', () => resolve()))
  pool.child.send({ type: 'exit' } satisfies ToPool)
  await Promise.race([exited, sleep(15_000)])
  if (pool.child.exitCode === null && pool.child.signalCode === null) pool.child.kill('SIGKILL')
}

function startGenerators(n: number): ChildProcess[] {
  return Array.from({ length: n }, () => track(fork(join(here, `load-clients${ext}`), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })))
}

function stopGenerators(generators: ChildProcess[]): void {
  for (const g of generators) if (g.connected) g.send({ type: 'exit' } satisfies ToGenerator)
}

const ADDRESSES = Array.from({ length: SOURCE_ADDRESSES }, (_, i) => `127.0.0.${i + 2}`)

/** Opens `count` more sessions spread over the generators; `hard` of them at the hard difficulty. */
async function openSessions(generators: ChildProcess[], port: number, count: number, hard: number, hardDifficulty: number, first: number): Promise<number> {
  const started = performance.now()
  await Promise.all(
    generators.map((g, i) => {
      const share = Math.floor(count / generators.length) + (i < count % generators.length ? 1 : 0)
      const hardShare = Math.floor(hard / generators.length) + (i < hard % generators.length ? 1 : 0)
      if (share === 0) return Promise.resolve()
      const opened = nextMessage<FromGenerator>(g, (m) => m.type === 'opened', 300_000, `open ${share} sessions`)
      g.send({
        type: 'open',
        port,
        count: share,
        hard: Math.min(share, hardShare),
        hardDifficulty,
        addresses: ADDRESSES.filter((_, k) => k % generators.length === i),
        worker: `bench${i}`,
        first: first + i * 1_000_000,
      } satisfies ToGenerator)
      return opened
    }),
  )
  return performance.now() - started
}

// ---- throughput scenarios ------------------------------------------------------

interface Quantiles {
  p50: number
  p99: number
  p999: number
  max: number
}

export interface ThroughputResult {
  scenario: Scenario
  options: {
    sessions: number
    generators: number
    inflight: number
    rate: number
    seconds: number
    hard: number
    stale: number
    duplicate: number
    branch: number
    sync: boolean
    groupMs: number
    /** The bare responder ran in place of the pool (`--bare`). */
    bare: boolean
  }
  hasher: string
  /** Submits answered per second in the window (checked), and accepted per second. */
  checkedPerSecond: number
  acceptedPerSecond: number
  sent: number
  answered: Record<ShareKind, number>
  outcomes: Record<string, number>
  /** Submit round trip, ms. */
  latencyMs: Quantiles
  /** unexpected: answers other than the kind's expected one; unlucky: valid shares above the 2^-32 target by chance (1 in 65,536). */
  errors: { unexpected: Record<string, number>; unlucky: number; unanswered: number; closed: number; skipped: number }
  cpuPercent: { pool: number; generators: number; others: number; steal: number; softirq: number }
  pool: { rssStartBytes: number; rssMaxBytes: number; rssEndBytes: number; rssPerSessionBytes: number; ledgerGroups: number; ledgerShares: number; ledgerEvents: number }
  /** The pool during the measured window: event-loop delay, and the share group commits' longest write and longest wait of a share. */
  window: { loopP99Ms: number; loopMaxMs: number; commitWriteMaxMs: number; commitWaitMaxMs: number; commitWriteP50Ms: number; commitWriteP99Ms: number; recordedP50Ms: number; recordedP99Ms: number }
  handshakeMs: number
}

function mergeResults(results: RunResult[]): RunResult {
  const out: RunResult = { type: 'result', sent: 0, answered: { valid: 0, stale: 0, duplicate: 0, low: 0 }, unexpected: {}, outcomes: {}, histogram: [], unanswered: 0, closed: 0, windowMs: 0, skipped: 0 }
  const hist = new Map<number, number>()
  for (const r of results) {
    out.sent += r.sent
    for (const k of Object.keys(out.answered) as ShareKind[]) out.answered[k] += r.answered[k]
    for (const [k, v] of Object.entries(r.unexpected)) out.unexpected[k] = (out.unexpected[k] ?? 0) + v
    for (const [k, v] of Object.entries(r.outcomes)) out.outcomes[k] = (out.outcomes[k] ?? 0) + v
    for (const [b, c] of r.histogram) hist.set(b, (hist.get(b) ?? 0) + c)
    out.unanswered += r.unanswered
    out.closed += r.closed
    out.skipped += r.skipped
    out.windowMs = Math.max(out.windowMs, r.windowMs)
  }
  out.histogram = [...hist.entries()].sort((a, b) => a[0] - b[0])
  return out
}

/** Unexpected answers without 'valid:23': at difficulty 2^-32 one random share in 65,536 is above the target. */
function withoutUnlucky(unexpected: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(unexpected).filter(([k]) => k !== 'valid:23'))
}

function quantiles(histogram: [number, number][]): Quantiles {
  const total = histogram.reduce((n, [, c]) => n + c, 0)
  const at = (p: number): number => {
    const want = Math.max(1, Math.ceil(p * total))
    let seen = 0
    for (const [b, c] of histogram) {
      seen += c
      if (seen >= want) return BUCKET_BASE ** (b + 0.5) / 1000
    }
    return NaN
  }
  const last = histogram[histogram.length - 1]
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: last === undefined ? NaN : BUCKET_BASE ** (last[0] + 1) / 1000 }
}

async function runThroughput(scenario: Exclude<Scenario, 'sessions'>, o: LoadOptions, log: (s: string) => void): Promise<ThroughputResult> {
  const pool = await startPoolProcess(o)
  const generators = startGenerators(o.generators)
  try {
    const before = await pool.request<PoolStats>({ type: 'stats', gc: false }, 'stats')
    const hard = Math.round(o.sessions * o.hard)
    const handshakeMs = await openSessions(generators, pool.port, o.sessions, hard, o.hardDifficulty, 0)
    if (o.stale > 0) {
      // A block change, so that every session holds a job of an older block to be stale with.
      await pool.request({ type: 'block' }, 'block-done')
      await sleep(500)
    }
    log(`${scenario}: ${o.sessions} sessions open (${handshakeMs.toFixed(0)} ms), running ${o.warmup} + ${o.seconds} s`)
    const poolStart = await pool.request<PoolStats>({ type: 'stats', gc: false }, 'stats')
    const gpids = generators.map((g) => g.pid ?? 0)
    const rate = Math.floor(o.rate / generators.length)
    const results = Promise.all(
      generators.map((g) => {
        const answer = nextMessage<FromGenerator>(g, (m) => m.type === 'result', (o.warmup + o.seconds) * 1000 + 60_000, 'run')
        g.send({
          type: 'run',
          rate,
          inflight: o.inflight,
          warmupMs: o.warmup * 1000,
          durationMs: o.seconds * 1000,
          drainMs: 5000,
          stale: o.stale,
          duplicate: o.duplicate,
          seed: o.seed,
        } satisfies ToGenerator)
        return answer
      }),
    )
    await sleep(o.warmup * 1000)
    await pool.request<PoolStats>({ type: 'stats', gc: false }, 'stats') // starts the window's loop-delay and commit maxima
    const markA = cpuMark(pool.pid, gpids)
    let rssMax = 0
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssOf(pool.pid) ?? 0)), 250)
    await sleep(o.seconds * 1000)
    const markB = cpuMark(pool.pid, gpids)
    const windowStats = await pool.request<PoolStats>({ type: 'stats', gc: false }, 'stats')
    clearInterval(sampler)
    const merged = mergeResults((await results) as RunResult[])
    const after = await pool.request<PoolStats>({ type: 'stats', gc: false }, 'stats')
    const seconds = merged.windowMs / 1000
    const answeredTotal = Object.values(merged.answered).reduce((a, b) => a + b, 0)
    return {
      scenario,
      options: {
        sessions: o.sessions,
        generators: o.generators,
        inflight: o.inflight,
        rate: o.rate,
        seconds: o.seconds,
        hard: o.hard,
        stale: o.stale,
        duplicate: o.duplicate,
        branch: o.branch,
        sync: o.sync,
        groupMs: o.groupMs,
        bare: o.bare,
      },
      hasher: pool.hasher,
      checkedPerSecond: answeredTotal / seconds,
      acceptedPerSecond: (merged.outcomes['accepted'] ?? 0) / seconds,
      sent: merged.sent,
      answered: merged.answered,
      outcomes: merged.outcomes,
      latencyMs: quantiles(merged.histogram),
      // The bare responder answers every submit true: outcomes say nothing there.
      errors: { unexpected: o.bare ? {} : withoutUnlucky(merged.unexpected), unlucky: merged.unexpected['valid:23'] ?? 0, unanswered: merged.unanswered, closed: merged.closed, skipped: merged.skipped },
      cpuPercent: cpuShare(markA, markB),
      pool: {
        rssStartBytes: poolStart.rssBytes,
        rssMaxBytes: Math.max(rssMax, after.rssBytes),
        rssEndBytes: after.rssBytes,
        rssPerSessionBytes: (poolStart.rssBytes - before.rssBytes) / o.sessions,
        ledgerGroups: after.groups - poolStart.groups,
        ledgerShares: after.groupItems - poolStart.groupItems,
        ledgerEvents: after.events - poolStart.events,
      },
      window: { loopP99Ms: windowStats.loopP99Ms, loopMaxMs: windowStats.loopMaxMs, commitWriteMaxMs: windowStats.commitWriteMaxMs, commitWaitMaxMs: windowStats.commitWaitMaxMs, commitWriteP50Ms: windowStats.commitWriteP50Ms, commitWriteP99Ms: windowStats.commitWriteP99Ms, recordedP50Ms: windowStats.recordedP50Ms, recordedP99Ms: windowStats.recordedP99Ms },
      handshakeMs,
    }
  } finally {
    stopGenerators(generators)
    await stopPool(pool)
  }
}

// ---- sessions scenario -----------------------------------------------------------

export interface SessionsStep {
  sessions: number
  rssBytes: number
  heapUsedBytes: number
  externalBytes: number
  /** (RSS - RSS with no session) / sessions. */
  rssPerSession: number
  heapPerSession: number
  /** RSS added per session since the previous step. */
  marginalRssPerSession: number
  openMs: number
}

async function runSessions(o: LoadOptions, log: (s: string) => void): Promise<{ baseline: PoolStats; steps: SessionsStep[]; hasher: string; generators: number }> {
  const most = o.steps[o.steps.length - 1] ?? 0
  const nGen = o.generators > 0 ? o.generators : Math.max(2, Math.ceil(most / 10_000))
  if (Math.ceil(most / nGen) > MAX_PER_GENERATOR) throw new UsageError(`${most} sessions need --generators ${Math.ceil(most / MAX_PER_GENERATOR)} or more`)
  const pool = await startPoolProcess({ ...o, branch: 12 }, ['--expose-gc'])
  const generators = startGenerators(nGen)
  try {
    const settle = async (): Promise<PoolStats> => {
      await sleep(1000)
      await pool.request({ type: 'stats', gc: true }, 'stats')
      await sleep(200)
      return pool.request<PoolStats>({ type: 'stats', gc: true }, 'stats')
    }
    const baseline = await settle()
    const steps: SessionsStep[] = []
    let open = 0
    let prev = baseline.rssBytes
    for (const target of o.steps) {
      const openMs = await openSessions(generators, pool.port, target - open, 0, 1, open)
      open = target
      let stats = await settle()
      for (let i = 0; stats.authorized < target && i < 30; i++) stats = await settle()
      steps.push({
        sessions: stats.authorized,
        rssBytes: stats.rssBytes,
        heapUsedBytes: stats.heapUsedBytes,
        externalBytes: stats.externalBytes,
        rssPerSession: (stats.rssBytes - baseline.rssBytes) / target,
        heapPerSession: (stats.heapUsedBytes - baseline.heapUsedBytes) / target,
        marginalRssPerSession: (stats.rssBytes - prev) / (target - (steps[steps.length - 1]?.sessions ?? 0)),
        openMs,
      })
      prev = stats.rssBytes
      log(`sessions: ${target} authorized, pool RSS ${(stats.rssBytes / 1048576).toFixed(1)} MiB`)
    }
    if (o.heapSnapshot !== undefined) {
      mkdirSync(o.heapSnapshot, { recursive: true })
      const snap = await pool.request<Extract<FromPool, { type: 'heap-snapshot' }>>({ type: 'heap-snapshot', dir: o.heapSnapshot }, 'heap-snapshot', 120_000)
      log(`heap snapshot: ${snap.path}`)
    }
    return { baseline, steps, hasher: pool.hasher, generators: nGen }
  } finally {
    stopGenerators(generators)
    await stopPool(pool)
  }
}

// ---- output ------------------------------------------------------------------------

function machine(): { cpu: string; cores: number; node: string; kernel: string; loadAverage: number[] } {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, kernel: release(), loadAverage: loadavg().map((x) => Number(x.toFixed(2))) }
}

const f0 = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-')
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-')

export function formatThroughput(r: ThroughputResult): string {
  const o = r.options
  const load = o.rate > 0 ? `${f0(o.rate)} shares/s offered` : `${o.inflight} in flight per session`
  const mix = `hard sessions ${Math.round(o.hard * 100)}%, stale ${Math.round(o.stale * 100)}%, duplicate ${Math.round(o.duplicate * 100)}%`
  const errors = Object.values(r.errors.unexpected).reduce((a, b) => a + b, 0) + r.errors.unanswered + r.errors.closed
  const what = o.bare ? 'BARE Node responder in place of the pool (every submit answered true at once: no check, no ledger)' : `ledger sync=${o.sync} group ${o.groupMs} ms; hasher ${r.hasher}`
  const lines = [
    `${r.scenario}: ${o.sessions} sessions over ${o.generators} generator(s), ${load}, ${o.seconds} s measured; ${mix}; branch ${o.branch}; ${what}`,
    `  checked/s    accepted/s    p50 ms   p99 ms  p999 ms   max ms   pool CPU%  gen CPU%  others%   pool RSS MiB (start/max)  RSS/session  errors`,
    `  ${f0(r.checkedPerSecond).padStart(9)}  ${f0(r.acceptedPerSecond).padStart(12)}  ${f2(r.latencyMs.p50).padStart(8)} ${f2(r.latencyMs.p99).padStart(8)} ${f2(r.latencyMs.p999).padStart(8)} ${f2(r.latencyMs.max).padStart(8)}  ${f0(r.cpuPercent.pool).padStart(10)} ${f0(r.cpuPercent.generators).padStart(9)} ${f0(r.cpuPercent.others).padStart(8)}   ${`${(r.pool.rssStartBytes / 1048576).toFixed(1)} / ${(r.pool.rssMaxBytes / 1048576).toFixed(1)}`.padStart(24)}  ${`${(r.pool.rssPerSessionBytes / 1024).toFixed(1)} KiB`.padStart(11)}  ${errors}`,
  ]
  if (o.bare) {
    lines.push(`  responder in the window: event-loop delay p99 ${f2(r.window.loopP99Ms)} ms, max ${f2(r.window.loopMaxMs)} ms`)
  } else {
    lines.push(
      `  answers: ${Object.entries(r.outcomes)
        .map(([k, v]) => `${k === 'accepted' ? k : `code ${k}`} ${v}`)
        .join(', ')}; ledger: ${f0(r.pool.ledgerShares)} shares in ${f0(r.pool.ledgerGroups)} groups, ${f0(r.pool.ledgerEvents)} rejects tallied`,
      `  pool in the window: event-loop delay p99 ${f2(r.window.loopP99Ms)} ms, max ${f2(r.window.loopMaxMs)} ms; group commit: writes p50 ${f2(r.window.commitWriteP50Ms)} ms, p99 ${f2(r.window.commitWriteP99Ms)} ms, longest ${f2(r.window.commitWriteMaxMs)} ms, longest wait of a share ${f2(r.window.commitWaitMaxMs)} ms; accepted share from check to committed p50 ${r.window.recordedP50Ms} ms, p99 ${r.window.recordedP99Ms} ms (whole ms)`,
    )
  }
  lines.push(`  machine in the window: stolen by the hypervisor ${f0(r.cpuPercent.steal)} % of a core (others ran on our vCPUs: compare runs with little steal), softirq ${f0(r.cpuPercent.softirq)} %`)
  if (errors > 0 || r.errors.skipped > 0) {
    lines.push(`  errors: unexpected ${JSON.stringify(r.errors.unexpected)} (unlucky valid shares ${r.errors.unlucky}), unanswered ${r.errors.unanswered}, sessions closed ${r.errors.closed}, rate-mode skips ${r.errors.skipped}`)
  }
  return lines.join('\n')
}

function formatSessions(s: Awaited<ReturnType<typeof runSessions>>): string {
  const lines = [
    `sessions: idle authorized sessions in one pool process (${s.generators} generators), after a full GC; baseline RSS ${(s.baseline.rssBytes / 1048576).toFixed(1)} MiB, heap ${(s.baseline.heapUsedBytes / 1048576).toFixed(1)} MiB`,
    '  sessions   RSS MiB  heap MiB  RSS/session  marginal RSS/session  heap/session  open ms',
  ]
  for (const st of s.steps) {
    lines.push(
      `  ${String(st.sessions).padStart(8)}  ${(st.rssBytes / 1048576).toFixed(1).padStart(8)}  ${(st.heapUsedBytes / 1048576).toFixed(1).padStart(8)}  ${`${(st.rssPerSession / 1024).toFixed(2)} KiB`.padStart(11)}  ${`${(st.marginalRssPerSession / 1024).toFixed(2)} KiB`.padStart(20)}  ${`${(st.heapPerSession / 1024).toFixed(2)} KiB`.padStart(12)}  ${f0(st.openMs).padStart(7)}`,
    )
  }
  return lines.join('\n')
}

async function main(argv: readonly string[]): Promise<number> {
  const { options, given } = parseArgs(argv)
  const watchdog = setTimeout(() => {
    console.error(`bench-load: still running after ${WATCHDOG_MS / 1000} s, giving up`)
    process.exit(1)
  }, WATCHDOG_MS)
  watchdog.unref()
  const log = (s: string): void => {
    if (!options.json) process.stderr.write(`${s}\n`)
  }
  const m = machine()
  if (!options.json) console.log(`machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, Linux ${m.kernel}, load average ${m.loadAverage.join(' ')} at the start`)
  const out: { machine: typeof m; throughput: ThroughputResult[]; sessions?: Awaited<ReturnType<typeof runSessions>>; loadAverageEnd?: number[] } = { machine: m, throughput: [] }
  let failed = false
  for (const scenario of options.scenarios) {
    if (scenario === 'sessions') {
      const s = await runSessions(options, log)
      out.sessions = s
      if (!options.json) console.log(`\n${formatSessions(s)}`)
      if (s.steps.some((st, i) => st.sessions !== options.steps[i])) failed = true
      continue
    }
    const r = await runThroughput(scenario, scenarioOptions(scenario, options, given), log)
    out.throughput.push(r)
    if (!options.json) console.log(`\n${formatThroughput(r)}`)
    if (Object.keys(r.errors.unexpected).length > 0 || r.errors.unanswered > 0 || r.errors.closed > 0) failed = true
  }
  out.loadAverageEnd = loadavg().map((x) => Number(x.toFixed(2)))
  if (options.json) console.log(JSON.stringify(out, null, 2))
  else console.log(`\nload average ${out.loadAverageEnd.join(' ')} at the end`)
  return failed ? 1 : 0
}

process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130))

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(err.message)
      process.exit(err.message === HELP ? 0 : 2)
    }
    console.error(`bench-load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    process.exit(1)
  },
)
