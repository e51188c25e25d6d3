/**
 * getblocktemplate through the client: the typed template (amounts as exact
 * bigints), long polling against the fake (returns on a new block, new
 * transactions or an accepted block; times out cleanly), and checkReady.
 */
import t, { type Test } from 'tap'
import { BitcoindError } from '../../src/errors.js'
import { networkOfChain, CHAIN_NAMES, BitcoindClient, type RpcClientOptions } from '../../src/bitcoind/index.js'
import { FakeBitcoind, loadFixture } from '../helpers/fake-bitcoind.js'
import { until } from '../helpers/until.js'

function clientFor(t: Test, fake: FakeBitcoind, options: Partial<RpcClientOptions> = {}): BitcoindClient {
  const client = new BitcoindClient({ ...fake.clientOptions(), timeoutMs: 5000, retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 }, ...options })
  t.teardown(() => client.close())
  return client
}

t.test('the template is typed as Core sent it; amounts are exact bigints', async (t) => {
  const f = loadFixture('many-txs')
  const fake = await FakeBitcoind.startFor(t, { template: 'many-txs' })
  const client = clientFor(t, fake)
  const template = await client.getBlockTemplate(['segwit'])
  const gbt = f.getblocktemplate
  t.equal(template.version, gbt.version)
  t.equal(template.previousblockhash, gbt.previousblockhash)
  t.equal(template.bits, gbt.bits)
  t.equal(template.height, gbt.height)
  t.equal(template.curtime, gbt.curtime)
  t.equal(template.mintime, gbt.mintime)
  t.equal(template.longpollid, gbt.longpollid)
  t.equal(template.target, gbt.target)
  t.equal(template.default_witness_commitment, gbt.default_witness_commitment)
  t.same(template.rules, gbt.rules)
  t.equal(template.coinbasevalue, 5_000_131_780n)
  t.equal(template.transactions.length, 40)
  const [first] = template.transactions
  t.equal(typeof first?.fee, 'bigint')
  t.same(
    template.transactions.map((tx) => [tx.data, tx.txid, tx.hash, tx.fee, tx.weight, tx.depends]),
    gbt.transactions.map((tx) => [tx.data, tx.txid, tx.hash, BigInt(tx.fee), tx.weight, tx.depends]),
  )
  t.equal(
    template.transactions.reduce((n, tx) => n + tx.fee, 0n) + 5_000_000_000n,
    template.coinbasevalue,
    'fees + subsidy = coinbasevalue, in integer arithmetic',
  )
})

t.test('coinbasevalue is exact up to MAX_MONEY', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  for (const value of [0, 1, 2_099_999_999_999_999, 2_100_000_000_000_000, 1_234_567_890_123_457]) {
    fake.setTemplate({ ...fake.template, coinbasevalue: value })
    t.equal((await client.getBlockTemplate(['segwit'])).coinbasevalue, BigInt(value), String(value))
  }
  fake.setTemplate({ ...fake.template, coinbasevalue: -1 })
  t.match(await client.getBlockTemplate(['segwit']).catch((e: unknown) => e), { code: 'HF_BITCOIND_BAD_RESPONSE' })
})

t.test('long poll: hangs while the template is the same, returns on a new block', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  const first = await client.getBlockTemplate(['segwit'])
  let settled = false
  const poll = client.getBlockTemplate(['segwit'], first.longpollid, 10_000).finally(() => (settled = true))
  await until(() => fake.longPolls === 1)
  t.equal(settled, false, 'still waiting')
  t.equal(await client.getBestBlockHash(), first.previousblockhash, 'other calls go on meanwhile (another connection)')
  const [hash] = fake.advance()
  const next = await poll
  t.equal(next.height, first.height + 1)
  t.equal(next.previousblockhash, hash)
  t.not(next.longpollid, first.longpollid)
})

