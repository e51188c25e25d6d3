/**
 * The RPC client against the fake bitcoind's faults: every failure gives
 * its stable code and a clear message, reads are retried where it helps,
 * and the client works again as soon as the fault clears.
 */
import t, { type Test } from 'tap'
import { BitcoindClient, type RpcClientOptions } from '../../src/bitcoind/index.js'
import { BitcoindError } from '../../src/errors.js'
import { freePort } from '../helpers/free-port.js'
import { FakeBitcoind, loadFixture } from '../helpers/fake-bitcoind.js'

function clientFor(t: Test, fake: FakeBitcoind, options: Partial<RpcClientOptions> = {}): BitcoindClient {
  const client = new BitcoindClient({ ...fake.clientOptions(), timeoutMs: 5000, retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 }, ...options })
  t.teardown(() => client.close())
  return client
}

/** The rejection of `p` (fails the test when it resolves). */
async function failure(p: Promise<unknown>): Promise<BitcoindError> {
  try {
    await p
  } catch (err) {
    if (err instanceof BitcoindError) return err
    throw err
  }
  throw new Error('expected a rejection')
}

t.test('not reachable: connection refused, retried, then recovers', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const sleeps: number[] = []
  const client = clientFor(t, fake, { sleep: async (ms) => void sleeps.push(ms) })
  t.equal(await client.getBestBlockHash(), fake.tip.hash)

  await fake.refuse()
  const err = await failure(client.getBestBlockHash())
  t.match(err, { code: 'HF_BITCOIND_UNREACHABLE', transport: true, retryable: true, url: fake.url, method: 'getbestblockhash' })
  t.equal(err.message, `bitcoind not reachable at ${fake.url}: connection refused`)
  t.equal(sleeps.length, 3, 'three retries with backoff')
  t.ok(sleeps.every((ms) => ms > 0 && ms <= 5), 'within the configured delays')

  await fake.resume()
  t.equal(await client.getBestBlockHash(), fake.tip.hash, 'works again')
})

t.test('nothing ever listened on the port', async (t) => {
  const port = await freePort()
  const client = new BitcoindClient({ url: `http://127.0.0.1:${port}`, auth: { user: 'u', password: 'p' }, retry: { retries: 0 } })
  t.teardown(() => client.close())
  const err = await failure(client.getBlockchainInfo())
  t.equal(err.message, `bitcoind not reachable at http://127.0.0.1:${port}: connection refused`)
})

t.test('submitblock is never retried; a transport failure says so', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const client = clientFor(t, fake)
  fake.inject('reset', { method: 'submitblock' })
  const err = await failure(client.submitBlock(loadFixture('empty-mempool').stratum.block))
  t.match(err, { code: 'HF_BITCOIND_UNREACHABLE', transport: true, method: 'submitblock' })
  t.equal(fake.requestCount, 1, 'one request, no retry')
  fake.clearFaults()
  t.equal(await client.submitBlock(loadFixture('empty-mempool').stratum.block), null, 'the caller retries: accepted')
  t.equal(await client.submitBlock(loadFixture('empty-mempool').stratum.block), 'duplicate', 'and a second retry is harmless')
})

t.test('a connection reset on a read is retried and succeeds', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  fake.inject('reset', { times: 2 })
  t.equal(await client.getBestBlockHash(), fake.tip.hash)
  t.equal(fake.requestCount, 3)
})

t.test('HTTP 401: the credentials are rejected, nothing secret in the message', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  fake.inject('unauthorized')
  const err = await failure(client.getBestBlockHash())
  t.match(err, { code: 'HF_BITCOIND_AUTH', httpStatus: 401, transport: false, retryable: false })
  t.equal(err.message, `bitcoind rejected the RPC credentials (HTTP 401) at ${fake.url} (cookie file ${fake.cookieFile})`)
  t.notMatch(err.message, fake.credentials.password)
  t.equal(fake.requestCount, 1, 'the cookie did not change: one request, no retry')
  fake.clearFaults()
  t.equal(await client.getBestBlockHash(), fake.tip.hash, 'recovers')
})

