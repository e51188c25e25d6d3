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
}
