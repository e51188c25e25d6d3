/**
 * Logging: pino JSON lines on stdout, which journald stores as they are.
 * Components take a child logger (`log.child({ component: 'hasher' })`);
 * sessions add `{ session, worker }`.
 */
import { pino, type Logger, type DestinationStream } from 'pino'
import type { LogConfig } from './config/index.js'

export type { Logger }

/** The root logger. `destination` is for tests; production writes to stdout. */
export function createLogger(config: LogConfig, destination?: DestinationStream): Logger {
  const options = {
    level: config.level,
    base: { service: 'headframe' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  }
  return destination === undefined ? pino(options) : pino(options, destination)
}