t.test('HTTP 401 with a wrong user/password', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { auth: { user: 'alice', password: 'right-password' } })
  const client = clientFor(t, fake, { auth: { user: 'alice', password: 'wrong-password' } })
  const err = await failure(client.getBlockchainInfo())
  t.equal(err.code, 'HF_BITCOIND_AUTH')
  t.equal(err.message, `bitcoind rejected the RPC credentials (HTTP 401) at ${fake.url} (the configured user and password)`)
  t.notMatch(JSON.stringify({ ...err, message: err.message, stack: err.stack }), 'password-')
  const good = clientFor(t, fake, { auth: { user: 'alice', password: 'right-password' } })
  t.equal((await good.getBlockchainInfo()).chain, 'regtest')
})

t.test('credentials in the URL are used and never shown', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { auth: { user: 'bob', password: 's3cret' } })
  const client = clientFor(t, fake, { url: `http://bob:s3cret@127.0.0.1:${fake.port}`, auth: undefined })
  t.equal(client.url, fake.url)
  t.equal(await client.getBestBlockHash(), fake.tip.hash)
  await fake.refuse()
  const err = await failure(client.getBestBlockHash())
  t.notMatch(err.message, 's3cret')
  t.notMatch(err.url, 'bob')
})

t.test('HTTP 403: not in rpcallowip', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  fake.inject('forbidden', { times: 1 })
  const err = await failure(client.getBestBlockHash())
  t.match(err, { code: 'HF_BITCOIND_AUTH', httpStatus: 403 })
  t.match(err.message, /rpcallowip/)
  t.equal(await client.getBestBlockHash(), fake.tip.hash)
})

t.test('timeout: bitcoind hangs', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake, { timeoutMs: 100 })
  fake.inject('hang')
  const err = await failure(client.getBestBlockHash())
  t.match(err, { code: 'HF_BITCOIND_TIMEOUT', transport: true, retryable: true })
  t.equal(err.message, `bitcoind at ${fake.url} did not answer getbestblockhash within 100 ms`)
  t.equal(fake.requestCount, 1, 'a timeout is not retried')
  fake.clearFaults()
  t.equal(await client.getBestBlockHash(), fake.tip.hash, 'recovers')
})

t.test('timeout: bitcoind answers slower than the timeout; a longer timeout waits for it', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  fake.inject('delay', { delayMs: 400 })
  const err = await failure(client.getBlockchainInfo({ timeoutMs: 50 }))
  t.equal(err.code, 'HF_BITCOIND_TIMEOUT')
  t.equal((await client.getBlockchainInfo({ timeoutMs: 5000 })).chain, 'regtest', 'a per-call timeout long enough')
})

t.test('garbage and truncated JSON: retried for reads, a clear error when it persists', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  for (const kind of ['garbage', 'truncated'] as const) {
    fake.inject(kind, { times: 1 })
    t.equal(await client.getBestBlockHash(), fake.tip.hash, `${kind} once: the retry succeeds`)

    fake.inject(kind)
    const before = fake.requestCount
    const err = await failure(client.getBestBlockHash())
    t.match(err, { code: 'HF_BITCOIND_BAD_RESPONSE', transport: true, httpStatus: 200 })
    t.match(err.message, new RegExp(`^bitcoind at ${fake.url} answered getbestblockhash with invalid JSON`))
    t.equal(fake.requestCount - before, 4, 'first try and 3 retries')
    fake.clearFaults()
    t.equal(await client.getBestBlockHash(), fake.tip.hash, 'recovers')
  }
})

t.test('HTTP 5xx without a JSON body', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  fake.inject('server-error')
  const err = await failure(client.getBestBlockHash())
  t.match(err, { code: 'HF_BITCOIND_HTTP', httpStatus: 503, transport: true, retryable: true })
  t.equal(err.message, `bitcoind at ${fake.url} answered getbestblockhash with HTTP 503 and no JSON-RPC body: "Work queue depth exceeded"`)
  fake.clearFaults()
  fake.inject('server-error', { times: 2, status: 500 })
  t.equal(await client.getBestBlockHash(), fake.tip.hash, 'transient: retried')
})

t.test('-28 warming up: a distinct code, not retried inside, then ready', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  fake.warmUp()
  const err = await failure(client.getBlockTemplate(['segwit']))
  t.match(err, { code: 'HF_BITCOIND_WARMING_UP', rpcCode: -28, rpcMessage: 'Loading block index…', retryable: true, transport: false })
  t.equal(err.message, `bitcoind at ${fake.url} is warming up: Loading block index…`)
  t.equal(fake.requestCount, 1)
  fake.warmUp('Verifying blocks…')
  t.match(await failure(client.checkReady('regtest')), { code: 'HF_BITCOIND_WARMING_UP', rpcMessage: 'Verifying blocks…' })
  fake.warmUp(false)
  t.equal((await client.checkReady('regtest')).chain, 'regtest')
})

