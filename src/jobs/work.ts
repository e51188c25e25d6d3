/**
 * Work: what a job source hands the server, and what the server hands back
 * when a share solves a block.
 *
 * A source produces the block-level parts (previous block, coinbase halves
 * around the extranonce space, merkle branch, version, bits, time). The
 * server's job book gives each piece of work a Stratum job id, derives what
 * the share check needs once (targets, concatenated branch), and builds the
 * `mining.notify` line once for every session.
 */

/** A piece of work from a source. Buffers hold raw bytes, never hex. */
export interface Work {
  /** Which source made it (for logs, stats and routing the block back). */
  readonly source: string
  /** The previous block hash, 32 bytes in internal (header) byte order. */
  readonly prevHash: Buffer
  /** Coinbase bytes before the extranonce space. */
  readonly coinb1: Buffer
  /** Coinbase bytes after the extranonce space. */
  readonly coinb2: Buffer
  /** Bytes of extranonce space between coinb1 and coinb2 (extranonce1 + extranonce2). */
  readonly extranonceSize: number
  /** Merkle branch for the coinbase (leaf 0), internal byte order. */
  readonly merkleBranch: readonly Buffer[]
  /** Block version with the version-rolling bits cleared (BIP 310, STRATUM-NOTES). */
  readonly version: number
  /**
   * Version-rolling bits this work allows (proxy mode: the upstream's granted
   * mask). Sessions roll at most their own mask AND this; undefined: no limit
   * beyond the session's.
   */
  readonly versionMask?: number
  /** Compact network target of the block. */
  readonly nbits: number
  /** Block time the work starts from (seconds). */
  readonly ntime: number
  /** Block height when known (template sources); for logs and the ledger. */
  readonly height?: number
  /** True when this work starts a new previous block: miners drop older jobs. */
  readonly cleanJobs: boolean
  /**
   * The source wants accepted shares of this work offered back
   * (`JobSource.forwardShare`, proxy mode). Work without it costs the share
   * path nothing for forwarding.
   */
  readonly forwardShares?: boolean
  /** Opaque source data (e.g. the template, or the upstream job id). */
  readonly sourceRef?: unknown
}

/** A share whose hash meets the network target, with everything needed to build the block. */
export interface BlockCandidate {
  readonly work: Work
  /** The 80-byte header as hashed. */
  readonly header: Buffer
  /** The whole coinbase transaction without witness (coinb1 + extranonces + coinb2). */
  readonly coinbase: Buffer
  /** sha256d of the header (internal byte order). */
  readonly hash: Buffer
  /** The account credited with finding it. */
  readonly account: string
  readonly worker: string
}

/** What a source says about a submitted block. */
export type BlockSubmitResult = { readonly accepted: true } | { readonly accepted: false; readonly reason: string }
