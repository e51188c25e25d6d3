/**
 * Proxy failover: time to new work and shares lost when the primary
 * upstream pool dies while miners hash, then the fail-back (issue 5).
 *
 *   npm run build:ts && node dist/scripts/bench-failover.js [--sessions 500] [--hashing 20] [--json]
 *
 * One process, everything on 127.0.0.1, real sockets:
 *
 * - two upstream pools, each a Headframe StratumServer fed by regtest
 *   fixture work (pool B hands out 5 extranonce2 bytes instead of 8, so moving to
 *   it changes the miners' extranonce2 size: half the sessions subscribed to
 *   `mining.set_extranonce`, the other half get a staggered
 *   `client.reconnect` and come back, as cgminer does);
 * - the proxy: StratumServer + FailoverSource over two UpstreamSources,
 *   wired as `headframe run` wires them (defaults: failover check every
 *   250 ms, reconnect spread 2 s; hold-down shortened to 3 s);
 * - `--sessions` FakeMiners, `--hashing` of which submit real shares
 *   (native nonce scan) in a loop at the upstream difficulty.
 *
 * Measured from the moment pool A's listener and sessions are closed:
 * detection (the failover's switch), each session's first clean job of
 * pool B (p50 / p99 / max, the reconnecting half separately), and shares:
 * submitted, rejected locally, accepted locally but not accepted upstream
 * (lost). Then pool A returns and the same is measured for the fail-back.
 * Each phase's share counts are taken with the miners paused and every
 * forwarded share answered (or given up on) at both ends, so a share in
 * flight at a phase boundary is counted in one phase only.
 */
import { cpus, loadavg, release } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseConfig } from '../src/config/index.js'
import { FailoverSource } from '../src/jobs/failover-source.js'
import { UpstreamSource } from '../src/jobs/upstream-source.js'
import { createLogger } from '../src/log.js'
import { FixedDifficulty } from '../src/server/difficulty-control.js'
import { StratumServer } from '../src/server/stratum-server.js'
import { selectHasher } from '../src/shares/hasher.js'
import { FakeMiner } from '../test/helpers/fake-miner.js'
import { FixtureSource } from '../test/helpers/fixture-source.js'
import { freePort } from '../test/helpers/free-port.js'

/** Low, so that the hashing sessions (in this process) leave the event loop mostly free. */
const DIFFICULTY = 0.00002
/** Pause between two shares of a hashing session (ms). */
const SHARE_PAUSE_MS = 100
const HOLD_DOWN_MS = 3000
const WATCHDOG_MS = 5 * 60_000

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const SESSIONS = arg('sessions', 500)
const HASHING = Math.min(arg('hashing', 10), SESSIONS)
const JSON_OUT = process.argv.includes('--json')
const log = createLogger({ level: 'silent' })
const hasher = selectHasher({})

async function pool(port: number, work: FixtureSource): Promise<StratumServer> {
  const config = parseConfig({ stratum: { host: '127.0.0.1', port } })
  const server = new StratumServer({ config: config.stratum, hasher, log, difficulty: () => new FixedDifficulty(DIFFICULTY) })
  await server.listen()
  server.attachSource(work)
  return server
}

