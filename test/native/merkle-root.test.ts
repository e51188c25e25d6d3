/**
 * merkleRoot of every implementation against a JS reference:
 * h = leaf; for each 32-byte b in branch: h = sha256d(h || b).
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { loadNativeAddon } from '../../src/shares/native-addon.js'

const addon = loadNativeAddon()
const sha256d = (b: Uint8Array): Buffer =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()

function referenceRoot(leaf: Uint8Array, branch: Uint8Array): Buffer {
  let h: Buffer = Buffer.from(leaf)
  for (let off = 0; off < branch.length; off += 32) h = sha256d(Buffer.concat([h, branch.subarray(off, off + 32)]))
  return h
}

const CASES = Array.from({ length: 15 }, (_, k) => {
  // Unaligned views: leaf at offset 1, branch at offset 3.
  const leaf = randomBytes(33).subarray(1)
  const branch = randomBytes(32 * k + 3).subarray(3)
  return { k, leaf, branch, root: referenceRoot(leaf, branch).toString('hex') }
})

for (const [name, impl] of Object.entries(addon.implementations)) {
  t.test(name, async (t) => {
    for (const c of CASES) {
      t.test(`${c.k} branch entries`, async (t) => {
        const root = impl.merkleRoot(c.leaf, c.branch)
        t.ok(Buffer.isBuffer(root))
        t.equal(root.toString('hex'), c.root)
      })
    }
    t.test('an empty branch returns the leaf, as a copy', async (t) => {
      const leaf = randomBytes(32)
      const root = impl.merkleRoot(leaf, new Uint8Array(0))
      t.same(root, leaf)
      root[0] = root[0]! ^ 0xff
      t.not(root[0], leaf[0], 'not the same memory')
    })
    t.test('inputs are not modified', async (t) => {
      const leaf = randomBytes(32)
      const branch = randomBytes(96)
      const [l0, b0] = [Buffer.from(leaf), Buffer.from(branch)]
      impl.merkleRoot(leaf, branch)
      t.same(leaf, l0)
      t.same(branch, b0)
    })
  })
}
