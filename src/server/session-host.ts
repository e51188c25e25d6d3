/**
 * What a `Session` asks of the server that owns it. The server implements
 * it; tests may implement it to drive a session alone.
 */
import type { Logger } from '../log.js'
import type { StratumConfig } from '../config/index.js'
import type { Job } from '../jobs/job-book.js'
import type { ShareOutcome } from '../shares/validator.js'
import type { RejectReason, SubmitRequest } from '../stratum/index.js'
import type { Session, CloseReason } from './session.js'
import type { WorkerName } from './worker-name.js'
import type { DifficultyControl } from './difficulty-control.js'

export type AcceptedOutcome = Extract<ShareOutcome, { ok: true }>

export interface SessionHost {
  readonly config: StratumConfig
  readonly limits: StratumConfig['limits']
  readonly log: Logger
  /** The clock, in ms. */
  now(): number
  /** A fresh difficulty controller (vardiff or fixed). */
  newDifficulty(now: number): DifficultyControl
  /** A unique extranonce1 (the resumed one when free); undefined when none is left. */
  allocateExtranonce1(sessionId: string | undefined): Buffer | undefined
  /** Undefined when allowed, else the refusal shown to the miner. */
  authorize(name: WorkerName, password: string): string | undefined
  workerAuthorized(session: Session, name: WorkerName): void
  currentJob(): Job | undefined
  /** The `mining.notify` line of a job, built once (`clean` forces clean_jobs true). */
  notifyLine(job: Job, clean?: boolean): string
  checkShare(share: SubmitRequest, session: Session, now: number): ShareOutcome
  /** An accepted share that could not be recorded: forget it so a resubmission is not a duplicate. */
  forgetShare(outcome: AcceptedOutcome): void
  /** Resolves once the share is recorded (the ledger's commit); the miner is answered after. */
  recordShare(session: Session, name: WorkerName, share: SubmitRequest, outcome: AcceptedOutcome, now: number, done: (err: Error | undefined) => void): void
  /** A rejected submit; `name` when the worker was authorized. */
  shareRejected(session: Session, reason: RejectReason, name?: WorkerName): void
  /** Every submit, for the rate and invalid-ratio limits. */
  submitRate(session: Session, accepted: boolean, now: number): void
  countGarbage(): void
  /**
   * New work changed this session's extranonce2 size and the miner did not
   * subscribe to `mining.set_extranonce`: send it `client.reconnect` (to this
   * pool) and close it, staggered with the others (`stratum.reconnect_spread_ms`).
   */
  requestReconnect(session: Session): void
  sessionClosed(session: Session, reason: CloseReason): void
}
