/**
 * `headframe demo`: the whole pool on one laptop, no bitcoind needed.
 *
 * It starts a SIMULATED regtest chain (simulated-chain.ts) behind a
 * bitcoind-compatible JSON-RPC server (chain-rpc.ts), then the pool exactly
 * as `headframe run` does (`startPool` with a config whose one source is a
 * `bitcoind` source pointing at that server: the real template source,
 * Stratum server, ledger and HTTP API), then a few CPU miners (cpu-miner.ts)
 * that connect over TCP Stratum. It narrates what happens on stdout: shares,
 * vardiff changes, blocks, and the PPLNS split of each block computed from
 * the ledger's window with src/payouts. The pool's own JSON logs go to
 * `<data>/headframe.log`.
 *
 * Pacing: the chain's fixed difficulty is chosen from the miners' total
 * hashrate so a block comes about every `blockSeconds` (see the note in
 * simulated-chain.ts on why not regtest's own bits), and vardiff starts the
 * miners below their ideal difficulty so its first retargets show at once.
 */
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startPool, type Pool } from '../app.js'
import { parseConfig } from '../config/index.js'
import { createLogger, type Logger } from '../log.js'
import type { BlockCandidate, BlockSubmitResult } from '../jobs/work.js'
import { payoutOptions, splitBlock, type BlockSplit, type PayoutOptions } from '../accounting/index.js'
import { formatBtc } from '../payouts/index.js'
import { selectHasher, type Hasher, type HasherEnv } from '../shares/hasher.js'
import { bigIntToLe, difficultyForTarget, targetForDifficulty, targetFromBits } from '../shares/target.js'
import { ChainRpcServer } from './chain-rpc.js'
import { CpuMiner } from './cpu-miner.js'
import { compactBits, REGTEST_BITS, REGTEST_POW_LIMIT, SimulatedChain } from './simulated-chain.js'

/** The demo pool's payout address (regtest; the simulated chain's coins are worthless anyway). */
export const DEMO_PAYOUT_ADDRESS = 'bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g'
/** The source's name, shown by the API as the active source: the simulation is labelled there too. */
export const DEMO_SOURCE_NAME = 'simulated-regtest'
/** Accounts of the demo miners, in order (then `miner<N>`): distinct accounts make the PPLNS split visible. */
const ACCOUNTS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']
/** Seconds between shares vardiff aims at in the demo (lower than a farm's 5 s: more to watch). */
const TARGET_INTERVAL_S = 3
/** Seconds between the demo's status lines. */
const STATUS_EVERY_MS = 10_000
const HASHES_PER_DIFFICULTY = 2 ** 32

export interface DemoOptions {
  /** CPU miners to start (1-16). */
  readonly miners: number
  /** Stratum port on 127.0.0.1 (0: any free port). */
  readonly port: number
  /** HTTP API / dashboard port on 127.0.0.1 (0: any free port). */
  readonly httpPort: number
  /** Data folder (ledger, found blocks, chain, log); kept. Absent: a temporary folder removed at the end. */
  readonly dataDir?: string | undefined
  /** Wanted seconds between blocks. */
  readonly blockSeconds: number
  /** Total hashrate of the miners (H/s); absent: a fifth of what one core does here, within 20 kH/s-2 MH/s. */
  readonly hashrate?: number | undefined
  /** Seeds the miners' extranonce2 ranges. */
  readonly seed: number
  /** Pool log level (to `<data>/headframe.log`). */
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'
}

export interface DemoIo {
  /** Human-readable narration. */
  readonly print: (line: string) => void
  readonly env: HasherEnv
  /** `--data` is relative to it. */
  readonly cwd: string
  /** The pool's log destination; default `<data>/headframe.log`. */
  readonly logDestination?: { write(line: string): void }
}

/** The split the demo computed for a found block (what maturity crediting will post). */
export interface DemoSplit {
  readonly height: number
  readonly hash: string
  readonly finder: string
  readonly reward: bigint
  readonly split: BlockSplit
}

/** What the demo saw, for the final summary and for tests. */
export interface DemoStats {
  sharesAccepted: number
  sharesRejected: number
  difficultyChanges: number
  blocksFound: number
  blocksAccepted: number
  readonly splits: DemoSplit[]
}

export interface Demo {
  readonly stats: DemoStats
  readonly chain: SimulatedChain
  readonly pool: Pool
  readonly stratumUrl: string
  readonly httpUrl: string
  readonly dataDir: string
  readonly miners: readonly CpuMiner[]
  /** Stops everything (idempotent); resolves once the ledger is closed and the data folder handled. */
  stop(): Promise<void>
}

