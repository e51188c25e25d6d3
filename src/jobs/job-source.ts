/**
 * The `JobSource` interface: anything that produces work and takes solved
 * blocks back. The bitcoind template source, the upstream pool source and
 * the failover source (which wraps an ordered list of sources, the way
 * undici's RetryAgent wraps a Dispatcher) all implement it.
 */
import type { BlockCandidate, BlockSubmitResult, Work } from './work.js'

/** A source's health, for stats and failover. */
export interface SourceHealth {
  readonly healthy: boolean
  readonly lastError: string | undefined
  readonly lastTemplateAt: number | undefined
  readonly height: number | undefined
}

/** Listener for new work. */
export type WorkListener = (work: Work) => void

export interface JobSource {
  /** A short name for logs and stats (`bitcoind`, `upstream:pool-a`, ...). */
  readonly name: string
  /** Starts producing work; resolves once started (not once the first work arrives). */
  start(): Promise<void>
  /** Stops; no work is emitted afterwards. */
  stop(): Promise<void>
  /** Subscribes to new work; returns the unsubscribe function. */
  onWork(listener: WorkListener): () => void
  /** The latest work, if any. */
  current(): Work | undefined
  /**
   * Hands a block candidate to the source at once (before anything else
   * happens with that share). Never rejects: failures are results.
   */
  submitBlock(candidate: BlockCandidate): Promise<BlockSubmitResult>
  /** Health for stats and failover, when the source can tell. */
  health?(): SourceHealth
  /**
   * Proxy mode: a share the pool accepted, offered to the source that made
   * its work. The source forwards it upstream when it meets the upstream
   * difficulty of its job and resolves with the upstream's answer; it returns
   * undefined when the share is not forwarded (below the upstream
   * difficulty, or not work of this source). Never rejects, never delays the
   * miner's own answer (the server does not wait for it).
   */
  forwardShare?(share: ForwardedShare): Promise<UpstreamShareResult> | undefined
}

/** An accepted share as offered to an upstream source. */
export interface ForwardedShare {
  /** The work of the share's job. */
  readonly work: Work
  /** The session's extranonce1 (in proxy mode, its prefix of the upstream extranonce2 space). */
  readonly extranonce1: Buffer
  readonly extranonce2: Buffer
  readonly ntime: number
  readonly nonce: number
  /** Version bits as submitted (BIP 310), undefined when the miner rolls none. */
  readonly versionBits: number | undefined
  /** sha256d of the header, internal byte order. */
  readonly hash: Buffer
  readonly account: string
  readonly worker: string
}

/** What the upstream pool answered for a forwarded share; `difficulty` is the upstream difficulty it was judged at. */
export type UpstreamShareResult =
  | { readonly accepted: true; readonly difficulty: number }
  | { readonly accepted: false; readonly difficulty: number; readonly reason: string }
