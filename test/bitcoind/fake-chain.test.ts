/**
 * The fake bitcoind's own rules beyond the fixtures: Core's submitblock
 * quirks (a missing witness reserved value is added), its RPC errors,
 * stale and competing blocks, derived templates, advance and reorg.
 */
import t, { type Test } from 'tap'
import { BitcoindError } from '../../src/errors.js'
import { FakeBitcoind, loadFixture } from '../helpers/fake-bitcoind.js'
import { blockFromTemplate, blockHash, rebuildBlock } from '../helpers/block.js'
import { BitcoindClient, type RpcClientOptions } from '../../src/bitcoind/index.js'

function clientFor(t: Test, fake: FakeBitcoind, options: Partial<RpcClientOptions> = {}): BitcoindClient {
  const client = new BitcoindClient({ ...fake.clientOptions(), timeoutMs: 5000, retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 }, ...options })
  t.teardown(() => client.close())
  return client
}

t.test('a coinbase without any witness is accepted: submitblock adds the reserved value', async (t) => {
  const f = loadFixture('segwit-txs')
  const fake = await FakeBitcoind.startFor(t, { template: 'segwit-txs' })
  const client = clientFor(t, fake)
  const stripped = rebuildBlock(f.stratum.block, { coinbase: (cb) => ({ ...cb, inputs: cb.inputs.map((i) => ({ ...i, witness: [] })) }), grind: 'keep' })
  t.not(stripped, f.stratum.block)
  t.equal(await client.submitBlock(stripped), null)
  t.equal(fake.tip.hash, f.accepted_block_hash, 'same header, same block hash')
})

t.test('a two-item coinbase witness is bad-witness-nonce-size', async (t) => {
  const f = loadFixture('segwit-txs')
  const fake = await FakeBitcoind.startFor(t, { template: 'segwit-txs' })
  const client = clientFor(t, fake)
  const hex = rebuildBlock(f.stratum.block, {
    coinbase: (cb) => ({ ...cb, inputs: cb.inputs.map((i) => ({ ...i, witness: [Buffer.alloc(32), Buffer.alloc(1)] })) }),
    grind: 'keep',
  })
  t.equal(await client.submitBlock(hex), 'bad-witness-nonce-size')
})

t.test('undecodable blocks are RPC errors -22, as in Core', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  for (const [hex, message] of [
    ['zz', 'Block decode failed'],
    ['00', 'Block decode failed'],
    [loadFixture('empty-mempool').stratum.block + '00', 'Block decode failed'],
  ] as const) {
    const err = await client.submitBlock(hex).catch((e: unknown) => e)
    t.ok(err instanceof BitcoindError, message)
    t.match(err, { code: 'HF_BITCOIND_RPC', rpcCode: -22, rpcMessage: message, transport: false })
  }
  // A block whose first transaction is not a coinbase.
  const f = loadFixture('segwit-txs')
  const block = Buffer.from(f.stratum.block, 'hex')
  const firstTx = Buffer.from(f.getblocktemplate.transactions[0]?.data ?? '', 'hex')
  const noCoinbase = Buffer.concat([block.subarray(0, 80), Buffer.from([1]), firstTx]).toString('hex')
  t.match(await client.submitBlock(noCoinbase).catch((e: unknown) => e), { rpcCode: -22, rpcMessage: 'Block does not start with a coinbase' })
  t.equal(fake.submissions.length, 4, 'each submission is recorded')
})

t.test('unknown parent, stale and competing blocks', async (t) => {
  const f = loadFixture('empty-mempool')
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const client = clientFor(t, fake)

  const orphan = rebuildBlock(f.stratum.block, { header: (h) => void (h[4] = (h[4] as number) ^ 0xff) })
  t.equal(await client.submitBlock(orphan), 'prev-blk-not-found')

  t.equal(await client.submitBlock(f.stratum.block), null)
  // Same parent, same content, another time: a valid block at the tip's height.
  const rival = rebuildBlock(f.stratum.block, { header: (h) => h.writeUInt32LE(h.readUInt32LE(68) + 1, 68) })
  t.equal(await client.submitBlock(rival), 'inconclusive', 'valid but not more work than the tip')
  t.equal(await client.submitBlock(rival), 'duplicate', 'stored: duplicate next time')
  t.equal(fake.tip.hash, f.accepted_block_hash, 'the tip did not move')
  const header = await client.getBlockHeader(blockHash(rival))
  t.equal(header.confirmations, -1, 'not in the active chain')

  // A block from the old template once the chain moved on: same height as the tip.
  const stale = blockFromTemplate(f.getblocktemplate, { tag: '/stale/' })
  t.equal(await client.submitBlock(stale), 'inconclusive')

  // Building on the rival gives its branch more work: a reorg onto it.
  const onRival = { ...fake.template, previousblockhash: blockHash(rival), transactions: [] }
  t.equal(await client.submitBlock(blockFromTemplate(onRival)), null, 'more work: accepted')
  t.equal((await client.getBlockHeader(f.accepted_block_hash)).confirmations, -1, 'the old tip is orphaned')
  t.equal((await client.getBlockHeader(blockHash(rival))).confirmations, 2)
})

