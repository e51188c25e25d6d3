/**
 * One writer at a time. Balances, tallies and counters are read, changed and
 * written back; LevelDB has no transactions, so two such updates running
 * interleaved would lose one of them. Every read-modify-write of the ledger
 * runs through this lock, in call order.
 */
export class WriteLock {
  private tail: Promise<unknown> = Promise.resolve()

  /** Runs `fn` after every earlier `run` has settled. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn)
    this.tail = result.catch(() => undefined)
    return result
  }
}