interface Client {
  miner: FakeMiner
  name: string
  subscribed: boolean
  /** ms (performance.now) of the first clean job from the source waited for. */
  arrived: number | undefined
  reconnected: boolean
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error('bench-failover: watchdog fired')
    process.exit(2)
  }, WATCHDOG_MS)
  watchdog.unref()
  const [portA, portB, proxyPort] = [await freePort(), await freePort(), await freePort()]
  const workA = new FixtureSource()
  const workB = new FixtureSource()
  // Pool B's work has 9 bytes of extranonce space: 4 extranonce1 + 5 extranonce2 for the proxy.
  workB.next(true, { extranonceSize: 9 })
  let poolA = await pool(portA, workA)
  const poolB = await pool(portB, workB)

  const config = parseConfig({ stratum: { host: '127.0.0.1', port: proxyPort, extranonce1_size: 2, extranonce2_size: 4, limits: { max_connections_per_ip: 0 } } })
  const upstream = (name: string, port: number) =>
    new UpstreamSource({
      name,
      endpoint: { host: '127.0.0.1', port, tls: false },
      user: 'farm.proxy',
      password: 'x',
      versionMask: config.stratum.version_mask,
      followReconnect: false,
      connectTimeoutMs: 10_000,
      responseTimeoutMs: 10_000,
      idleTimeoutMs: 300_000,
      reconnectMinMs: 1000,
      reconnectMaxMs: 30_000,
      prefixSize: 2,
      maxMinerExtranonce2: 4,
      maxConsecutiveRejects: 20,
      log,
    })
  const sources = [upstream('a', portA), upstream('b', portB)]
  const failover = new FailoverSource({ sources, checkIntervalMs: 250, noWorkTimeoutMs: 120_000, holdDownMs: HOLD_DOWN_MS, failGraceMs: 500, log })
  const proxy = new StratumServer({ config: config.stratum, hasher, log, difficulty: () => new FixedDifficulty(DIFFICULTY) })
  await proxy.listen()
  proxy.attachSource(failover)
  await failover.start()
  const sourceOf = (jobId: string) => proxy.book.lookup(jobId)?.job.work.source

  let waitingFor = 'a'
  const clients: Client[] = []
  const check = (c: Client): void => {
    if (c.arrived !== undefined) return
    const job = c.miner.lastNotify()
    if (job !== undefined && job.clean && sourceOf(job.jobId) === waitingFor) c.arrived = performance.now()
  }
  let stopping = false
  /** Connects (again), as cgminer does on client.reconnect: at once, retrying on failure. */
  const connectClient = async (c: Client): Promise<void> => {
    while (!stopping) {
      try {
        const miner = await FakeMiner.connect(proxyPort)
        c.miner = miner
        // After the FakeMiner's own listener: its `received` already holds the line.
        miner.socket.on('data', () => check(c))
        miner.socket.on('close', () => {
          if (stopping || c.miner !== miner) return
          c.reconnected = true
          void connectClient(c)
        })
        if (c.subscribed) await miner.request('mining.extranonce.subscribe', [])
        await miner.handshake(c.name)
        check(c)
        return
      } catch {
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }
  // In batches of 50: connecting 500 one by one takes long on a busy machine.
  for (let i = 0; i < SESSIONS; i += 50) {
    const batch = Array.from({ length: Math.min(50, SESSIONS - i) }, (_, j) => ({ name: `acct.rig${i + j}`, subscribed: (i + j) % 2 === 0, arrived: undefined, reconnected: false }) as unknown as Client)
    await Promise.all(batch.map((c) => connectClient(c)))
    clients.push(...batch)
  }
  progress(`${clients.length} sessions connected`)
  await waitAll(clients, 'a')
  progress('every session has work from pool A')

  const shares = { submitted: 0, acceptedLocally: 0, rejectedLocally: 0 }
  let paused = false
  let inFlight = 0
  const hashing = async (c: Client, index: number): Promise<void> => {
    let n = 0
    while (!stopping) {
      const job = c.miner.lastNotify()
      if (paused || job === undefined || c.miner.closed) {
        await new Promise((r) => setTimeout(r, 20))
        continue
      }
      const found = c.miner.findShare(job, { difficulty: DIFFICULTY, extranonce2: en2(c.miner.extranonce2Size, index, n++) })
      shares.submitted++
      inFlight++
      try {
        const reply = await c.miner.submit(c.name, job.jobId, found)
        if (reply.result === true) shares.acceptedLocally++
        else shares.rejectedLocally++
      } catch {
        shares.rejectedLocally++ // the connection closed before the answer
      } finally {
        inFlight--
      }
      await new Promise((r) => setTimeout(r, SHARE_PAUSE_MS))
    }
  }
  const loops = clients.slice(0, HASHING).map((c, i) => hashing(c, i))
  await new Promise((r) => setTimeout(r, 2000))

  /** Pauses the hashing sessions until every submit is answered and the upstream answers stop coming (300 ms without one, at most 10 s). */
  /** ...and says whether that happened (false: the 10 s ran out, the phase's counts may include shares in flight). */
  const quiesce = async (): Promise<boolean> => {
    paused = true
    const until = performance.now() + 10_000
    let seen = -1
    while (performance.now() < until) {
      const answered = upstreamAnswered()
      if (inFlight === 0 && answered === seen) return true
      seen = answered
      await new Promise((r) => setTimeout(r, 300))
    }
    return false
  }
  const phase = async (label: string, target: string, act: () => Promise<void>) => {
    for (const c of clients) {
      c.arrived = undefined
      c.reconnected = false
    }
    waitingFor = target
    const settledBefore = await quiesce()
    const before = { ...shares, upstream: upstreamAccepted() }
    paused = false
    const switchesBefore = failover.status().switches
    const t0 = performance.now()
    await act()
    progress(`${label}: started`)
    await waitAll(clients, target)
    progress(`${label}: every session has work from ${target}`)
    const switched = failover.status().lastSwitch
    const detect = switched !== null && failover.status().switches > switchesBefore ? switched.at - (Date.now() - (performance.now() - t0)) : NaN
    await new Promise((r) => setTimeout(r, 1500))
    const settledAfter = await quiesce()
    const after = { ...shares, upstream: upstreamAccepted() }
    const times = (filter: (c: Client) => boolean) => clients.filter(filter).map((c) => (c.arrived as number) - t0)
    const all = times(() => true)
    const reconnecting = times((c) => c.reconnected)
    const submitted = after.submitted - before.submitted
    const localAccepted = after.acceptedLocally - before.acceptedLocally
    return {
      phase: label,
      detectMs: Math.round(detect),
      newWorkMs: { p50: Math.round(percentile(all, 50)), p99: Math.round(percentile(all, 99)), max: Math.round(Math.max(...all)) },
      reconnected: reconnecting.length,
      reconnectedMaxMs: reconnecting.length === 0 ? null : Math.round(Math.max(...reconnecting)),
      shares: {
        submitted,
        rejectedLocally: after.rejectedLocally - before.rejectedLocally,
        acceptedLocally: localAccepted,
        lostUpstream: localAccepted - (after.upstream - before.upstream),
        /** False: shares were still in flight at a phase boundary after 10 s, so the counts are approximate. */
        settled: settledBefore && settledAfter,
      },
    }
  }
  function upstreamAccepted(): number {
    let n = 0
    for (const w of proxy.workers.values()) n += w.upstreamAccepted
    return n
  }
  function upstreamAnswered(): number {
    let n = upstreamAccepted()
    for (const w of proxy.workers.values()) for (const k in w.upstreamRejected) n += w.upstreamRejected[k] ?? 0
    return n
  }

  const results = []
  results.push(
    await phase('kill primary (A -> B)', 'b', async () => {
      await poolA.close()
    }),
  )
  results.push(
    await phase(`fail back (B -> A, hold-down ${HOLD_DOWN_MS} ms included)`, 'a', async () => {
      poolA = await pool(portA, workA)
    }),
  )
  stopping = true
  await Promise.allSettled(loops)
  for (const c of clients) c.miner.close()
  await failover.stop()
  await proxy.close()
  await poolA.close()
  await poolB.close()

  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, kernel: release(), load: loadavg().map((l) => l.toFixed(2)).join(' ') }
  if (JSON_OUT) {
    console.log(JSON.stringify({ sessions: SESSIONS, hashing: HASHING, machine, results }, null, 2))
    return
  }
  console.log(`bench-failover: ${SESSIONS} sessions (${HASHING} hashing, half subscribed to set_extranonce), ${machine.cpu} x${machine.cores}, node ${machine.node}, load ${machine.load}`)
  console.log('| phase | detect (ms) | new work p50 / p99 / max (ms) | reconnected (max ms) | submitted | rejected locally | lost upstream |')
  console.log('|---|---|---|---|---|---|---|')
  for (const r of results) {
    console.log(
      `| ${r.phase} | ${r.detectMs} | ${r.newWorkMs.p50} / ${r.newWorkMs.p99} / ${r.newWorkMs.max} | ${r.reconnected} (${r.reconnectedMaxMs ?? '-'}) | ${r.shares.submitted} | ${r.shares.rejectedLocally} | ${r.shares.lostUpstream}${r.shares.settled ? '' : ' (not settled: shares still in flight at a boundary)'} |`,
    )
  }
}

/** A distinct extranonce2 per share of a hashing session. */
function en2(size: number, session: number, n: number): Buffer {
  const b = Buffer.alloc(size)
  b.writeUIntBE((session * 65_536 + n) % 2 ** Math.min(48, 8 * size), 0, Math.min(6, size))
  return b
}

function progress(what: string): void {
  if (!JSON_OUT) console.error(`[${new Date().toISOString()}] ${what}`)
}

async function waitAll(clients: Client[], source: string): Promise<void> {
  const start = Date.now()
  while (clients.some((c) => c.arrived === undefined)) {
    if (Date.now() - start > 60_000) {
      const missing = clients.filter((c) => c.arrived === undefined).length
      throw new Error(`${missing} sessions never got work from ${source}`)
    }
    await new Promise((r) => setTimeout(r, 5))
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