/** Starts the demo; resolves once the miners are connected. */
export async function startDemo(options: DemoOptions, io: DemoIo): Promise<Demo> {
  const print = io.print
  const dataDir = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'headframe-demo-')) : resolve(io.cwd, options.dataDir)
  const ownsData = options.dataDir === undefined
  mkdirSync(dataDir, { recursive: true })
  const cleanups: (() => Promise<void> | void)[] = []
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn()
      } catch {
        // Best effort: the rest still runs.
      }
    }
  }
  if (ownsData) cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))

  try {
    let logDestination = io.logDestination
    if (logDestination === undefined) {
      const fd = openSync(join(dataDir, 'headframe.log'), 'a')
      let open = true
      cleanups.push(() => {
        open = false
        closeSync(fd)
      })
      logDestination = {
        write: (line: string) => {
          try {
            if (open) writeSync(fd, line)
          } catch {
            // A full disk must not stop the demo; the narration goes on.
          }
        },
      }
    }
    const log = createLogger({ level: options.logLevel ?? 'info' }, logDestination)
    const hasher = selectHasher(io.env)

    const hashrate = options.hashrate ?? autoHashrate(hasher)
    const weights = Array.from({ length: options.miners }, (_, i) => i + 1)
    const weightSum = weights.reduce((a, b) => a + b, 0)
    const rates = weights.map((w) => (hashrate * w) / weightSum)
    const bits = demoBits(hashrate, options.blockSeconds)
    const networkDifficulty = difficultyForTarget(targetFromBits(bits))

    print('Headframe demo: a SIMULATED regtest chain (not Bitcoin Core, no peers, worthless coins) with the real pool in front of it.')
    const chain = new SimulatedChain({ sha256d: hasher.sha256d, bits, storePath: join(dataDir, 'chain', 'regtest', 'blocks.jsonl'), log: log.child({ component: 'simulated-chain' }) })
    const rpc = await ChainRpcServer.start({ chain, datadir: join(dataDir, 'chain'), log: log.child({ component: 'simulated-chain' }) })
    cleanups.push(() => rpc.close())
    log.warn({ simulated: true, bits: bits.toString(16), difficulty: networkDifficulty, url: rpc.url }, 'DEMO MODE: the work source is a SIMULATED regtest chain')

    const port = options.port === 0 ? await freePort() : options.port
    const httpPort = options.httpPort === 0 ? await freePort() : options.httpPort
    // Start below every miner's ideal difficulty: vardiff's first retargets show within seconds.
    const ideal = (rate: number): number => (rate * TARGET_INTERVAL_S) / HASHES_PER_DIFFICULTY
    const start = nice(ideal(rates[0] as number) / 4)
    const config = parseConfig(
      {
        stratum: { host: '127.0.0.1', port },
        vardiff: {
          start_difficulty: start,
          min_difficulty: Math.max(1e-12, start / 1000),
          max_difficulty: 1e6,
          target_interval_s: TARGET_INTERVAL_S,
          retarget_interval_s: 15,
          retarget_shares: 8,
        },
        sources: [
          {
            type: 'bitcoind',
            name: DEMO_SOURCE_NAME,
            network: 'regtest',
            nodes: [{ url: rpc.url, datadir: join(dataDir, 'chain') }],
            payout_address: DEMO_PAYOUT_ADDRESS,
            coinbase_tag: '/headframe-demo/',
            poll_ms: 500,
          },
        ],
        http: { host: '127.0.0.1', port: httpPort },
        ledger: { path: join(dataDir, 'ledger') },
        log: { level: options.logLevel ?? 'info' },
      },
      { cwd: dataDir },
    )
    const pool = await startPool({ config, origin: { kind: 'defaults' }, log, env: io.env })
    const payouts = payoutOptions(config.payouts)
    cleanups.push(() => pool.stop())

    const stratumUrl = `stratum+tcp://127.0.0.1:${pool.port}`
    const httpUrl = `http://127.0.0.1:${httpPort}`
    print(`  Dashboard: ${httpUrl}/   (JSON: ${httpUrl}/api/pool, /api/workers, /api/blocks; Prometheus: ${httpUrl}/metrics)`)
    print(`  Stratum:   ${stratumUrl}   (worker name account.worker, any password)`)
    print(`  Data:      ${dataDir}${ownsData ? ' (temporary, removed at exit; --data DIR keeps it)' : ''}; pool logs in ${join(dataDir, 'headframe.log')}`)
    print(
      `  Chain:     regtest rules, height ${chain.tip.height}, fixed difficulty ${fmt(networkDifficulty)} (bits ${bits.toString(16)}) for a block about every ${options.blockSeconds} s; hasher ${hasher.backend} ${hasher.implementation}`,
    )
    print(`  Miners:    ${options.miners} CPU miners, ${fmtRate(hashrate)} together (${rates.map(fmtRate).join(', ')}). Ctrl-C stops.`)

    const stats: DemoStats = { sharesAccepted: 0, sharesRejected: 0, difficultyChanges: 0, blocksFound: 0, blocksAccepted: 0, splits: [] }
    const startedAt = Date.now()
    let splitting: Promise<void> = Promise.resolve()

    const onBlock = (candidate: BlockCandidate, result: BlockSubmitResult): void => {
      stats.blocksFound++
      const hash = Buffer.from(candidate.hash).reverse().toString('hex')
      const height = Number(candidate.work.height)
      const finder = `${candidate.account}.${candidate.worker}`
      if (!result.accepted) {
        print(`[demo] block candidate at height ${height} from ${finder} NOT accepted: ${result.reason}`)
        return
      }
      stats.blocksAccepted++
      print(`[demo] BLOCK ${height} found by ${finder}, accepted by the simulated chain (${hash.slice(0, 16)}...)`)
      splitting = splitting.then(() => reportSplit(pool, payouts, log, print, stats, { height, hash, finder, networkDifficulty }))
    }
    pool.stratum.on('block', onBlock)
    cleanups.push(() => void pool.stratum.off('block', onBlock))
    cleanups.push(() => splitting)

    const miners: CpuMiner[] = []
    cleanups.push(() => miners.forEach((m) => m.stop()))
    for (const [i, rate] of rates.entries()) {
      const user = minerName(i)
      const miner = new CpuMiner({ host: '127.0.0.1', port: pool.port, user, hashrate: rate, hasher, seed: options.seed + i })
      let first = true
      miner.on('accepted', (difficulty: number) => {
        stats.sharesAccepted++
        if (first) print(`[demo] ${user}: first share accepted (difficulty ${fmt(difficulty)})`)
        first = false
      })
      miner.on('rejected', (reason: string) => {
        stats.sharesRejected++
        if (stats.sharesRejected <= 5) print(`[demo] ${user}: share rejected (${reason})`)
      })
      miner.on('difficulty', (next: number, old: number) => {
        stats.difficultyChanges++
        print(`[demo] vardiff: ${user} ${fmt(old)} -> ${fmt(next)}`)
      })
      miner.on('problem', (err: Error) => log.warn({ err, user }, 'demo miner problem'))
      miners.push(miner)
      await miner.start()
    }

    let balancesSeen = ''
    const status = setInterval(() => {
      const elapsed = (Date.now() - startedAt) / 1000
      const workers = [...pool.stratum.workers.values()]
      const work = workers.reduce((n, w) => n + w.acceptedDifficulty, 0)
      print(
        `[demo] ${Math.round(elapsed)} s: height ${chain.tip.height}, shares ${stats.sharesAccepted} accepted / ${stats.sharesRejected} rejected, ` +
          `blocks ${stats.blocksAccepted}, pool hashrate ~${fmtRate((work * HASHES_PER_DIFFICULTY) / Math.max(1, elapsed))}`,
      )
      // Balances move when a block matures (100 blocks later) and the pool credits it.
      void pool.ledger.balances().then(
        (balances) => {
          const text = [...balances].map(([account, sats]) => `${account} ${formatBtc(sats)}`).join(', ')
          if (text !== balancesSeen && balances.size > 0) print(`[demo] balances credited (matured blocks): ${text} BTC`)
          balancesSeen = text
        },
        () => {},
      )
    }, STATUS_EVERY_MS)
    status.unref()
    cleanups.push(() => clearInterval(status))

    let stopping: Promise<void> | undefined
    return {
      stats,
      chain,
      pool,
      stratumUrl,
      httpUrl,
      dataDir,
      miners,
      stop() {
        stopping ??= (async () => {
          await cleanup()
          print(
            `[demo] stopped: ${stats.sharesAccepted} shares accepted, ${stats.sharesRejected} rejected, ${stats.difficultyChanges} difficulty changes, ` +
              `${stats.blocksAccepted} blocks accepted by the simulated chain, ${stats.splits.length} PPLNS splits.`,
          )
        })()
        return stopping
      },
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/** How long a found block may take to reach the ledger (the pool imports it right after submitblock). */
const LEDGER_WAIT_MS = 10_000

/** The worker name of miner `i` (0-based): `alice.cpu1`, `bob.cpu2`, ..., then `miner9.cpu9`. */
export function minerName(i: number): string {
  return `${ACCOUNTS[i] ?? `miner${i + 1}`}.cpu${i + 1}`
}

/**
 * Computes and prints a found block's split with the crediting code itself
 * (`splitBlock`, src/accounting): the same PPLNS window and fee that will
 * be credited to balances when the block matures.
 */
export async function reportSplit(
  pool: Pick<Pool, 'ledger'>,
  payouts: PayoutOptions,
  log: Logger,
  print: (line: string) => void,
  stats: DemoStats,
  block: { height: number; hash: string; finder: string; networkDifficulty: number },
  waitMs = LEDGER_WAIT_MS,
): Promise<void> {
  try {
    const began = Date.now()
    let recorded = await pool.ledger.block(block.hash)
    while (recorded === undefined && Date.now() - began < waitMs) {
      await new Promise((r) => setTimeout(r, 50))
      recorded = await pool.ledger.block(block.hash)
    }
    if (recorded === undefined) throw new Error('the block did not reach the ledger')
    const split = await splitBlock(pool.ledger, recorded, { ...payouts, networkDifficulty: () => block.networkDifficulty })
    if ('wait' in split) throw new Error(split.wait)
    stats.splits.push({ ...block, reward: recorded.reward, split })
    const total = [...split.credits.values()].reduce((a, b) => a + b, 0n)
    const parts = [...split.credits].map(([account, sats]) => `${account} ${formatBtc(sats)} BTC (${percent(sats, total)})`)
    const scheme = split.fallback === undefined ? split.scheme.toUpperCase() : `${split.scheme.toUpperCase()} (${split.fallback})`
    print(
      `[demo] ${scheme} split of block ${block.height}: reward ${formatBtc(recorded.reward)} BTC, pool fee ${formatBtc(split.fee)} BTC to ${payouts.treasury}; ` +
        `${parts.join(', ')}. Credited to balances when the block matures (100 confirmations).`,
    )
    log.info(
      {
        demo: true,
        height: block.height,
        hash: block.hash,
        scheme: split.scheme,
        reward: recorded.reward.toString(),
        fee: split.fee.toString(),
        credits: Object.fromEntries([...split.credits].map(([a, sats]) => [a, sats.toString()])),
      },
      'demo: split of a found block (credited at maturity)',
    )
  } catch (err) {
    log.warn({ err, hash: block.hash }, 'demo: split not computed')
    print(`[demo] split of block ${block.height} not computed: ${(err as Error).message}`)
  }
}

/**
 * The chain's fixed bits for a block every `blockSeconds` at `hashrate`:
 * difficulty = hashrate × seconds / 2^32, never easier than regtest's pow limit.
 */
export function demoBits(hashrate: number, blockSeconds: number): number {
  const difficulty = (hashrate * blockSeconds) / HASHES_PER_DIFFICULTY
  const target = targetForDifficulty(difficulty)
  return target >= REGTEST_POW_LIMIT ? REGTEST_BITS : compactBits(target)
}

/** A fifth of what one core hashes here (so the demo stays light), within 20 kH/s-2 MH/s. */
function autoHashrate(hasher: Hasher): number {
  const header = Buffer.alloc(80, 7)
  const count = 1 << 15
  const began = performance.now()
  hasher.scanNonces(header, 0, count, bigIntToLe(0n), 1)
  const seconds = Math.max((performance.now() - began) / 1000, 1e-6)
  return Math.round(Math.min(2_000_000, Math.max(20_000, (count / seconds) * 0.2)))
}

/** A TCP port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolvePort(port))
    })
  })
}

function nice(n: number): number {
  return Number(n.toPrecision(2))
}

function fmt(n: number): string {
  return Number(n.toPrecision(3)).toString()
}

/** A hashrate for people: `2.00 MH/s`, `78.0 kH/s`, `500 H/s`. */
export function fmtRate(h: number): string {
  if (h >= 1e6) return `${(h / 1e6).toFixed(2)} MH/s`
  if (h >= 1e3) return `${(h / 1e3).toFixed(1)} kH/s`
  return `${h.toFixed(0)} H/s`
}

/** `part` of `total` (> 0) in percent, one decimal. */
function percent(part: bigint, total: bigint): string {
  return `${(Number((part * 10000n) / total) / 100).toFixed(1)} %`
}
