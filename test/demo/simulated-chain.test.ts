/**
 * The demo's simulated chain: its templates have the shape of Bitcoin Core's
 * (compared field by field with the real regtest fixtures), and its
 * submitblock checks answer Core's reject strings for the same mutations
 * the fixtures' broken blocks carry.
 */
import t from 'tap'
import { writeFileSync, appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { assembleBlock } from '../../src/jobs/block-assembly.js'
import { buildCoinbase, coinbaseWithWitness } from '../../src/jobs/coinbase.js'
import { merkleTreeRoot } from '../../src/jobs/merkle.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { targetFromBits } from '../../src/shares/target.js'
import { decodeBlock, isCoinbase, merkleRootMutated } from '../../src/demo/block-decode.js'
import {
  compactBits,
  difficultyOfBits,
  emptyBlockWitnessCommitment,
  REGTEST_BITS,
  RpcFailure,
  SimulatedChain,
  type ChainTemplate,
} from '../../src/demo/simulated-chain.js'
import { demoBits } from '../../src/demo/demo.js'
import { loadFixture } from '../helpers/fake-bitcoind.js'

const hasher = selectHasher({})
const sha256d = hasher.sha256d
const OP_TRUE = Buffer.from([0x51])
const GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'
/** A fixed clock (ms) after the genesis block: block times are checked against it. */
const NOW = 1_800_000_000_000

interface BlockOptions {
  height?: number
  prev?: string
  bits?: number
  time?: number
  version?: number
  value?: bigint
  tag?: string
  /** null: no commitment output. */
  commitment?: Buffer | null
  /** The coinbase's witness reserved value; null: no witness in the coinbase. */
  reserved?: Buffer | null
  extraTxs?: Buffer[]
  /** 'meet' (default) or 'miss' the target. */
  pow?: 'meet' | 'miss'
}

/** A block for `chain` built with the pool's own coinbase and block code, mined at the chain's target. */
function makeBlock(chain: SimulatedChain, o: BlockOptions = {}): { hex: string; header: Buffer; coinbase: Buffer } {
  const template = chain.template()
  const height = o.height ?? template.height
  const value = o.value ?? BigInt(template.coinbasevalue)
  const commitment = o.commitment === undefined ? Buffer.from(template.default_witness_commitment, 'hex') : o.commitment
  const { coinb1, coinb2 } = buildCoinbase({
    height,
    tag: o.tag ?? '/test/',
    extranonceSize: 12,
    outputs: [{ script: OP_TRUE, value }],
    coinbaseValue: value,
    witnessCommitment: commitment ?? undefined,
  })
  const coinbase = Buffer.concat([coinb1, Buffer.alloc(12, 0xab), coinb2])
  const extra = o.extraTxs ?? []
  const txids = [sha256d(coinbase), ...extra.map(txid)]
  const header = Buffer.alloc(80)
  header.writeInt32LE(o.version ?? template.version, 0)
  Buffer.from(o.prev ?? template.previousblockhash, 'hex').reverse().copy(header, 4)
  merkleTreeRoot(txids, sha256d).copy(header, 36)
  header.writeUInt32LE(o.time ?? template.curtime, 68)
  const bits = o.bits ?? chain.bits
  header.writeUInt32LE(bits, 72)
  const target = targetFromBits(bits)
  for (let nonce = 0; ; nonce++) {
    header.writeUInt32LE(nonce, 76)
    const hash = BigInt(`0x${Buffer.from(sha256d(header)).reverse().toString('hex')}`)
    if ((o.pow ?? 'meet') === 'meet' ? hash <= target : hash > target) break
  }
  let coinbaseBytes: Buffer = coinbase
  if (o.reserved !== null && commitment !== null) {
    coinbaseBytes = o.reserved === undefined ? coinbaseWithWitness(coinbase) : withReserved(coinbase, o.reserved)
  }
  return { hex: assembleBlock(header, coinbaseBytes, false, extra).toString('hex'), header, coinbase }
}

/** The txid of a serialized transaction (without its witness). */
function txid(tx: Buffer): Buffer {
  return sha256d((decodeBlock(Buffer.concat([Buffer.alloc(80), Buffer.from([1]), tx])).txs[0] as { stripped: Buffer }).stripped)
}

/** The coinbase with a witness stack of one item `reserved` (any length). */
function withReserved(coinbase: Buffer, reserved: Buffer): Buffer {
  return Buffer.concat([coinbase.subarray(0, 4), Buffer.from([0, 1]), coinbase.subarray(4, coinbase.length - 4), Buffer.from([1, reserved.length]), reserved, coinbase.subarray(coinbase.length - 4)])
}

const newChain = (over: Partial<ConstructorParameters<typeof SimulatedChain>[0]> = {}): SimulatedChain => new SimulatedChain({ sha256d, clock: () => NOW, ...over })

t.test('starts at the regtest genesis block', async (t) => {
  const chain = newChain()
  t.equal(chain.tip.hash, GENESIS)
  t.equal(chain.tip.height, 0)
  t.equal(chain.bits, REGTEST_BITS)
  t.equal(chain.blockAt(0)?.hash, GENESIS)
  t.equal(chain.blockAt(1), undefined)
  t.equal(chain.confirmations(chain.tip), 1)
})

t.test('templates have the fields and types of Bitcoin Core v30 regtest templates', async (t) => {
  const chain = newChain()
  const ours = chain.template() as unknown as Record<string, unknown>
  for (const name of ['empty-mempool', 'segwit-txs'] as const) {
    const core = loadFixture(name).getblocktemplate as Record<string, unknown>
    t.same(Object.keys(ours).sort(), Object.keys(core).sort(), `${name}: same fields`)
    for (const [key, value] of Object.entries(core)) {
      t.equal(typeof ours[key], typeof value, `${name}: ${key} is a ${typeof value}`)
      t.equal(Array.isArray(ours[key]), Array.isArray(value), `${name}: ${key} array-ness`)
    }
  }
  const core = loadFixture('empty-mempool').getblocktemplate
  for (const key of ['capabilities', 'version', 'rules', 'vbavailable', 'vbrequired', 'coinbaseaux', 'target', 'mutable', 'noncerange', 'sigoplimit', 'sizelimit', 'weightlimit', 'bits', 'coinbasevalue']) {
    t.same(ours[key], core[key], `${key} as Core's regtest`)
  }
  t.equal(ours.default_witness_commitment, core.default_witness_commitment, 'the empty block witness commitment is Core\'s')
  t.equal(ours.height, 1)
  t.equal(ours.previousblockhash, GENESIS)
  t.ok((ours.longpollid as string).startsWith(GENESIS))
  t.equal(ours.curtime, NOW / 1000)
  t.equal(ours.mintime, 1296688602 + 1, 'mintime = median time past + 1')
})

t.test('subsidy halves every 150 blocks', async (t) => {
  const chain = newChain()
  t.equal(chain.subsidy(1), 5_000_000_000n)
  t.equal(chain.subsidy(149), 5_000_000_000n)
  t.equal(chain.subsidy(150), 2_500_000_000n)
  t.equal(chain.subsidy(300), 1_250_000_000n)
  t.equal(chain.subsidy(150 * 64), 0n)
})

t.test('compact bits and difficulty as Core computes them', async (t) => {
  for (const bits of [0x207fffff, 0x1d00ffff, 0x1e0ffff0, 0x1b0404cb, 0x170331db]) t.equal(compactBits(targetFromBits(bits)), bits, bits.toString(16))
  t.equal(compactBits(0x80n), 0x02008000, 'a set sign bit moves to a longer mantissa')
  t.equal(compactBits(0x12n), 0x01120000)
  t.equal(compactBits(0n), 0)
  t.equal(difficultyOfBits(0x1d00ffff), 1)
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= Math.abs(b) * 1e-12
  t.ok(near(difficultyOfBits(0x207fffff), 4.656542373906925e-10), 'regtest difficulty')
  t.equal(difficultyOfBits(0x1b0404cb), 16307.420938523983)
  t.ok(near(difficultyOfBits(0x2100ffff), 2 ** -32), 'an exponent above 29 divides')
  t.equal(demoBits(1e6, 20), compactBits(targetFromBits(demoBits(1e6, 20))))
  t.ok(Math.abs(difficultyOfBits(demoBits(1e6, 20)) - (1e6 * 20) / 2 ** 32) < 1e-6, 'demo bits: a block per 20 s at 1 MH/s')
  t.equal(demoBits(1, 1), REGTEST_BITS, 'never easier than regtest')
})

t.test('bits must be canonical and within the regtest pow limit', async (t) => {
  t.throws(() => newChain({ bits: 0x2100ffff }), RangeError)
  t.throws(() => newChain({ bits: 0x1d0000ff }), RangeError, 'not canonical')
  t.throws(() => newChain({ bits: 0 }), RangeError)
  t.equal(newChain({ bits: 0x1f00ffff }).bits, 0x1f00ffff)
})

t.test('accepts a block built by the pool code; the tip and template advance', async (t) => {
  const chain = newChain()
  let changes = 0
  const off = chain.onChange(() => changes++)
  const first = chain.template()
  const block = makeBlock(chain)
  const outcome = chain.submit(block.hex)
  t.equal(outcome.result, null)
  t.equal(outcome.height, 1)
  t.equal(chain.tip.height, 1)
  t.equal(chain.tip.hash, outcome.hash)
  t.equal(chain.accepted, 1)
  t.equal(changes, 1)
  const next = chain.template()
  t.not(next, first)
  t.equal(next.height, 2)
  t.equal(next.previousblockhash, outcome.hash)
  t.not(next.longpollid, first.longpollid)
  t.equal(chain.template(), next, 'the same template until the tip moves')
  t.equal(chain.confirmations(chain.block(outcome.hash as string) as never), 1)
  t.equal(chain.confirmations(chain.block(GENESIS) as never), 2)
  t.equal(chain.submit(block.hex).result, 'duplicate')
  off()
  chain.submit(makeBlock(chain, { tag: '/two/' }).hex)
  t.equal(changes, 1, 'unsubscribed')
})

t.test('a block without the coinbase witness is completed like Core does', async (t) => {
  const chain = newChain()
  t.equal(chain.submit(makeBlock(chain, { reserved: null }).hex).result, null)
})

t.test('a second valid block at the tip height is inconclusive; a longer branch reorganizes', async (t) => {
  const chain = newChain()
  const a = chain.submit(makeBlock(chain, { tag: '/a/' }).hex)
  const b = makeBlock(chain, { tag: '/b/', prev: GENESIS, height: 1, time: NOW / 1000 })
  t.equal(chain.submit(b.hex).result, 'inconclusive')
  t.equal(chain.tip.hash, a.hash)
  const bHash = Buffer.from(sha256d(b.header)).reverse().toString('hex')
  const c = makeBlock(chain, { tag: '/c/', prev: bHash, height: 2, time: NOW / 1000 + 2 })
  t.equal(chain.submit(c.hex).result, null, 'a block on the side branch makes it the longest')
  t.equal(chain.tip.height, 2)
  t.equal(chain.blockAt(1)?.hash, bHash)
  t.equal(chain.confirmations(chain.block(a.hash as string) as never), -1, 'the old tip left the active chain')
})

t.test("rejects the fixtures' mutations with Bitcoin Core's strings", async (t) => {
  const chain = newChain()
  const good = makeBlock(chain)
  const header = Buffer.from(good.header)
  header[40] = (header[40] as number) ^ 1
  const badRoot = Buffer.from(good.hex, 'hex')
  header.copy(badRoot, 0)
  const cases: [string, string, string][] = [
    ['header merkle root altered', badRoot.toString('hex'), 'bad-txnmrklroot'],
    ['a nonce that misses the target', makeBlock(chain, { pow: 'miss' }).hex, 'high-hash'],
    ['BIP34 height off by one', makeBlock(chain, { height: 2 }).hex, 'bad-cb-height'],
    ['coinbase pays one satoshi too much', makeBlock(chain, { value: 5_000_000_001n }).hex, 'bad-cb-amount'],
    ['witness commitment altered', makeBlock(chain, { commitment: Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), Buffer.alloc(32, 1)]) }).hex, 'bad-witness-merkle-match'],
    ['31-byte witness reserved value', makeBlock(chain, { reserved: Buffer.alloc(31) }).hex, 'bad-witness-nonce-size'],
  ]
  for (const [what, hex, reason] of cases) t.equal(chain.submit(hex).result, reason, what)
  // The fixtures carry the same reasons, from Bitcoin Core itself.
  const coreReasons = (['empty-mempool', 'segwit-txs'] as const).flatMap((name) => loadFixture(name).broken_blocks.map((b) => b.submitblock))
  for (const [, , reason] of cases) t.ok(coreReasons.includes(reason), `${reason} is one of Core's answers in the fixture`)
  t.equal(chain.tip.height, 0, 'nothing was accepted')
  t.equal(chain.submit(good.hex).result, null, 'the unbroken block is accepted after all of them')
})

