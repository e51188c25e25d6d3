import t from 'tap'
import {
  buildCoinbase,
  COINBASE_SCRIPT_SIG_MAX,
  CoinbaseError,
  coinbaseWithWitness,
  heightPush,
  maxTagLength,
  payoutOutputs,
  type CoinbaseParams,
} from '../../src/jobs/coinbase.js'
import { MAX_MONEY, pushData, pushInt, pushSize, scriptNum, uint64LE, varInt, withVarIntLength } from '../../src/jobs/serialize.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { fixture } from '../helpers/fixtures.js'
import { prng } from '../helpers/prng.js'

const { sha256d } = selectHasher({})

/** The parts of a regtest fixture (test/fixtures/regtest/README.md) the coinbase is built from. */
interface CoinbaseCase {
  payout_script: string
  coinbase_tag: string
  getblocktemplate: { height: number; coinbasevalue: number; default_witness_commitment?: string }
  stratum: { extranonce1: string; extranonce2: string; coinb1: string; coinb2: string; coinbase_txid: string; coinbase_with_witness: string }
}
const CASES = ['empty-mempool', 'segwit-txs', 'many-txs', 'big-template'] as const
const loadCase = (name: string): CoinbaseCase => JSON.parse(fixture(`regtest/${name}.json`).toString('utf8')) as CoinbaseCase

const P2WPKH = Buffer.from('00142024a6e7482b3839412ce9c90ff416539db9cb84', 'hex')
const COMMITMENT = Buffer.from('6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9', 'hex')

/** A valid set of parameters to vary one field of. */
function params(overrides: Partial<CoinbaseParams> = {}): CoinbaseParams {
  return { height: 840_000, tag: '/headframe/', extranonceSize: 12, outputs: [{ script: P2WPKH, value: 50n }], coinbaseValue: 50n, ...overrides }
}

/** The scriptSig length declared in coinb1 (the byte after the null prevout). */
const scriptSigLength = (coinb1: Buffer): number => coinb1[4 + 1 + 36] as number

t.test('every regtest fixture: coinb1, coinb2, the witness form and the txid byte for byte', async (t) => {
  for (const name of CASES) {
    t.test(name, async (t) => {
      const c = loadCase(name)
      const gbt = c.getblocktemplate
      const s = c.stratum
      const coinbaseValue = BigInt(gbt.coinbasevalue)
      const extranonceSize = (s.extranonce1.length + s.extranonce2.length) / 2
      const { coinb1, coinb2 } = buildCoinbase({
        height: gbt.height,
        tag: c.coinbase_tag,
        extranonceSize,
        outputs: payoutOutputs(coinbaseValue, Buffer.from(c.payout_script, 'hex')),
        coinbaseValue,
        witnessCommitment: gbt.default_witness_commitment === undefined ? undefined : Buffer.from(gbt.default_witness_commitment, 'hex'),
      })
      t.equal(coinb1.toString('hex'), s.coinb1, 'coinb1')
      t.equal(coinb2.toString('hex'), s.coinb2, 'coinb2')
      const coinbase = Buffer.concat([coinb1, Buffer.from(s.extranonce1 + s.extranonce2, 'hex'), coinb2])
      t.equal(coinbaseWithWitness(coinbase).toString('hex'), s.coinbase_with_witness, 'coinbase with witness')
      t.equal(Buffer.from(sha256d(coinbase)).reverse().toString('hex'), s.coinbase_txid, 'txid')
      t.equal(scriptSigLength(coinb1), coinb1.length - (4 + 1 + 36 + 1) + extranonceSize, 'scriptSig length covers the extranonce space')
    })
  }
})

/**
 * Reference for `CScript() << nHeight`, transliterated from Bitcoin Core's
 * script.h (`CScriptNum::serialize`, `CScript::push_int64`, `operator<<`
 * for vectors): written apart from src/ so that the two can disagree.
 */