t.test('RPC errors keep their code and message; JSON-RPC 1.0 answers too', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  for (const version of ['2.0', '1.0'] as const) {
    const client = clientFor(t, fake, { jsonRpcVersion: version })
    const unknown = await failure(client.call('nosuchmethod'))
    t.match(unknown, { code: 'HF_BITCOIND_RPC', rpcCode: -32601, rpcMessage: 'Method not found', httpStatus: version === '2.0' ? 200 : 404 })
    t.equal(unknown.message, `bitcoind at ${fake.url} answered nosuchmethod with RPC error -32601: Method not found`)
    const missing = await failure(client.getBlockHeader('11'.repeat(32)))
    t.match(missing, { rpcCode: -5, rpcMessage: 'Block not found', httpStatus: version === '2.0' ? 200 : 500 })
    fake.warmUp()
    t.match(await failure(client.getBestBlockHash()), { code: 'HF_BITCOIND_WARMING_UP', httpStatus: version === '2.0' ? 200 : 500 })
    fake.warmUp(false)
    t.equal(await client.getBestBlockHash(), fake.tip.hash)
  }
})

t.test('an answer larger than maxResponseBytes is refused', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'many-txs' })
  const client = clientFor(t, fake, { maxResponseBytes: 10_000, retry: { retries: 0 } })
  const err = await failure(client.getBlockTemplate(['segwit']))
  t.equal(err.code, 'HF_BITCOIND_BAD_RESPONSE')
  t.match(err.message, /more than 10000 bytes/)
  t.equal(await client.getBestBlockHash(), fake.tip.hash, 'small answers still pass')
})

t.test('close(): calls in flight and later calls end with HF_BITCOIND_CLOSED', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  const template = await client.getBlockTemplate(['segwit'])
  const longPoll = failure(client.getBlockTemplate(['segwit'], template.longpollid, 60_000))
  while (fake.longPolls === 0) await new Promise((r) => setTimeout(r, 1))
  await client.close()
  t.match(await longPoll, { code: 'HF_BITCOIND_CLOSED' })
  t.match(await failure(client.getBestBlockHash()), { code: 'HF_BITCOIND_CLOSED' })
  await client.close() // twice is fine
})

t.test("the caller's AbortSignal ends a call with its reason", async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  fake.inject('hang')
  const controller = new AbortController()
  const call = client.getBlockchainInfo({ signal: controller.signal })
  while (fake.requestCount === 0) await new Promise((r) => setTimeout(r, 1))
  const reason = new Error('source stopping')
  controller.abort(reason)
  await t.rejects(call, reason)
})

t.test('a mistyped answer is HF_BITCOIND_BAD_RESPONSE naming the field', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  const gbt = fake.template
  fake.setTemplate({ ...gbt, coinbasevalue: 5_000_000_000.5 })
  const err = await failure(client.getBlockTemplate(['segwit']))
  t.equal(err.code, 'HF_BITCOIND_BAD_RESPONSE')
  t.match(err.message, /answered getblocktemplate with an unexpected result: coinbasevalue: expected an integer amount of satoshis/)
  fake.setTemplate({ ...gbt, coinbasevalue: 2_100_000_000_000_001 })
  t.match((await failure(client.getBlockTemplate(['segwit']))).message, /coinbasevalue: expected an amount of 0 to 21e14 satoshis/)
  fake.setTemplate({ ...gbt, previousblockhash: 'xyz' })
  t.match((await failure(client.getBlockTemplate(['segwit']))).message, /previousblockhash: expected 64 hex digits/)
})

t.test('the client never crashes under mixed faults and concurrent calls', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake, { timeoutMs: 1000 })
  fake.inject('garbage', { times: 3 })
  fake.inject('reset', { times: 3 })
  fake.inject('server-error', { times: 3 })
  fake.inject('hang', { times: 2 })
  fake.inject('truncated', { times: 3 })
  const results = await Promise.allSettled(Array.from({ length: 30 }, () => client.getBestBlockHash()))
  for (const r of results) {
    if (r.status === 'rejected') t.ok(r.reason instanceof BitcoindError, `a BitcoindError: ${(r.reason as Error).message}`)
  }
  t.ok(results.some((r) => r.status === 'fulfilled'), 'most succeed')
  t.equal(await client.getBestBlockHash(), fake.tip.hash)
})
