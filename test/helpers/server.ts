/** Starts a real StratumServer on 127.0.0.1 (an ephemeral port) for a test. */
import type { Test } from 'tap'
import { parseConfig, type StratumConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/log.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { FixedDifficulty, type DifficultyControl } from '../../src/server/difficulty-control.js'
import { StratumServer, type ShareSink, type StratumServerOptions } from '../../src/server/stratum-server.js'
import { FixtureSource } from './fixture-source.js'
import type { JobSource } from '../../src/jobs/job-source.js'

export interface TestServer {
  server: StratumServer
  port: number
  source: FixtureSource
  clock: { now: number }
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] }

export async function startServer(
  t: Test,
  options: {
    stratum?: DeepPartial<StratumConfig> & Record<string, unknown>
    difficulty?: (now: number) => DifficultyControl
    sink?: ShareSink
    source?: FixtureSource
    /** Attach this source instead of a FixtureSource (e.g. a TemplateSource on a fake bitcoind). */
    attach?: JobSource
    /** Attach no source at all (a pool waiting for work). */
    noSource?: boolean
    /** The fan-out's batched write (default: the server's, the addon's writeToMany). */
    fanout?: StratumServerOptions['fanout']
    /** How fast new work goes out (default: the server's, 4 at once then 1 a second). */
    workPacing?: StratumServerOptions['workPacing']
  } = {},
): Promise<TestServer> {
  const config = parseConfig({ stratum: { host: '127.0.0.1', ...options.stratum } })
  const clock = { now: 1_800_000_000_000 }
  const server = new StratumServer({
    config: { ...config.stratum, port: 0 },
    hasher: selectHasher({}),
    log: createLogger({ level: 'silent' }),
    difficulty: options.difficulty ?? (() => new FixedDifficulty(0.001, 0.0001, 1e15)),
    clock: () => clock.now,
    tickMs: 3_600_000, // tests call tick() themselves
    ...(options.sink ? { shareSink: options.sink } : {}),
    ...(options.fanout !== undefined ? { fanout: options.fanout } : {}),
    ...(options.workPacing !== undefined ? { workPacing: options.workPacing } : {}),
  })
  const { port } = await server.listen()
  const source = options.source ?? new FixtureSource()
  if (options.noSource !== true) server.attachSource(options.attach ?? source)
  t.teardown(() => server.close())
  return { server, port, source, clock }
}