t.test('contextual checks: bits, time, version, height, amounts, unknown transactions', async (t) => {
  const f = loadFixture('segwit-txs')
  const fake = await FakeBitcoind.startFor(t, { template: 'segwit-txs' })
  const client = clientFor(t, fake)
  const gbt = f.getblocktemplate
  const cases: [string, string][] = [
    ['bad-diffbits', rebuildBlock(f.stratum.block, { header: (h) => h.writeUInt32LE(0x207ffffe, 72) })],
    ['time-too-old', rebuildBlock(f.stratum.block, { header: (h) => h.writeUInt32LE(gbt.mintime - 1, 68) })],
    ['time-too-new', rebuildBlock(f.stratum.block, { header: (h) => h.writeUInt32LE(gbt.curtime + 7201, 68) })],
    ['bad-version(0x00000003)', rebuildBlock(f.stratum.block, { header: (h) => h.writeInt32LE(3, 0) })],
    ['bad-version(0xa0000000)', rebuildBlock(f.stratum.block, { header: (h) => h.writeUInt32LE(0xa0000000, 0) })],
    ['bad-cb-length', rebuildBlock(f.stratum.block, { coinbase: (cb) => ({ ...cb, inputs: cb.inputs.map((i) => ({ ...i, scriptSig: Buffer.concat([i.scriptSig, Buffer.alloc(80)]) })) }) })],
    ['bad-cb-amount', blockFromTemplate(gbt, { extra: -1n })],
    ['bad-cb-amount', blockFromTemplate(gbt, { extra: 1n })],
    ['high-hash', rebuildBlock(f.stratum.block, { header: (h) => h.writeUInt32LE(0x2100ffff, 72) })],
  ]
  for (const [reason, hex] of cases) t.equal(await client.submitBlock(hex), reason, reason)

  // A transaction the mempool does not have.
  const withUnknown = { ...gbt, transactions: [...gbt.transactions, ...loadFixture('many-txs').getblocktemplate.transactions.slice(0, 1)] }
  t.equal(await client.submitBlock(blockFromTemplate(withUnknown)), 'bad-txns-inputs-missingorspent')
  // A subset of the template is fine, paying subsidy + the fees of what it includes.
  const subset = { ...gbt, transactions: gbt.transactions.slice(0, 2) }
  subset.coinbasevalue = 5_000_000_000 + subset.transactions.reduce((n, tx) => n + tx.fee, 0)
  const hex = blockFromTemplate(subset)
  t.equal(await client.submitBlock(hex), null, 'subset accepted')
  t.equal(await client.submitBlock(blockFromTemplate(gbt, { extra: 1n, tag: '/again/' })), 'inconclusive', 'stale afterwards')
  const next = await client.getBlockTemplate(['segwit'])
  t.equal(next.transactions.length, 3, 'the other three stay in the mempool')
  t.equal(next.coinbasevalue, 5_000_000_000n + BigInt(gbt.transactions.slice(2).reduce((n, tx) => n + tx.fee, 0)))
})

t.test('an underpaying coinbase is accepted with strictCoinbaseValue: false (as Core does)', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'segwit-txs', strictCoinbaseValue: false })
  const client = clientFor(t, fake)
  t.equal(await client.submitBlock(blockFromTemplate(fake.template, { extra: -1000n })), null)
})

t.test('a failed block is remembered: duplicate-invalid', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'segwit-txs' })
  const client = clientFor(t, fake)
  const hex = blockFromTemplate(fake.template, { extra: 1n })
  t.equal(await client.submitBlock(hex), 'bad-cb-amount')
  t.equal(await client.submitBlock(hex), 'duplicate-invalid')
})