function coreScriptNumSerialize(value: bigint): number[] {
  if (value === 0n) return []
  const result: number[] = []
  const neg = value < 0n
  let absvalue = neg ? -value : value
  while (absvalue) {
    result.push(Number(absvalue & 0xffn))
    absvalue >>= 8n
  }
  if ((result[result.length - 1] as number) & 0x80) result.push(neg ? 0x80 : 0)
  else if (neg) result[result.length - 1] = (result[result.length - 1] as number) | 0x80
  return result
}
function coreScriptPushInt64(n: bigint): number[] {
  if (n === -1n || (n >= 1n && n <= 16n)) return [Number(n) + (0x51 - 1)]
  if (n === 0n) return [0x00]
  const v = coreScriptNumSerialize(n)
  if (v.length < 0x4c) return [v.length, ...v]
  return [0x4c, v.length, ...v]
}

t.test('BIP34 height push: as Bitcoin Core writes CScript() << nHeight', async (t) => {
  const known: Record<number, string> = {
    0: '00',
    1: '51',
    16: '60',
    17: '0111',
    127: '017f',
    128: '028000',
    255: '02ff00',
    256: '020001',
    32767: '02ff7f',
    32768: '03008000',
    65535: '03ffff00',
    65536: '03000001',
    8388607: '03ffff7f',
    8388608: '0400008000',
    840000: '0340d10c',
  }
  for (const [height, hex] of Object.entries(known)) {
    const h = Number(height)
    t.equal(heightPush(h).toString('hex'), hex, `height ${h}`)
    t.equal(heightPush(h).toString('hex'), Buffer.from(coreScriptPushInt64(BigInt(h))).toString('hex'), `height ${h} matches the reference`)
  }
  t.equal(heightPush(0x7fffffff).toString('hex'), '04ffffff7f', 'the largest height')
  for (const bad of [-1, 1.5, 0x80000000, Number.NaN]) t.throws(() => heightPush(bad), CoinbaseError, `height ${bad}`)
  // Heights 1..16 are OP_N, so the height alone is one byte; the fixture at 111 is a 1-byte push.
  const low = buildCoinbase(params({ height: 16, tag: '', extranonceSize: 1 }))
  t.equal(low.coinb1.subarray(-2).toString('hex'), '0260', 'height 16: scriptSig length 2, OP_16, then the extranonce')
})

t.test('script numbers and pushes agree with the reference over many values', async (t) => {
  const rand = prng(7)
  const values = [0n, 1n, -1n, 16n, 17n, -16n, 127n, 128n, -127n, -128n, -255n, 255n, 256n, 0x7fffffffn, -0x7fffffffn, 1n << 40n]
  for (let i = 0; i < 2000; i++) values.push(BigInt(Math.floor(rand() * 2 ** 40)) * (rand() < 0.5 ? -1n : 1n))
  for (const v of values) {
    if (scriptNum(v).toString('hex') !== Buffer.from(coreScriptNumSerialize(v)).toString('hex')) t.fail(`scriptNum(${v})`)
    if (pushInt(v).toString('hex') !== Buffer.from(coreScriptPushInt64(v)).toString('hex')) t.fail(`pushInt(${v})`)
  }
  t.equal(scriptNum(-128).toString('hex'), '8080')
  t.equal(pushInt(-1).toString('hex'), '4f')
  t.pass(`${values.length} values`)
})

