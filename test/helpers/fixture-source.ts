/**
 * A job source for tests that serves real work: the coinbase halves,
 * merkle branches and header fields of Bitcoin Core's regtest fixtures.
 * `next()` makes more work (same or new previous block); submitted blocks
 * are kept for the test to check.
 */
import type { JobSource, WorkListener } from '../../src/jobs/job-source.js'
import type { BlockCandidate, BlockSubmitResult, Work } from '../../src/jobs/work.js'
import { regtestCase, regtestWork } from './regtest.js'

/** Mainnet-like bits: no test share ever meets this network target by chance. */
export const HARD_BITS = 0x1703a30c

export class FixtureSource implements JobSource {
  readonly name = 'fixture'
  readonly blocks: BlockCandidate[] = []
  private listeners = new Set<WorkListener>()
  private latest: Work | undefined
  private height: number
  private readonly base: Work

  constructor(nbits = HARD_BITS) {
    this.base = regtestWork(regtestCase('segwit-txs'), { nbits })
    this.height = this.base.height ?? 1
    this.latest = this.base
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  onWork(listener: WorkListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  current(): Work | undefined {
    return this.latest
  }

  /** New work: `clean` = a new previous block (height + 1). */
  next(clean: boolean, overrides: Partial<Work> = {}): Work {
    if (clean) this.height++
    const prevHash = clean ? Buffer.alloc(32, this.height & 0xff) : (this.latest ?? this.base).prevHash
    const work: Work = { ...this.base, prevHash, height: this.height, cleanJobs: clean, ntime: this.base.ntime + (clean ? 1 : 0), ...overrides }
    this.latest = work
    for (const l of this.listeners) l(work)
    return work
  }

  async submitBlock(candidate: BlockCandidate): Promise<BlockSubmitResult> {
    this.blocks.push(candidate)
    return { accepted: true }
  }
}