t.test('the other consensus checks', async (t) => {
  const chain = newChain()
  const tx = (hexTx: string): Buffer => Buffer.from(hexTx, 'hex')
  // A plain one-input, one-output transaction spending an outpoint the chain does not have.
  const spend = tx(`02000000${'01'}${'11'.repeat(32)}00000000${'00'}ffffffff${'01'}${'0000000000000000'}${'01'}51${'00000000'}`)
  const spendNull = tx(`02000000${'01'}${'00'.repeat(32)}ffffffff${'02'}5151ffffffff${'01'}${'0000000000000000'}${'01'}51${'00000000'}`)
  const witnessTx = tx(`02000000${'0001'}${'01'}${'22'.repeat(32)}00000000${'00'}ffffffff${'01'}${'0000000000000000'}${'01'}51${'01'}${'01'}aa${'00000000'}`)
  const unknownPrev = 'ab'.repeat(32)
  const mtp = 1296688602
  const cases: [string, string, string][] = [
    ['unknown parent', makeBlock(chain, { prev: unknownPrev }).hex, 'prev-blk-not-found'],
    ['other bits', makeBlock(chain, { bits: 0x1f00ffff }).hex, 'bad-diffbits'],
    ['bits beyond the pow limit', makeBlock(chain, { bits: 0x2100ffff }).hex, 'high-hash'],
    ['time at the median time past', makeBlock(chain, { time: mtp }).hex, 'time-too-old'],
    ['time more than 2 h ahead', makeBlock(chain, { time: NOW / 1000 + 7201 }).hex, 'time-too-new'],
    ['version 3', makeBlock(chain, { version: 3 }).hex, 'bad-version(0x00000003)'],
    ['a transaction with no known inputs', makeBlock(chain, { commitment: null, extraTxs: [spend] }).hex, 'bad-txns-inputs-missingorspent'],
    ['a second coinbase', makeBlock(chain, { commitment: null, extraTxs: [spendNull] }).hex, 'bad-cb-multiple'],
    ['a witness without a commitment', makeBlock(chain, { commitment: null, extraTxs: [witnessTx] }).hex, 'unexpected-witness'],
    ['a transaction beside the coinbase does not match the empty-block commitment', makeBlock(chain, { extraTxs: [spend] }).hex, 'bad-witness-merkle-match'],
    ['the same transaction twice', makeBlock(chain, { commitment: null, extraTxs: [spend, spend] }).hex, 'bad-txns-inputs-missingorspent'],
  ]
  for (const [what, hex, reason] of cases) t.equal(chain.submit(hex).result, reason, what)
  const other = Buffer.from(spend)
  other[10] = 0x33
  const dupTree = makeBlock(chain, { commitment: null, extraTxs: [spend, other, other] })
  t.equal(chain.submit(dupTree.hex).result, 'bad-txns-duplicate', 'CVE-2012-2459: a mutated merkle tree')
  t.equal(chain.submit(makeBlock(chain, { version: 3 }).hex).result, 'duplicate-invalid', 'a block found invalid is remembered')
  t.throws(() => chain.submit('zz'), new RpcFailure(-22, 'Block decode failed'))
  t.throws(() => chain.submit('00'.repeat(80)), new RpcFailure(-22, 'Block decode failed'))
  const noCoinbase = Buffer.concat([Buffer.alloc(80), Buffer.from([1]), spend]).toString('hex')
  t.throws(() => chain.submit(noCoinbase), new RpcFailure(-22, 'Block does not start with a coinbase'))
  t.equal(chain.tip.height, 0)
})

