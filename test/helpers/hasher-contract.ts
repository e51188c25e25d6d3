/**
 * The hasher contract: one suite every implementation must pass, the native
 * ones and the node:crypto fallback alike (CONVENTIONS.md §6).
 */
import type { Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import type { NativeImpl } from '../../src/shares/native-addon.js'
import { coinbaseMerkleBranch, merkleTreeRoot } from '../../src/jobs/merkle.js'
import { parseBlock } from './block.js'
import { fixture } from './fixtures.js'

/** Bitcoin's genesis block header (nonce 2083236893). */
export const GENESIS_HEADER = Buffer.from(
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
  'hex',
)
export const GENESIS_HASH = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f'
export const GENESIS_NONCE = 2083236893

/** The target of compact bits `nbits`, as 32 little-endian bytes. */
export function targetFromBits(nbits: number): Buffer {
  const exponent = nbits >>> 24
  const mantissa = BigInt(nbits & 0x007fffff)
  const value = exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3))
  const out = Buffer.alloc(32)
  let v = value
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** A 32-byte little-endian number as a bigint, and back. */
const leNumber = (b: Uint8Array): bigint => BigInt(`0x${reverseHex(b)}`)
const leBytes = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse()

const reverseHex = (b: Uint8Array): string => Buffer.from(b).reverse().toString('hex')
const refSha256d = (b: Uint8Array): Buffer => createHash('sha256').update(createHash('sha256').update(b).digest()).digest()

