#!/usr/bin/env node
/** The `headframe` executable: wires the CLI to the real process. */
import { runCli } from './program.js'

/** A stop that has not finished after this long ends the process (exit 1), as systemd would. */
const STOP_LIMIT_MS = 10_000

/**
 * Resolves with the first of SIGINT / SIGTERM. A second one, or a stop
 * still running after STOP_LIMIT_MS, ends the process at once.
 */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      const force = (why: string): never => {
        process.stderr.write(`headframe: ${why}: exiting without a clean stop\n`)
        process.exit(1)
      }
      process.once('SIGINT', () => force('second SIGINT'))
      process.once('SIGTERM', () => force('second SIGTERM'))
      setTimeout(() => force(`still stopping after ${STOP_LIMIT_MS / 1000} s`), STOP_LIMIT_MS).unref()
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

/**
 * SIGHUP asks the running pool to reload its config file. Handled from the
 * first moment: a SIGHUP before the pool is up (or after it stopped) is
 * ignored instead of ending the process, Node's default.
 */
let reloadHandler: (() => void) | undefined
process.on('SIGHUP', () => {
  if (reloadHandler !== undefined) reloadHandler()
  else process.stderr.write('headframe: SIGHUP ignored: no running pool to reload\n')
})
function onReload(reload: () => void): () => void {
  reloadHandler = reload
  return () => {
    if (reloadHandler === reload) reloadHandler = undefined
  }
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  untilStopped,
  onReload,
})