t.test('serialization helpers', async (t) => {
  const vi: [number, string][] = [
    [0, '00'],
    [0xfc, 'fc'],
    [0xfd, 'fdfd00'],
    [0xffff, 'fdffff'],
    [0x10000, 'fe00000100'],
    [0xffffffff, 'feffffffff'],
    [0x100000000, 'ff0000000001000000'],
  ]
  for (const [n, hex] of vi) t.equal(varInt(n).toString('hex'), hex, `varInt ${n}`)
  for (const bad of [-1, 1.5, 2 ** 53]) t.throws(() => varInt(bad), RangeError)
  t.equal(uint64LE(MAX_MONEY).toString('hex'), '0040075af0750700')
  t.throws(() => uint64LE(-1n), RangeError)
  t.throws(() => uint64LE(1n << 64n), RangeError)
  t.equal(pushData(Buffer.alloc(0)).toString('hex'), '00')
  t.equal(pushData(Buffer.from([1])).toString('hex'), '0101', 'one byte is a push, not OP_1')
  t.equal(pushData(Buffer.alloc(75)).length, 76)
  t.equal(pushData(Buffer.alloc(76)).subarray(0, 2).toString('hex'), '4c4c')
  t.equal(pushData(Buffer.alloc(255)).length, 257)
  t.throws(() => pushData(Buffer.alloc(256)), RangeError)
  for (const n of [0, 1, 75, 76, 255]) t.equal(pushSize(n), pushData(Buffer.alloc(n)).length, `pushSize ${n}`)
  t.equal(withVarIntLength(Buffer.from([9, 9])).toString('hex'), '020909')
})

t.test('scriptSig limits: 2..100 bytes, with the largest tag that fits', async (t) => {
  // Brute force: the largest tag buildCoinbase takes, for every extranonce size.
  for (const height of [1, 840_000, 8_388_608]) {
    for (let extranonceSize = 0; extranonceSize <= COINBASE_SCRIPT_SIG_MAX; extranonceSize++) {
      let largest = -1
      for (let length = 0; length <= 100; length++) {
        try {
          const { coinb1 } = buildCoinbase(params({ height, extranonceSize, tag: Buffer.alloc(length, 0x41) }))
          const total = scriptSigLength(coinb1)
          if (total > COINBASE_SCRIPT_SIG_MAX || total < 2) t.fail(`scriptSig of ${total} bytes accepted`)
          largest = length
        } catch (err) {
          if (!(err instanceof CoinbaseError)) throw err
        }
      }
      if (largest !== -1 && maxTagLength(height, extranonceSize) !== largest) {
        t.fail(`height ${height}, extranonce ${extranonceSize}: maxTagLength ${maxTagLength(height, extranonceSize)}, largest built ${largest}`)
      }
    }
  }
  t.equal(maxTagLength(840_000, 12), 82, 'mainnet today, 4 + 8 bytes of extranonce: 82-byte tag')
  t.equal(maxTagLength(840_000, 100), 0)
  t.equal(maxTagLength(1, 22), 75, 'room 77: a 76-byte tag would need OP_PUSHDATA1 (78 bytes)')
  t.equal(maxTagLength(1, 21), 76, 'room 78: OP_PUSHDATA1 76')

  const full = buildCoinbase(params({ tag: Buffer.alloc(82, 0x41) }))
  t.equal(scriptSigLength(full.coinb1), 100)
  t.throws(() => buildCoinbase(params({ tag: Buffer.alloc(83, 0x41) })), {
    name: 'CoinbaseError',
    message: /scriptSig would be 101 bytes, consensus allows 100: the tag is 83 bytes, at most 82 fit with 12 bytes of extranonce space at height 840000/,
  })
  t.throws(() => buildCoinbase(params({ height: 1, tag: '', extranonceSize: 0 })), { name: 'CoinbaseError', message: /1 byte, consensus needs at least 2/ })
  for (const bad of [-1, 1.5, 101]) t.throws(() => buildCoinbase(params({ extranonceSize: bad })), { name: 'CoinbaseError', message: /extranonce size/ })
})

t.test('the tag: a UTF-8 string or bytes, pushed after the height; empty means no push', async (t) => {
  const asString = buildCoinbase(params({ tag: '/hé/' }))
  const asBytes = buildCoinbase(params({ tag: new Uint8Array(Buffer.from('/hé/', 'utf8')) }))
  t.same(asString, asBytes)
  t.equal(asString.coinb1.subarray(-10).toString('hex'), '0340d10c052f68c3a92f')
  const none = buildCoinbase(params({ tag: '' }))
  t.equal(none.coinb1.subarray(-5).toString('hex'), '100340d10c', 'length 16 = 4 + 12, then the height push')
})