t.test('long poll: returns on new transactions, and on a block we submitted', async (t) => {
  const f = loadFixture('segwit-txs')
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const client = clientFor(t, fake)
  const first = await client.getBlockTemplate(['segwit'])
  const poll = client.getBlockTemplate(['segwit'], first.longpollid, 10_000)
  await until(() => fake.longPolls === 1)
  fake.addTransactions(f.getblocktemplate.transactions.map((tx) => ({ data: tx.data, fee: tx.fee })))
  const withTxs = await poll
  t.equal(withTxs.height, first.height, 'same height')
  t.equal(withTxs.transactions.length, 5)
  t.equal(withTxs.coinbasevalue, BigInt(f.getblocktemplate.coinbasevalue))

  fake.setTemplate('empty-mempool')
  const again = await client.getBlockTemplate(['segwit'])
  const polls = [client.getBlockTemplate(['segwit'], again.longpollid, 10_000), client.getBlockTemplate(['segwit'], again.longpollid, 10_000)]
  await until(() => fake.longPolls === 2)
  t.equal(await client.submitBlock(loadFixture('empty-mempool').stratum.block), null)
  for (const result of await Promise.all(polls)) t.equal(result.previousblockhash, loadFixture('empty-mempool').accepted_block_hash, 'every poller wakes')
})

t.test('long poll: an outdated longpollid answers at once', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  const first = await client.getBlockTemplate(['segwit'])
  fake.advance()
  const next = await client.getBlockTemplate(['segwit'], first.longpollid, 10_000)
  t.equal(next.height, first.height + 1)
})

t.test('long poll: the per-call timeout ends it; the node sees the connection go', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  const first = await client.getBlockTemplate(['segwit'])
  const err = await client.getBlockTemplate(['segwit'], first.longpollid, 150).catch((e: unknown) => e)
  t.ok(err instanceof BitcoindError)
  t.match(err, { code: 'HF_BITCOIND_TIMEOUT', method: 'getblocktemplate' })
  await until(() => fake.longPolls === 0)
  t.equal((await client.getBlockTemplate(['segwit'])).longpollid, first.longpollid, 'and the client goes on')
})

t.test('checkReady: initial block download', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  fake.setInitialBlockDownload(true)
  const err = await client.checkReady('regtest').catch((e: unknown) => e)
  t.match(err, { code: 'HF_BITCOIND_IBD', retryable: true })
  t.equal((err as Error).message, `bitcoind at ${fake.url} is in initial block download (block ${fake.tip.height} of ${fake.tip.height + 1000} headers, 50.00 % verified)`)
  t.match(await client.getBlockTemplate(['segwit']).catch((e: unknown) => e), {
    code: 'HF_BITCOIND_IBD',
    rpcCode: -10,
    rpcMessage: 'Bitcoin Core is in initial sync and waiting for blocks...',
  })
  fake.setInitialBlockDownload(false)
  t.equal((await client.checkReady('regtest')).initialblockdownload, false)
})

t.test('checkReady: wrong network', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  fake.setChain('main')
  const err = await client.checkReady('regtest').catch((e: unknown) => e)
  t.match(err, { code: 'HF_BITCOIND_WRONG_NETWORK', retryable: false })
  t.equal((err as Error).message, `bitcoind at ${fake.url} runs chain "main" but the configured network is regtest (chain "regtest")`)
  fake.setChain()
  t.match(await client.checkReady('testnet4').catch((e: unknown) => e), {
    message: `bitcoind at ${fake.url} runs chain "regtest" but the configured network is testnet4 (chain "testnet4")`,
  })
  await fake.heal()
  t.equal((await client.checkReady('regtest')).chain, 'regtest')
})

t.test('chain names', async (t) => {
  t.same(CHAIN_NAMES, { mainnet: 'main', testnet3: 'test', testnet4: 'testnet4', signet: 'signet', regtest: 'regtest' })
  for (const [network, chain] of Object.entries(CHAIN_NAMES)) t.equal(networkOfChain(chain), network)
  t.equal(networkOfChain('testnet'), undefined)
})
