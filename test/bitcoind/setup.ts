/** Shared setup of the bitcoind tests: a fake bitcoind and a client on it, both closed at teardown. */
import type { Test } from 'tap'
import { BitcoindClient, type RpcClientOptions } from '../../src/bitcoind/index.js'
import { FakeBitcoind, type FakeBitcoindOptions } from '../helpers/fake-bitcoind.js'

export async function startFake(t: Test, options: FakeBitcoindOptions = {}): Promise<FakeBitcoind> {
  const fake = await FakeBitcoind.start(options)
  t.teardown(() => fake.close())
  return fake
}

/** A client with cookie auth on `fake`, fast retries, and `options` on top. */
export function clientFor(t: Test, fake: FakeBitcoind, options: Partial<RpcClientOptions> = {}): BitcoindClient {
  const client = new BitcoindClient({
    url: fake.url,
    auth: { cookieFile: fake.cookieFile },
    timeoutMs: 5000,
    retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 },
    ...options,
  })
  t.teardown(() => client.close())
  return client
}
