/** The real Bitcoin Core regtest fixtures (test/fixtures/regtest), typed. */
import { fixture } from './fixtures.js'
import type { Work } from '../../src/jobs/work.js'

export interface RegtestCase {
  name: string
  getblocktemplate: { height: number; bits: string; curtime: number; version: number; previousblockhash: string }
  stratum: {
    extranonce1: string
    extranonce2: string
    coinb1: string
    coinb2: string
    merkle_branch: string[]
    stratum_prevhash: string
    version: string
    nbits: string
    ntime: string
    nonce: string
    header: string
    block_hash: string
  }
}

export const REGTEST_CASES = ['empty-mempool', 'segwit-txs', 'many-txs'] as const

export function regtestCase(name: (typeof REGTEST_CASES)[number]): RegtestCase {
  return JSON.parse(fixture(`regtest/${name}.json`).toString('utf8')) as RegtestCase
}

/** The work a source would hand out for this case (extranonce space 4 + 8 bytes). */
export function regtestWork(c: RegtestCase, overrides: Partial<Work> = {}): Work {
  const s = c.stratum
  return {
    source: 'fixture',
    prevHash: Buffer.from(s.header, 'hex').subarray(4, 36),
    coinb1: Buffer.from(s.coinb1, 'hex'),
    coinb2: Buffer.from(s.coinb2, 'hex'),
    extranonceSize: s.extranonce1.length / 2 + s.extranonce2.length / 2,
    merkleBranch: s.merkle_branch.map((h) => Buffer.from(h, 'hex')),
    version: Number.parseInt(s.version, 16),
    nbits: Number.parseInt(s.nbits, 16),
    ntime: Number.parseInt(s.ntime, 16),
    height: c.getblocktemplate.height,
    cleanJobs: true,
    ...overrides,
  }
}
