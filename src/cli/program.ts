/**
 * The `headframe` command line (commander): `run`, `check-config`,
 * `demo` (src/demo), `--version`, `--help`. Output goes through `CliIo` so tests can run the
 * whole CLI in-process.
 */
import { Command, CommanderError } from 'commander'
import { stringify as toToml } from 'smol-toml'
import { loadConfig, redactConfig } from '../config/index.js'
import { ConfigError, HeadframeError } from '../errors.js'
import { sourceProblems } from '../jobs/source-factory.js'
import { createLogger } from '../log.js'
import { startPool, type Pool } from '../app.js'
import { PACKAGE_VERSION } from '../package-info.js'
import { addDemoCommand } from '../demo/demo-command.js'
import { registerLedgerCommands } from './ledger-commands.js'

export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  /** Resolves when the running pool should stop (SIGINT/SIGTERM in production). */
  readonly untilStopped: () => Promise<string>
  /** Log destination for `run`; stdout when absent. */
  readonly logDestination?: { write(line: string): void }
  /**
   * Calls `reload` on each reload request (SIGHUP in production) until the
   * returned function is called. Without it, `run` does not reload.
   */
  readonly onReload?: (reload: () => void) => () => void
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and
 * resolves with the process exit code.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0
  const program = new Command()
    .name('headframe')
    .description('Bitcoin Stratum V1 proxy pool for mining farms')
    .version(PACKAGE_VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError()

  program
    .command('run')
    .description('start the pool (config: --config, else ./headframe.toml when present, else built-in defaults)')
    .option('-c, --config <file>', 'TOML config file')
    .action(async (opts: { config?: string }) => {
      const { config, origin } = await loadConfig(opts.config, { env: io.env, cwd: io.cwd })
      const log = createLogger(config.log, io.logDestination)
      // Listen for SIGINT/SIGTERM from here on: a signal during start-up
      // then stops the pool cleanly once it is up, instead of killing it
      // with the ledger open.
      const stopped = io.untilStopped()
      let pool: Pool
      try {
        pool = await startPool({ config, origin, log, env: io.env })
      } catch (err) {
        log.fatal({ err }, 'headframe could not start')
        throw err
      }
      // SIGHUP: read the same file again and apply what can change live.
      // One reload at a time; a bad file is logged and changes nothing.
      let reloading = Promise.resolve()
      const running = pool
      const stopReloads = io.onReload?.(() => {
        reloading = reloading.then(async () => {
          try {
            const { config: next } = await loadConfig(opts.config, { env: io.env, cwd: io.cwd })
            running.reload(next)
          } catch (err) {
            log.error({ err: err instanceof HeadframeError ? err.message : err }, 'config reload failed: nothing changed')
          }
        })
      })
      const signal = await stopped
      stopReloads?.()
      await reloading
      log.info({ signal }, 'stopping: draining sessions, then flushing the ledger')
      await pool.stop()
    })

  program
    .command('check-config')
    .description('validate a config file and print the effective settings (secrets hidden)')
    .option('-c, --config <file>', 'TOML config file (default: ./headframe.toml when present)')
    .action(async (opts: { config?: string }) => {
      const { config, origin } = await loadConfig(opts.config, { env: io.env, cwd: io.cwd })
      const problems = sourceProblems(config)
      if (problems.length > 0) throw new ConfigError('HF_CONFIG_INVALID', problems, origin.kind === 'file' ? { source: origin.path } : {})
      const source = origin.kind === 'file' ? origin.path : 'built-in defaults (no config file)'
      io.stdout(`config OK: ${source}\n\n${toToml(redactConfig(config))}\n`)
    })

  addDemoCommand(program, io)
  registerLedgerCommands(program, io)

  try {
    await program.parseAsync([...argv], { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 1.
      exitCode = err.exitCode
    } else if (err instanceof HeadframeError) {
      io.stderr(`headframe: ${err.message}\n`)
      exitCode = 1
    } else {
      io.stderr(`headframe: unexpected error: ${(err as Error).stack ?? String(err)}\n`)
      exitCode = 70 // EX_SOFTWARE
    }
  }
  return exitCode
}
