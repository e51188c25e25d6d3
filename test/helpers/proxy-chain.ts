/**
 * Proxy mode for tests: a Headframe proxy (a StratumServer fed by an
 * UpstreamSource) in front of an upstream pool on 127.0.0.1 (another
 * Headframe StratumServer, or a FakeUpstream). Real sockets all the way.
 */
import type { Test } from 'tap'
import { createLogger } from '../../src/log.js'
import { FixedDifficulty } from '../../src/server/difficulty-control.js'
import type { ShareRecord, UpstreamShareRecord } from '../../src/server/stratum-server.js'
import { UpstreamSource, type UpstreamSourceOptions } from '../../src/jobs/upstream-source.js'
import type { WorkPacing } from '../../src/server/work-pacer.js'
import { startServer, type TestServer } from './server.js'

export interface ProxyChain {
  proxy: TestServer
  source: UpstreamSource
  /** What the proxy's share sink was given. */
  shares: ShareRecord[]
  upstream: UpstreamShareRecord[]
}

/** Options of an upstream source for tests: fast backoff, short timeouts. */
export function upstreamOptions(port: number, over: Partial<UpstreamSourceOptions> = {}): UpstreamSourceOptions {
  return {
    name: 'pool-a',
    endpoint: { host: '127.0.0.1', port, tls: false },
    user: 'farm.proxy1',
    password: 'x',
    versionMask: 0x1fffe000,
    followReconnect: false,
    // Generous: a loaded CI machine must not turn into a timeout.
    connectTimeoutMs: 30_000,
    responseTimeoutMs: 30_000,
    idleTimeoutMs: 60_000,
    reconnectMinMs: 20,
    reconnectMaxMs: 200,
    prefixSize: 2,
    maxMinerExtranonce2: 4,
    maxConsecutiveRejects: 20,
    log: createLogger({ level: 'silent' }),
    ...over,
  }
}

/** A proxy with extranonce1_size 2 and extranonce2_size 4 (so a pool's 8 bytes split as pad 2 | prefix 2 | miner 4). */
export async function startProxy(
  t: Test,
  upstreamPort: number,
  options: { source?: Partial<UpstreamSourceOptions>; difficulty?: number; stratum?: Record<string, unknown>; workPacing?: WorkPacing } = {},
): Promise<ProxyChain> {
  const source = new UpstreamSource(upstreamOptions(upstreamPort, options.source))
  const shares: ShareRecord[] = []
  const upstream: UpstreamShareRecord[] = []
  const difficulty = options.difficulty ?? 0.001
  const proxy = await startServer(t, {
    stratum: { extranonce1_size: 2, extranonce2_size: 4, reconnect_spread_ms: 50, ...options.stratum },
    difficulty: () => new FixedDifficulty(difficulty, difficulty / 10, 1e15),
    attach: source,
    ...(options.workPacing !== undefined ? { workPacing: options.workPacing } : {}),
    sink: {
      record: async (s) => {
        shares.push(s)
      },
      recordUpstream: (r) => {
        upstream.push(r)
      },
    },
  })
  await source.start()
  t.teardown(() => source.stop())
  return { proxy, source, shares, upstream }
}
