/**
 * The `headframe demo` subcommand: option parsing and the run until Ctrl-C,
 * `--duration` or `--blocks`. Kept beside the demo so src/cli/program.ts
 * only registers it.
 */
import type { Command } from 'commander'
import { ConfigError } from '../errors.js'
import { startDemo, type DemoOptions } from './demo.js'

/** What the command needs from the CLI (a subset of `CliIo`). */
export interface DemoCommandIo {
  readonly stdout: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly untilStopped: () => Promise<string>
  readonly logDestination?: { write(line: string): void }
}

interface RawOptions {
  miners: string
  port: string
  httpPort: string
  data?: string
  duration?: string
  blocks?: string
  blockSeconds: string
  hashrate?: string
  seed: string
  logLevel: string
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

/** Adds `demo` to `program`. */
export function addDemoCommand(program: Command, io: DemoCommandIo): void {
  program
    .command('demo')
    .description('run a SIMULATED regtest chain, the pool and CPU miners on this machine (no bitcoind needed; see docs/demo.md)')
    .option('--miners <n>', 'CPU miners (1-16)', '3')
    .option('--port <port>', 'Stratum port on 127.0.0.1 (0: any free port)', '3333')
    .option('--http-port <port>', 'dashboard / API port on 127.0.0.1 (0: any free port)', '8080')
    .option('--data <dir>', 'keep the ledger, found blocks, chain and logs in this folder (default: a temporary folder removed at exit)')
    .option('--duration <seconds>', 'stop after this many seconds (default: run until Ctrl-C)')
    .option('--blocks <n>', 'stop once this many blocks were found and split')
    .option('--block-seconds <seconds>', 'wanted seconds between blocks', '10')
    .option('--hashrate <H/s>', 'total hashrate of the CPU miners (default: a fifth of one core)')
    .option('--seed <n>', 'seed for the miners (reproducible extranonce ranges)', '1')
    .option('--log-level <level>', `pool log level (${LOG_LEVELS.join(', ')})`, 'info')
    .action(async (raw: RawOptions) => {
      const options = parseDemoOptions(raw)
      const print = (line: string): void => io.stdout(`${line}\n`)
      const stopped = io.untilStopped()
      const demo = await startDemo(options.demo, { print, env: io.env, cwd: io.cwd, ...(io.logDestination === undefined ? {} : { logDestination: io.logDestination }) })
      const timers: NodeJS.Timeout[] = []
      const reasons: Promise<string>[] = [stopped.then((signal) => `${signal} received`)]
      if (options.duration !== undefined) {
        const seconds = options.duration
        reasons.push(new Promise((resolve) => timers.push(setTimeout(() => resolve(`--duration ${seconds} s reached`), seconds * 1000))))
      }
      if (options.blocks !== undefined) {
        const wanted = options.blocks
        reasons.push(
          new Promise((resolve) => {
            const check = setInterval(() => {
              if (demo.stats.splits.length >= wanted) resolve(`--blocks ${wanted} reached`)
            }, 100)
            timers.push(check)
          }),
        )
      }
      const reason = await Promise.race(reasons)
      for (const t of timers) clearTimeout(t)
      print(`[demo] stopping (${reason})`)
      await demo.stop()
    })
}

/** Validates the raw option strings; every problem at once as HF_CONFIG_INVALID. */
export function parseDemoOptions(raw: RawOptions): { demo: DemoOptions; duration?: number; blocks?: number } {
  const problems: string[] = []
  const integer = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text)
    if (!/^\d+$/.test(text.trim()) || n < min || n > max) problems.push(`--${name}: expected a whole number in ${min}-${max}, got ${JSON.stringify(text)}`)
    return n
  }
  const positive = (name: string, text: string, max: number): number => {
    const n = Number(text)
    if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) problems.push(`--${name}: expected a number above 0 and at most ${max}, got ${JSON.stringify(text)}`)
    return n
  }
  const miners = integer('miners', raw.miners, 1, 16)
  const port = integer('port', raw.port, 0, 65535)
  const httpPort = integer('http-port', raw.httpPort, 0, 65535)
  const blockSeconds = positive('block-seconds', raw.blockSeconds, 3600)
  const seed = integer('seed', raw.seed, 0, 0xffffffff)
  const hashrate = raw.hashrate === undefined ? undefined : positive('hashrate', raw.hashrate, 100e6)
  const duration = raw.duration === undefined ? undefined : positive('duration', raw.duration, 1e7)
  const blocks = raw.blocks === undefined ? undefined : integer('blocks', raw.blocks, 1, 1_000_000)
  if (!(LOG_LEVELS as readonly string[]).includes(raw.logLevel)) problems.push(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(raw.logLevel)}`)
  if (port !== 0 && port === httpPort) problems.push('--port and --http-port: expected two different ports')
  if (problems.length > 0) throw new ConfigError('HF_CONFIG_INVALID', problems, { source: 'headframe demo options' })
  return {
    demo: {
      miners,
      port,
      httpPort,
      dataDir: raw.data,
      blockSeconds,
      hashrate,
      seed,
      logLevel: raw.logLevel as (typeof LOG_LEVELS)[number],
    },
    ...(duration === undefined ? {} : { duration }),
    ...(blocks === undefined ? {} : { blocks }),
  }
}