t.test('a coinbase paying less than allowed is accepted (Core burns the rest)', async (t) => {
  const chain = newChain()
  const { hex } = makeBlock(chain, { value: 4_000_000_000n })
  t.equal(chain.submit(hex).result, null)
})

t.test('decodes real Bitcoin Core blocks: txids, witness, merkle root', async (t) => {
  for (const name of ['segwit-txs', 'many-txs'] as const) {
    const f = loadFixture(name)
    const block = decodeBlock(Buffer.from(f.stratum.block, 'hex'))
    t.equal(block.txs.length, f.getblocktemplate.transactions.length + 1, `${name}: every transaction`)
    t.ok(isCoinbase(block.txs[0] as never))
    t.notOk(block.txs.slice(1).some((tx) => isCoinbase(tx)))
    const txids = block.txs.slice(1).map((tx) => Buffer.from(sha256d(tx.stripped)).reverse().toString('hex'))
    t.same(txids, f.getblocktemplate.transactions.map((tx) => tx.txid), `${name}: txids`)
    const wtxids = block.txs.slice(1).map((tx) => Buffer.from(sha256d(tx.raw)).reverse().toString('hex'))
    t.same(wtxids, f.getblocktemplate.transactions.map((tx) => tx.hash), `${name}: wtxids`)
    const { root, mutated } = merkleRootMutated(
      block.txs.map((tx) => sha256d(tx.stripped)),
      sha256d,
    )
    t.same(root, block.header.subarray(36, 68), `${name}: merkle root`)
    t.notOk(mutated)
    t.equal(Buffer.from(sha256d(block.header)).reverse().toString('hex'), f.stratum.block_hash)
  }
  t.same(merkleRootMutated([], sha256d).root, Buffer.alloc(32))
  const bad = Buffer.from(loadFixture('segwit-txs').stratum.block, 'hex')
  t.throws(() => decodeBlock(Buffer.concat([bad, Buffer.from([0])])), /after the last transaction/)
  t.throws(() => decodeBlock(bad.subarray(0, bad.length - 1)), /past the end/)
  t.throws(() => decodeBlock(Buffer.concat([bad.subarray(0, 80), Buffer.from([0xfd, 0x01, 0x00])])), /non-canonical/)
  t.throws(() => decodeBlock(Buffer.concat([bad.subarray(0, 80), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x00])])), /cannot fit/)
  t.throws(() => decodeBlock(Buffer.concat([bad.subarray(0, 80), Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1])])), /too large/)
  t.throws(() => decodeBlock(Buffer.concat([bad.subarray(0, 80), Buffer.from([1]), Buffer.from('020000000002', 'hex')])), /optional data/)
  const superfluous = Buffer.from(`02000000000101${'11'.repeat(32)}0000000000ffffffff0100000000000000000151${'00'}00000000`, 'hex')
  t.throws(() => decodeBlock(Buffer.concat([bad.subarray(0, 80), Buffer.from([1]), superfluous])), /superfluous/)
})

