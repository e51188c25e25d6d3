import t from 'tap'
import { compareSizes, selfSizes, type HeapSnapshot } from '../../scripts/heapsnapshot-top.js'

/** A snapshot of three nodes: two `object Session` of 264 and 280 bytes, one heap number of 16. */
const tiny: HeapSnapshot = {
  snapshot: { meta: { node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'], node_types: [['hidden', 'object', 'number']] } },
  nodes: [1, 0, 1, 264, 0, 1, 0, 3, 280, 0, 2, 1, 5, 16, 0],
  strings: ['Session', 'heap number'],
}

t.test('self size and count per type and name; numbers and strings by type only', async (t) => {
  const sizes = selfSizes(tiny)
  t.same(sizes.get('object Session'), { count: 2, bytes: 544 })
  t.same(sizes.get('number'), { count: 1, bytes: 16 })
  t.equal(sizes.size, 2)
})

t.test('the difference of two snapshots, per added object', async (t) => {
  const before = new Map([['object Session', { count: 1, bytes: 264 }], ['object Gone', { count: 1, bytes: 40 }]])
  const rows = compareSizes(selfSizes(tiny), before, 2)
  t.same(rows, [
    { key: 'object Session', count: 0.5, bytes: 140 },
    { key: 'number', count: 0.5, bytes: 8 },
    { key: 'object Gone', count: -0.5, bytes: -20 },
  ])
})

