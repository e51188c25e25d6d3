import t from 'tap'
import { assembleBlock, templateMerkleBranch, templateTransactionData, templateTxids } from '../../src/jobs/block-assembly.js'
import { buildCoinbase, payoutOutputs } from '../../src/jobs/coinbase.js'
import { coinbaseMerkleBranch, merkleTreeRoot } from '../../src/jobs/merkle.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { parseBlock } from '../helpers/block.js'
import { fixture } from '../helpers/fixtures.js'

const { sha256d } = selectHasher({})

/** The parts of a regtest fixture (test/fixtures/regtest/README.md) a block is assembled from. */
interface BlockCase {
  payout_script: string
  coinbase_tag: string
  submitblock: string | null
  accepted_block_hash: string
  getblocktemplate: {
    height: number
    coinbasevalue: number
    default_witness_commitment?: string
    transactions: { data: string; txid: string; hash: string }[]
  }
  stratum: {
    extranonce1: string
    extranonce2: string
    coinb1: string
    coinb2: string
    merkle_branch: string[]
    merkle_root: string
    header: string
    block_hash: string
    block: string
  }
}
const CASES = ['empty-mempool', 'segwit-txs', 'many-txs', 'big-template'] as const
const loadCase = (name: string): BlockCase => JSON.parse(fixture(`regtest/${name}.json`).toString('utf8')) as BlockCase
const display = (internal: Buffer): string => Buffer.from(internal).reverse().toString('hex')

for (const name of CASES) {
  t.test(`${name}: the assembled block is the one Bitcoin Core accepted, byte for byte`, async (t) => {
    const c = loadCase(name)
    const gbt = c.getblocktemplate
    const s = c.stratum
    t.equal(c.submitblock, null, 'the fixture block was accepted')
    t.ok(s.block, 'the fixture keeps the accepted block')

    // The coinbase as the pool builds it, with the fixture's extranonces.
    const value = BigInt(gbt.coinbasevalue)
    const { coinb1, coinb2 } = buildCoinbase({
      height: gbt.height,
      tag: c.coinbase_tag,
      extranonceSize: (s.extranonce1.length + s.extranonce2.length) / 2,
      outputs: payoutOutputs(value, Buffer.from(c.payout_script, 'hex')),
      coinbaseValue: value,
      witnessCommitment: gbt.default_witness_commitment === undefined ? undefined : Buffer.from(gbt.default_witness_commitment, 'hex'),
    })
    const coinbase = Buffer.concat([coinb1, Buffer.from(s.extranonce1 + s.extranonce2, 'hex'), coinb2])
    t.equal(coinbase.toString('hex'), s.coinb1 + s.extranonce1 + s.extranonce2 + s.coinb2, 'coinbase')

    const header = Buffer.from(s.header, 'hex')
    const withWitness = gbt.default_witness_commitment !== undefined
    const block = assembleBlock(header, coinbase, withWitness, templateTransactionData(gbt.transactions))
    t.ok(block.toString('hex') === s.block, `block (${block.length} bytes) equals the accepted block`)
    t.equal(display(sha256d(header)), c.accepted_block_hash, 'the header is the accepted block')

    // The merkle branch from the template's txids, and the root it gives.
    const branch = templateMerkleBranch(gbt.transactions, sha256d)
    t.same(branch.map((b) => b.toString('hex')), s.merkle_branch, `merkle branch (${branch.length} levels)`)
    const txids = templateTxids(gbt.transactions)
    const coinbaseTxid = sha256d(coinbase)
    t.equal(merkleTreeRoot([coinbaseTxid, ...txids], sha256d).toString('hex'), header.subarray(36, 68).toString('hex'), 'merkle root in the header')
    t.equal(display(merkleTreeRoot([coinbaseTxid, ...txids], sha256d)), s.merkle_root)

    // What the block parser reads back: the same transactions, in template order.
    const parsed = parseBlock(block)
    t.equal(parsed.txs.length, gbt.transactions.length + 1, 'transaction count')
    const parsedIds = parsed.txs.slice(1).map((tx) => sha256d(tx.stripped).toString('hex'))
    t.ok(parsedIds.every((id, i) => id === (txids[i] as Buffer).toString('hex')), 'each txid of the block is the template txid, internal order')
  })
}

t.test('without witness the coinbase goes in as given', async (t) => {
  const c = loadCase('empty-mempool')
  const coinbase = Buffer.from(c.stratum.coinb1 + c.stratum.extranonce1 + c.stratum.extranonce2 + c.stratum.coinb2, 'hex')
  const header = Buffer.from(c.stratum.header, 'hex')
  t.equal(assembleBlock(header, coinbase, false, []).toString('hex'), c.stratum.header + '01' + coinbase.toString('hex'))
  const tx = Buffer.from('deadbeef', 'hex')
  t.equal(assembleBlock(header, coinbase, false, [tx, tx]).subarray(80, 81).toString('hex'), '03', 'count includes the coinbase')
})

t.test('the txid list is in internal order, and the branch is merkle.ts over it', async (t) => {
  const c = loadCase('segwit-txs')
  const txs = c.getblocktemplate.transactions
  const ids = templateTxids(txs)
  t.equal(display(ids[0] as Buffer), (txs[0] as { txid: string }).txid)
  t.same(templateMerkleBranch(txs, sha256d), coinbaseMerkleBranch(ids, sha256d))
  t.same(templateMerkleBranch([], sha256d), [], 'coinbase only: empty branch')
  t.not((txs[0] as { txid: string }).txid, (txs[0] as { hash: string }).hash, 'txid (not the wtxid `hash`) is what the tree uses')
})

t.test('bad input is refused, not truncated', async (t) => {
  t.throws(() => assembleBlock(Buffer.alloc(79), Buffer.alloc(60), false, []), { name: 'RangeError', message: /header is 79 bytes/ })
  t.throws(() => templateTransactionData([{ data: '00zz' }]), { message: /transaction 0 data is not even-length hex/ })
  t.throws(() => templateTransactionData([{ data: '000' }]), { message: /not even-length hex/ })
  t.throws(() => templateTxids([{ txid: 'ab'.repeat(31) }]), { message: /transaction 0 txid is 31 bytes, not 32/ })
  t.throws(() => templateTxids([{ txid: 'xy'.repeat(32) }]), { message: /txid is not even-length hex/ })
})
