/**
 * sha256 and sha256d of every implementation: the FIPS 180-2 example
 * vectors, the genesis block header, and random inputs of every length at
 * unaligned offsets against node:crypto.
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { loadNativeAddon } from '../../src/shares/native-addon.js'

const addon = loadNativeAddon()
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()
const sha256d = (b: Uint8Array): Buffer => sha256(sha256(b))

// FIPS 180-2 appendix B (and the NIST CAVS examples): SHA-256 digests.
const NIST = [
  { name: 'empty', input: '', digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  { name: 'abc', input: 'abc', digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
  {
    name: '448 bits',
    input: 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
    digest: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  },
  {
    name: '896 bits',
    input:
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
    digest: 'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  },
  {
    name: 'one million a',
    input: 'a'.repeat(1_000_000),
    digest: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
  },
]

// The genesis block: its header and its hash as block explorers show it
// (byte-reversed sha256d).
const GENESIS_HEADER = Buffer.from(
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
  'hex',
)
const GENESIS_HASH = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f'

const LENGTHS = [...Array.from({ length: 301 }, (_, i) => i), 511, 512, 1000, 4095, 4096, 65_537]
const pool = randomBytes(65_537 + 8)

for (const [name, impl] of Object.entries(addon.implementations)) {
  t.test(name, async (t) => {
    for (const v of NIST) {
      t.test(`sha256 NIST ${v.name}`, async (t) => {
        t.equal(impl.sha256(Buffer.from(v.input, 'latin1')).toString('hex'), v.digest)
      })
    }

    t.test('sha256d of the genesis header', async (t) => {
      const hash = impl.sha256d(GENESIS_HEADER)
      t.ok(Buffer.isBuffer(hash), 'returns a Buffer')
      t.equal(hash.length, 32)
      t.equal(Buffer.from(hash).reverse().toString('hex'), GENESIS_HASH)
    })

    t.test('sha256 and sha256d of random data, lengths 0..300 and beyond, odd offsets', async (t) => {
      for (const length of LENGTHS) {
        const offset = length % 7
        const data = pool.subarray(offset, offset + length)
        t.equal(impl.sha256(data).toString('hex'), sha256(data).toString('hex'), `sha256 length ${length}`)
        t.equal(impl.sha256d(data).toString('hex'), sha256d(data).toString('hex'), `sha256d length ${length}`)
      }
    })

    t.test('a plain Uint8Array (not a Buffer) at an odd offset', async (t) => {
      const backing = new Uint8Array(200)
      backing.set(pool.subarray(0, 200))
      const view = new Uint8Array(backing.buffer, 3, 80)
      t.equal(impl.sha256d(view).toString('hex'), sha256d(view).toString('hex'))
    })

    t.test('results are fresh Buffers that later calls do not overwrite', async (t) => {
      const a = impl.sha256d(Buffer.from('a'))
      const copy = Buffer.from(a)
      impl.sha256d(Buffer.from('b'))
      t.same(a, copy)
    })
  })
}
