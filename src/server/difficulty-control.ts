/**
 * What a session needs of its difficulty controller: vardiff, or a fixed
 * difficulty. Each call returns the new difficulty when it changed (the
 * session then sends `mining.set_difficulty` and a fresh job), else
 * undefined.
 */
export interface DifficultyControl {
  /** The difficulty in force. */
  readonly difficulty: number
  /** An accepted share of `difficulty` at `now` (ms). */
  recordShare(now: number, difficulty: number): number | undefined
  /** Periodic check without a share (slow or silent miners). */
  tick(now: number): number | undefined
  /** A floor asked by the miner (`mining.suggest_difficulty`, configure's minimum-difficulty), clamped to the configured range. */
  suggest(difficulty: number, now: number): number | undefined
}

/**
 * A fixed difficulty (vardiff off): suggestions may raise it within
 * [min, max], nothing else changes it.
 */
export class FixedDifficulty implements DifficultyControl {
  private current: number

  constructor(
    difficulty: number,
    private readonly min = difficulty,
    private readonly max = Number.MAX_VALUE,
  ) {
    this.current = difficulty
  }

  get difficulty(): number {
    return this.current
  }

  recordShare(): number | undefined {
    return undefined
  }

  tick(): number | undefined {
    return undefined
  }

  suggest(difficulty: number): number | undefined {
    const next = Math.min(this.max, Math.max(this.min, difficulty, this.current))
    if (next === this.current) return undefined
    this.current = next
    return next
  }
}