t.test('derived templates: advance, new transactions, depends, blocks built from them', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const client = clientFor(t, fake)
  const first = await client.getBlockTemplate(['segwit'])
  const [hash] = fake.advance()
  const second = await client.getBlockTemplate(['segwit'])
  t.equal(second.height, first.height + 1)
  t.equal(second.previousblockhash, hash)
  t.equal(await client.getBestBlockHash(), hash)
  t.equal((await client.getBlockchainInfo()).blocks, first.height)
  t.not(second.longpollid, first.longpollid)

  // many-txs' transactions (with in-template dependencies) arrive in the mempool.
  const many = loadFixture('many-txs').getblocktemplate
  fake.addTransactions(many.transactions.map((tx) => ({ data: tx.data, fee: tx.fee })))
  const third = await client.getBlockTemplate(['segwit'])
  t.equal(third.height, second.height, 'same block')
  t.same(
    third.transactions.map((tx) => [tx.txid, tx.hash, tx.weight, tx.depends]),
    many.transactions.map((tx) => [tx.txid, tx.hash, tx.weight, tx.depends]),
    'txid, wtxid, weight and depends as Core computed them',
  )
  t.equal(third.coinbasevalue, BigInt(many.coinbasevalue), 'subsidy + fees')
  t.equal(third.default_witness_commitment, many.default_witness_commitment, 'the same transactions, the same commitment')

  t.equal(await client.submitBlock(blockFromTemplate(fake.template)), null, 'a block from the derived template')
  const fourth = await client.getBlockTemplate(['segwit'])
  t.equal(fourth.height, third.height + 1)
  t.equal(fourth.transactions.length, 0)

  // Blocks at the regtest halving (height 150) pay 25 BTC.
  fake.advance(150 - fourth.height)
  t.equal((await client.getBlockTemplate(['segwit'])).coinbasevalue, 2_500_000_000n)
  t.equal(await client.submitBlock(blockFromTemplate(fake.template)), null)
})

t.test('reorg: the tip is replaced at the same height, its transactions return', async (t) => {
  const f = loadFixture('segwit-txs')
  const fake = await FakeBitcoind.startFor(t, { template: 'segwit-txs' })
  const client = clientFor(t, fake)
  t.equal(await client.submitBlock(f.stratum.block), null)
  t.equal((await client.getBlockTemplate(['segwit'])).transactions.length, 0)
  const replaced = fake.reorg()
  t.not(replaced, f.accepted_block_hash)
  t.equal(fake.tip.height, f.getblocktemplate.height, 'same height')
  t.equal((await client.getBlockHeader(f.accepted_block_hash)).confirmations, -1, 'our block is orphaned')
  const header = await client.getBlockHeader(replaced)
  t.equal(header.confirmations, 1)
  t.equal(header.height, f.getblocktemplate.height)
  const template = await client.getBlockTemplate(['segwit'])
  t.equal(template.previousblockhash, replaced)
  t.equal(template.transactions.length, 5, 'its transactions are back in the mempool')
  t.equal(template.coinbasevalue, BigInt(f.getblocktemplate.coinbasevalue))
  t.equal(await client.submitBlock(f.stratum.block), 'duplicate', 'resubmitting the orphan')
})

t.test('getblocktemplate and getblockheader argument errors, as Core words them', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  t.match(await client.getBlockTemplate([]).catch((e: unknown) => e), {
    code: 'HF_BITCOIND_RPC',
    rpcCode: -8,
    rpcMessage: 'getblocktemplate must be called with the segwit rule set (call with {"rules": ["segwit"]})',
  })
  t.match(await client.getBlockHeader('00'.repeat(32)).catch((e: unknown) => e), { rpcCode: -5, rpcMessage: 'Block not found' })
  t.match(await client.getBlockHeader('abc').catch((e: unknown) => e), { rpcCode: -8, rpcMessage: "blockhash must be of length 64 (not 3, for 'abc')" })
  t.equal(await client.call('getblockhash', [fake.tip.height]), fake.tip.hash)
  t.equal(await client.call('getblockcount'), fake.tip.height)
  t.equal(await client.call('getblockheader', [fake.tip.hash, false]), '00'.repeat(80), 'the placeholder tip has no header')
})
