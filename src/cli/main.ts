#!/usr/bin/env node
/** The `headframe` executable: wires the CLI to the real process. */
import { runCli } from './program.js'

/** Resolves with the first of SIGINT / SIGTERM, then stops listening. */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  untilStopped,
})