t.test('witness commitment of an empty block', async (t) => {
  t.equal(emptyBlockWitnessCommitment(sha256d).toString('hex'), loadFixture('empty-mempool').getblocktemplate.default_witness_commitment)
})

t.test('blocks saved to the store come back on the next start', async (t) => {
  const dir = t.testdir({})
  const storePath = join(dir, 'blocks.jsonl')
  const chain = newChain({ storePath })
  t.equal(chain.submit(makeBlock(chain).hex).result, null)
  t.equal(chain.submit(makeBlock(chain, { time: NOW / 1000 + 1 }).hex).result, null)
  appendFileSync(storePath, 'not json\n{"header":"00","nTx":1}\n\n')
  const again = newChain({ storePath })
  t.equal(again.tip.height, 2)
  t.equal(again.tip.hash, chain.tip.hash)
  t.equal(again.template().height, 3)
  const harder = newChain({ storePath, bits: 0x1f00ffff })
  t.equal(harder.tip.height, 0, 'blocks of other bits are not taken')
  t.throws(() => newChain({ storePath: dir }), /EISDIR/, 'an unreadable store is an error')
  const unsaved = newChain({ storePath: join(dir, 'later', 'x.jsonl') })
  writeFileSync(join(dir, 'later'), 'a file where the folder should be')
  t.equal(unsaved.submit(makeBlock(unsaved).hex).result, null, 'a block that cannot be saved is still accepted')
  t.equal(unsaved.tip.height, 1)
})

t.test('template curtime follows the clock, never before mintime', async (t) => {
  let now = NOW
  const chain = newChain({ clock: () => now })
  const first: ChainTemplate = chain.template()
  t.equal(first.curtime, NOW / 1000)
  now += 5000
  t.equal(chain.template().curtime, NOW / 1000 + 5)
  now = 0
  t.equal(chain.template().curtime, first.mintime)
})