t.test('outputs: payouts in order, then the witness commitment; amounts must add up exactly', async (t) => {
  const treasury = Buffer.from('a914373b819a068f32b7a6b38b6b38729647cfde01c287', 'hex')
  const outputs = payoutOutputs(5_000_000_000n, P2WPKH, { script: treasury, basisPoints: 150 })
  const { coinb2 } = buildCoinbase(params({ outputs, coinbaseValue: 5_000_000_000n, witnessCommitment: COMMITMENT }))
  const want = [
    'ffffffff03',
    uint64LE(4_925_000_000n).toString('hex') + '16' + P2WPKH.toString('hex'),
    uint64LE(75_000_000n).toString('hex') + '17' + treasury.toString('hex'),
    '0000000000000000' + '26' + COMMITMENT.toString('hex'),
    '00000000',
  ].join('')
  t.equal(coinb2.toString('hex'), want)
  const noCommitment = buildCoinbase(params())
  t.equal(noCommitment.coinb2.subarray(0, 5).toString('hex'), 'ffffffff01', 'one output without a commitment')

  t.throws(() => buildCoinbase(params({ coinbaseValue: 51n })), { name: 'CoinbaseError', message: /add up to 50 satoshis, the template's coinbasevalue is 51/ })
  t.throws(() => buildCoinbase(params({ coinbaseValue: 49n })), CoinbaseError, 'less than the value burns fees: refused too')
  t.throws(() => buildCoinbase(params({ outputs: [], coinbaseValue: 0n })), { message: /at least one payout output/ })
  t.throws(() => buildCoinbase(params({ outputs: [{ script: P2WPKH, value: -1n }, { script: P2WPKH, value: 51n }] })), { message: /output 0 value -1/ })
  t.throws(() => buildCoinbase(params({ outputs: [{ script: P2WPKH, value: MAX_MONEY + 1n }], coinbaseValue: MAX_MONEY + 1n })), { message: /output 0 value/ })
  t.throws(() => buildCoinbase(params({ witnessCommitment: Buffer.from('6a24aa21a9ed', 'hex') })), { message: /not a BIP 141 commitment/ })
  t.throws(() => buildCoinbase(params({ witnessCommitment: Buffer.alloc(38) })), { message: /not a BIP 141 commitment/ })
})

t.test('timelockToHeight (BIP 54): sequence 0xfffffffe, locktime height - 1; same coinb1', async (t) => {
  const plain = buildCoinbase(params())
  const locked = buildCoinbase(params({ timelockToHeight: true }))
  t.same(locked.coinb1, plain.coinb1)
  t.equal(locked.coinb2.subarray(0, 4).toString('hex'), 'feffffff')
  t.equal(locked.coinb2.readUInt32LE(locked.coinb2.length - 4), 839_999)
  t.same(locked.coinb2.subarray(4, -4), plain.coinb2.subarray(4, -4), 'outputs unchanged')
  const genesis = buildCoinbase(params({ height: 0, tag: 'x', timelockToHeight: true })).coinb2
  t.equal(genesis.readUInt32LE(genesis.length - 4), 0, 'height 0: locktime 0')
})

t.test('coinbaseWithWitness: BIP 144 marker and flag, one 32-byte zero item, same txid', async (t) => {
  const { coinb1, coinb2 } = buildCoinbase(params({ witnessCommitment: COMMITMENT }))
  const coinbase = Buffer.concat([coinb1, Buffer.alloc(12, 0xee), coinb2])
  const withWitness = coinbaseWithWitness(coinbase)
  t.equal(withWitness.length, coinbase.length + 2 + 1 + 1 + 32)
  t.equal(withWitness.subarray(4, 6).toString('hex'), '0001')
  t.equal(withWitness.subarray(-38).toString('hex'), '0120' + '00'.repeat(32) + '00000000')
  t.equal(coinbaseWithWitness(new Uint8Array(coinbase)).toString('hex'), withWitness.toString('hex'), 'takes any Uint8Array')
  t.throws(() => coinbaseWithWitness(withWitness), { name: 'CoinbaseError', message: /non-witness coinbase with exactly one input/ }, 'already has a witness')
  t.throws(() => coinbaseWithWitness(Buffer.alloc(20)), CoinbaseError, 'too short')
})


t.test('payoutOutputs: integer split that always adds up exactly (seeded property test)', async (t) => {
  const rand = prng(0x4eadf4a3)
  const treasury = Buffer.from('0014c0ef1202759fff90ff19128936814321ee59e111', 'hex')
  let checked = 0
  for (let i = 0; i < 20_000; i++) {
    // Mix small, reward-sized and huge values; basis points anywhere in 0..10000 with the ends often.
    const scale = [1_000n, 6_25000000n, MAX_MONEY][i % 3] as bigint
    const value = (BigInt(Math.floor(rand() * 2 ** 26)) * BigInt(Math.floor(rand() * 2 ** 26))) % (scale + 1n)
    const bp = i % 50 === 0 ? 0 : i % 50 === 1 ? 10_000 : Math.floor(rand() * 10_001)
    const out = payoutOutputs(value, P2WPKH, { script: treasury, basisPoints: bp })
    const sum = out.reduce((s, o) => s + o.value, 0n)
    const treasuryValue = out.find((o) => o.script === treasury)?.value ?? 0n
    const ok =
      sum === value &&
      treasuryValue === (value * BigInt(bp)) / 10_000n &&
      out.length >= 1 &&
      out.every((o) => o.value > 0n || out.length === 1) &&
      (out[0] as { script: Buffer }).script === (value - treasuryValue > 0n || treasuryValue === 0n ? P2WPKH : treasury)
    if (!ok) t.fail(`value ${value}, ${bp} bp: ${out.map((o) => o.value).join(' + ')}`)
    checked++
  }
  t.equal(checked, 20_000)
})

t.test('payoutOutputs: edges and bad input', async (t) => {
  const treasury = Buffer.from('51200000000000000000000000000000000000000000000000000000000000000000', 'hex')
  t.same(payoutOutputs(5_000_000_000n, P2WPKH), [{ script: P2WPKH, value: 5_000_000_000n }], 'no treasury')
  t.same(payoutOutputs(5_000_000_000n, P2WPKH, { script: treasury, basisPoints: 0 }), [{ script: P2WPKH, value: 5_000_000_000n }], '0 bp: no treasury output')
  t.same(payoutOutputs(99n, P2WPKH, { script: treasury, basisPoints: 100 }), [{ script: P2WPKH, value: 99n }], 'a share that floors to 0 is left out')
  t.same(payoutOutputs(100n, P2WPKH, { script: treasury, basisPoints: 10_000 }), [{ script: treasury, value: 100n }], '100%: the pool output is left out')
  t.same(payoutOutputs(0n, P2WPKH, { script: treasury, basisPoints: 500 }), [{ script: P2WPKH, value: 0n }], 'nothing to pay: one zero output remains')
  t.same(payoutOutputs(3n, P2WPKH, { script: treasury, basisPoints: 5_000 }), [{ script: P2WPKH, value: 2n }, { script: treasury, value: 1n }], 'the odd satoshi stays with the pool')
  for (const bp of [-1, 10_001, 1.5, Number.NaN]) {
    t.throws(() => payoutOutputs(100n, P2WPKH, { script: treasury, basisPoints: bp }), { name: 'CoinbaseError', message: /basis points/ }, `${bp} bp`)
  }
  for (const v of [-1n, MAX_MONEY + 1n]) t.throws(() => payoutOutputs(v, P2WPKH), { name: 'CoinbaseError', message: /coinbase value/ }, `${v}`)
  t.same(payoutOutputs(MAX_MONEY, P2WPKH, { script: treasury, basisPoints: 1 }).map((o) => o.value), [MAX_MONEY - MAX_MONEY / 10_000n, MAX_MONEY / 10_000n])
})
