/**
 * The fake bitcoind against Bitcoin Core's own answers: every fixture's
 * accepted block is accepted (through the real RPC client), every broken
 * block gets exactly the reject string Bitcoin Core gave, and the chain
 * moves on the way Core's does.
 */
import t, { type Test } from 'tap'
import { FakeBitcoind, FIXTURE_NAMES, loadFixture } from '../helpers/fake-bitcoind.js'
import { mutateBlock, witnessCommitmentScript, type Mutation } from '../helpers/block.js'
import { BitcoindClient, type RpcClientOptions } from '../../src/bitcoind/index.js'

function clientFor(t: Test, fake: FakeBitcoind, options: Partial<RpcClientOptions> = {}): BitcoindClient {
  const client = new BitcoindClient({ ...fake.clientOptions(), timeoutMs: 5000, retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 }, ...options })
  t.teardown(() => client.close())
  return client
}

for (const name of FIXTURE_NAMES) {
  t.test(`${name}: broken blocks get Core's reject strings, the block is accepted`, async (t) => {
    const f = loadFixture(name)
    const fake = await FakeBitcoind.startFor(t, { template: name })
    const client = clientFor(t, fake)

    const template = await client.getBlockTemplate(['segwit'])
    t.equal(typeof template.coinbasevalue, 'bigint')
    t.equal(template.coinbasevalue, BigInt(f.getblocktemplate.coinbasevalue), 'coinbasevalue read exactly')
    t.equal(template.height, f.getblocktemplate.height)
    t.equal(template.transactions.length, f.getblocktemplate.transactions.length)

    // Broken blocks first: bad-witness-nonce-size has the accepted block's header.
    for (const broken of f.broken_blocks) {
      const hex = broken.block ?? mutateBlock(f.stratum.block, broken.mutation as Mutation)
      t.equal(await client.submitBlock(hex), broken.submitblock, `${broken.mutation}${broken.block === undefined ? ' (rebuilt)' : ''}`)
    }
    t.equal(fake.tip.height, f.getblocktemplate.height - 1, 'no broken block moved the tip')

    t.equal(await client.submitBlock(f.stratum.block), f.submitblock, 'the accepted block')
    t.equal(await client.getBestBlockHash(), f.accepted_block_hash, 'it is the tip')
    t.equal(await client.submitBlock(f.stratum.block), 'duplicate', 'again: duplicate')

    const next = await client.getBlockTemplate(['segwit'])
    t.equal(next.height, f.getblocktemplate.height + 1, 'the next template is one higher')
    t.equal(next.previousblockhash, f.accepted_block_hash, 'on the accepted block')
    t.equal(next.transactions.length, 0, 'its transactions left the mempool')
    t.equal(next.coinbasevalue, 5_000_000_000n, 'subsidy only')
    t.not(next.longpollid, template.longpollid)

    const header = await client.getBlockHeader(f.accepted_block_hash)
    t.equal(header.height, f.getblocktemplate.height)
    t.equal(header.confirmations, 1)
    t.equal(header.nTx, f.getblocktemplate.transactions.length + 1)
  })
}

t.test('rebuilt mutations equal the recorded broken blocks byte for byte', async (t) => {
  for (const name of ['empty-mempool', 'segwit-txs', 'many-txs'] as const) {
    const f = loadFixture(name)
    for (const broken of f.broken_blocks) {
      t.equal(mutateBlock(f.stratum.block, broken.mutation as Mutation), broken.block, `${name} ${broken.mutation}`)
    }
  }
})

t.test('the commitment of a derived template is computed as Core does', async (t) => {
  for (const name of FIXTURE_NAMES) {
    const gbt = loadFixture(name).getblocktemplate
    t.equal(witnessCommitmentScript(gbt.transactions.map((tx) => tx.hash)).toString('hex'), gbt.default_witness_commitment, name)
  }
})

t.test('the fixtures chain: empty-mempool, segwit-txs and many-txs build on each other', async (t) => {
  const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
  const client = clientFor(t, fake)
  for (const name of ['empty-mempool', 'segwit-txs', 'many-txs'] as const) {
    const f = loadFixture(name)
    fake.setTemplate(name)
    t.equal(await client.submitBlock(f.stratum.block), null, name)
  }
  const many = loadFixture('many-txs')
  t.equal(fake.tip.hash, many.accepted_block_hash)
  const first = loadFixture('empty-mempool')
  const header = await client.getBlockHeader(first.accepted_block_hash)
  t.equal(header.confirmations, 3, 'the first block has 3 confirmations')
  t.equal(header.nextblockhash, loadFixture('segwit-txs').accepted_block_hash)
})
