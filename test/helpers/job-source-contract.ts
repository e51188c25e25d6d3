/**
 * The JobSource contract (CONVENTIONS.md §6): one suite every source passes —
 * the bitcoind template source now, the upstream and failover sources when
 * they land.
 */
import type { Test } from 'tap'
import type { JobSource } from '../../src/jobs/job-source.js'
import type { Work } from '../../src/jobs/work.js'
import { until } from './until.js'

export interface ContractHarness {
  source: JobSource
  /** Makes the source's upstream (bitcoind, pool) announce a new block. */
  newBlock(): Promise<void> | void
  /** Names the work may carry in `work.source` (a wrapping source hands out its inner sources' work); default: the source's own name. */
  workSources?: readonly string[]
}

export function jobSourceContract(t: Test, make: (t: Test) => Promise<ContractHarness>): void {
  t.test('start resolves, then work arrives and current() is the latest', async (t) => {
    const { source, workSources } = await make(t)
    const seen: Work[] = []
    source.onWork((w) => seen.push(w))
    await source.start()
    await until(() => seen.length > 0)
    t.equal(source.current(), seen.at(-1))
    const w = seen[0] as Work
    t.ok((workSources ?? [source.name]).includes(w.source), 'work names its source')
    t.equal(w.prevHash.length, 32)
    t.ok(w.coinb1.length > 0 && w.coinb2.length > 0)
    t.ok(w.merkleBranch.every((h) => h.length === 32))
    t.ok(Number.isInteger(w.extranonceSize) && w.extranonceSize > 0)
    await source.stop()
  })

  t.test('a new block gives clean work; unsubscribed listeners hear nothing', async (t) => {
    const h = await make(t)
    const seen: Work[] = []
    h.source.onWork((w) => seen.push(w))
    let other = 0
    const off = h.source.onWork(() => other++)
    await h.source.start()
    await until(() => seen.length > 0)
    off()
    const before = seen.length
    const firstPrev = seen[0]?.prevHash
    await h.newBlock()
    await until(() => seen.length > before && seen.some((w) => w.cleanJobs && !w.prevHash.equals(firstPrev as Buffer)))
    t.equal(other, 1, 'the unsubscribed listener heard only the first work')
    await h.source.stop()
  })

  t.test('after stop no work is emitted', async (t) => {
    const h = await make(t)
    await h.source.start()
    await until(() => h.source.current() !== undefined)
    await h.source.stop()
    let after = 0
    h.source.onWork(() => after++)
    await h.newBlock()
    await new Promise((r) => setTimeout(r, 50))
    t.equal(after, 0)
  })

  t.test('a block candidate of foreign work is refused as a value, not a throw', async (t) => {
    const h = await make(t)
    await h.source.start()
    await until(() => h.source.current() !== undefined)
    const work = { ...(h.source.current() as Work), source: 'someone-else', sourceRef: undefined }
    const result = await h.source.submitBlock({ work, header: Buffer.alloc(80), coinbase: Buffer.alloc(60), hash: Buffer.alloc(32), account: 'a', worker: 'w' })
    t.equal(result.accepted, false)
    await h.source.stop()
  })
}