export function hasherContract(t: Test, impl: NativeImpl): void {
  t.test('sha256d of the genesis header is the genesis block hash', async (t) => {
    t.equal(reverseHex(impl.sha256d(GENESIS_HEADER)), GENESIS_HASH)
  })

  t.test('sha256 and sha256d agree with node:crypto on random inputs', async (t) => {
    const pool = randomBytes(4096 + 64)
    for (const length of [0, 1, 31, 32, 55, 56, 63, 64, 65, 80, 119, 120, 128, 200, 1000, 4096]) {
      for (const offset of [0, 1, 3]) {
        const data = pool.subarray(offset, offset + length)
        t.equal(impl.sha256(data).toString('hex'), createHash('sha256').update(data).digest('hex'), `sha256 len ${length} off ${offset}`)
        t.equal(impl.sha256d(data).toString('hex'), refSha256d(data).toString('hex'), `sha256d len ${length} off ${offset}`)
      }
    }
  })

  t.test('mainnet block 413567: txids, merkle root, coinbase branches, header hash', async (t) => {
    const block = parseBlock(fixture('block413567.raw'))
    t.ok(block.txs.length > 1000, `${block.txs.length} transactions`)
    const txids = block.txs.map((tx) => impl.sha256d(tx.stripped))
    const root = merkleTreeRoot(txids, impl.sha256d)
    t.equal(root.toString('hex'), block.header.subarray(36, 68).toString('hex'), 'merkle root equals the header\'s')
    t.equal(reverseHex(impl.sha256d(block.header)), '0000000000000000025aff8be8a55df8f89c77296db6198f272d6577325d4069')

    // Coinbase branches for the whole block and for every prefix length
    // around the powers of two (odd levels duplicate their last node).
    const sizes = new Set([1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 65, 100, 257, 511, 512, 513, txids.length])
    for (const n of sizes) {
      const leaves = txids.slice(0, n)
      const branch = coinbaseMerkleBranch(leaves.slice(1), impl.sha256d)
      const got = impl.merkleRoot(leaves[0] as Buffer, Buffer.concat(branch))
      t.equal(got.toString('hex'), merkleTreeRoot(leaves, impl.sha256d).toString('hex'), `${n} leaves, ${branch.length}-level branch`)
    }
  })

  t.test('checkHeaders: batch equals single, target boundary inclusive', async (t) => {
    for (const n of [0, 1, 2, 7, 8, 9, 16, 17, 100]) {
      const headers = randomBytes(n * 80)
      const targets = Buffer.alloc(n * 32)
      const expected: Buffer[] = []
      for (let i = 0; i < n; i++) {
        const hash = refSha256d(headers.subarray(i * 80, i * 80 + 80))
        expected.push(hash)
        // Cycle: target == hash (passes), target == hash - 1 (fails), all ones (passes).
        const target = i % 3 === 0 ? hash : i % 3 === 1 ? leBytes(leNumber(hash) - 1n) : Buffer.alloc(32, 0xff)
        target.copy(targets, i * 32)
      }
      const outHashes = Buffer.alloc(n * 32)
      const outOk = Buffer.alloc(n)
      const okCount = impl.checkHeaders(headers, targets, outHashes, outOk)
      let want = 0
      for (let i = 0; i < n; i++) {
        t.equal(outHashes.subarray(i * 32, i * 32 + 32).toString('hex'), (expected[i] as Buffer).toString('hex'))
        const pass = i % 3 !== 1
        if (pass) want++
        t.equal(outOk[i], pass ? 1 : 0, `n=${n} header ${i} ${pass ? 'meets' : 'misses'} its target`)
      }
      t.equal(okCount, want, `n=${n}: ${want} met their targets`)
    }
  })

  t.test('scanNonces finds the genesis nonce and nothing else', async (t) => {
    const target = targetFromBits(0x1d00ffff)
    const found = impl.scanNonces(GENESIS_HEADER, GENESIS_NONCE - 3000, 6000, target, 16)
    t.same(found, [GENESIS_NONCE])
    t.same(impl.scanNonces(GENESIS_HEADER, GENESIS_NONCE + 1, 3000, target, 16), [], 'nothing past it')
    t.equal(GENESIS_HEADER.readUInt32LE(76), GENESIS_NONCE, 'the header is not modified')
  })

  t.test('scanNonces agrees with brute force at an easy target', async (t) => {
    const header = randomBytes(80)
    const target = Buffer.alloc(32, 0xff)
    target[31] = 0x0f // about 1 in 16 hashes pass
    const start = 0xfffff000 - 1000 // cross no boundary, end exactly below 2^32
    const count = 0x100000000 - start
    const want: number[] = []
    const work = Buffer.from(header)
    for (let nonce = start; nonce < start + count; nonce++) {
      work.writeUInt32LE(nonce, 76)
      const hash = refSha256d(work)
      if ((hash[31] as number) <= 0x0f) want.push(nonce)
    }
    t.same(impl.scanNonces(header, start, count, target, 1_000_000), want)
    t.same(impl.scanNonces(header, start, count, target, 3), want.slice(0, 3), 'maxResults truncates')
    t.same(impl.scanNonces(header, start, 0, target, 10), [], 'count 0')
  })

  t.test('bad arguments throw, never crash', async (t) => {
    const h80 = Buffer.alloc(80)
    const t32 = Buffer.alloc(32)
    const bad: [string, () => unknown][] = [
      ['sha256d of a string', () => impl.sha256d('abc' as unknown as Uint8Array)],
      ['merkleRoot with a 31-byte leaf', () => impl.merkleRoot(Buffer.alloc(31), Buffer.alloc(0))],
      ['merkleRoot with a 33-byte branch', () => impl.merkleRoot(t32, Buffer.alloc(33))],
      ['checkHeaders with 81-byte headers', () => impl.checkHeaders(Buffer.alloc(81), t32, t32, Buffer.alloc(1))],
      ['checkHeaders with short targets', () => impl.checkHeaders(h80, Buffer.alloc(31), t32, Buffer.alloc(1))],
      ['checkHeaders with short outHashes', () => impl.checkHeaders(h80, t32, Buffer.alloc(31), Buffer.alloc(1))],
      ['checkHeaders with short outOk', () => impl.checkHeaders(h80, t32, t32, Buffer.alloc(0))],
      ['scanNonces with a 79-byte header', () => impl.scanNonces(Buffer.alloc(79), 0, 1, t32, 1)],
      ['scanNonces past 2^32', () => impl.scanNonces(h80, 0xffffffff, 2, t32, 1)],
      ['scanNonces with a negative start', () => impl.scanNonces(h80, -1, 1, t32, 1)],
      ['scanNonces with a 31-byte target', () => impl.scanNonces(h80, 0, 1, Buffer.alloc(31), 1)],
    ]
    for (const [name, call] of bad) t.throws(call, name)
  })
}
