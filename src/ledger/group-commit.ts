/**
 * Group commit: many callers each wait for their item to be written, and
 * the items are written together, one write per group.
 *
 * A group is written when its oldest item has waited `delayMs`, or as soon
 * as `maxItems` are queued. `delayMs` 0 means no timer: the group is written
 * at the end of the event-loop turn that queued its first item (what that
 * turn read from every socket goes together). One write runs at a time; what
 * queues up during a write forms the next group. Each caller's promise settles with its
 * group's write: resolved only once the write has completed, rejected with
 * the write's error otherwise. Nothing queued is dropped: `flush()` writes
 * everything that is waiting.
 */

/** Told when an item's group is written (`undefined`) or failed (the write's error). */
export type Done = (err: Error | undefined) => void

interface Waiting<T> {
  readonly item: T
  readonly since: number
  readonly done: Done
  /** Items added before this one (its place in the order of adds). */
  readonly n: number
}

export interface GroupCommitOptions<T> {
  /** Writes one group; throwing rejects every item of the group. */
  readonly write: (items: T[]) => Promise<void>
  readonly delayMs: number
  readonly maxItems: number
  /** Monotonic ms clock for the delay (real time: this is I/O pacing, not ledger time). */
  readonly now?: () => number
  /** Told after each group is written: how long the write took and how long its oldest item waited in all (ms). */
  readonly written?: (writeMs: number, oldestWaitMs: number, items: number) => void
}

export class GroupCommit<T> {
  /** Waiting items from `head` on (a head index, not `shift`/`splice` from the front: O(1) per group under a backlog). */
  private queue: Waiting<T>[] = []
  private head = 0
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined
  private running: Promise<void> | undefined
  private readonly now: () => number
  /** Items added so far, and how many of the first of them are settled (written or failed; groups settle in order). */
  private added = 0
  private settled = 0
  /** `settle()` callers: each waits until `settled` reaches its target; groups before the target are due now. */
  private settleWaiters: { target: number; resolve: () => void }[] = []
  private settleTarget = 0
  /** Groups written and failed, items written, size of the last group. */
  readonly counters = { groups: 0, failedGroups: 0, items: 0, lastGroupSize: 0 }

  constructor(private readonly options: GroupCommitOptions<T>) {
    this.now = options.now ?? (() => performance.now())
  }

  /** Items waiting for a write (not counting the group being written). */
  get queued(): number {
    return this.queue.length - this.head
  }

  /** Queues `item`; settles when the group holding it has been written. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.addWith(item, (err) => (err === undefined ? resolve() : reject(err)))
    })
  }

  /**
   * Queues `item`; `done` is called once the group holding it has been
   * written or has failed. The callback form of `add`, for the share path:
   * one closure per share instead of a promise and its reactions.
   */
  addWith(item: T, done: Done): void {
    this.queue.push({ item, since: this.now(), done, n: this.added++ })
    this.schedule()
  }

  /**
   * Resolves once every item added before this call is written or has
   * failed, writing them now instead of after the delay. Unlike `flush`,
   * items added meanwhile do not hold it up: under a steady stream of items
   * the queue is never empty, and `flush` would wait for as long as the
   * stream lasts.
   */
  settle(): Promise<void> {
    const target = this.added
    if (this.settled >= target) return Promise.resolve()
    this.settleTarget = Math.max(this.settleTarget, target)
    const settled = new Promise<void>((resolve) => this.settleWaiters.push({ target, resolve }))
    if (this.running === undefined) {
      this.clearTimer()
      void this.start(false)
    }
    return settled
  }

  /** Writes everything queued now, without waiting for the delay; resolves when the queue is empty. */
  async flush(): Promise<void> {
    while (this.queued > 0 || this.running !== undefined) {
      this.clearTimer()
      await (this.running ?? this.start(true))
    }
  }

  private schedule(): void {
    if (this.running !== undefined) return // the running loop picks it up
    const first = this.queue[this.head]
    if (first === undefined) return
    if (this.queued >= this.options.maxItems || first.n < this.settleTarget) {
      this.clearTimer()
      void this.start(false)
      return
    }
    if (this.timer !== undefined) return
    const fire = (): void => {
      this.timer = undefined
      if (this.running === undefined) void this.start(false)
    }
    if (this.options.delayMs === 0) {
      this.timer = setImmediate(fire)
      return
    }
    this.timer = setTimeout(fire, Math.max(0, first.since + this.options.delayMs - this.now()))
  }

  private clearTimer(): void {
    const timer = this.timer
    if (timer === undefined) return
    if (this.options.delayMs === 0) clearImmediate(timer as NodeJS.Immediate)
    else clearTimeout(timer as NodeJS.Timeout)
    this.timer = undefined
  }

  /** The next group: up to `maxItems` waiting items, oldest first. */
  private take(): Waiting<T>[] {
    if (this.head === 0 && this.queue.length <= this.options.maxItems) {
      const all = this.queue
      this.queue = []
      return all
    }
    const group = this.queue.slice(this.head, this.head + this.options.maxItems)
    this.head += group.length
    if (this.head === this.queue.length) {
      this.queue = []
      this.head = 0
    } else if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    return group
  }

  /**
   * Starts the write loop. It begins a microtask later, so `running` is set
   * before the first `write` runs: an item added from inside a write (or its
   * synchronous part) joins the running loop instead of starting a second
   * one. `running` is cleared in a promise reaction, so always after it was set.
   */
  private start(flushing: boolean): Promise<void> {
    const run: Promise<void> = Promise.resolve()
      .then(() => this.writeDue(flushing))
      .finally(() => {
        if (this.running === run) this.running = undefined
        if (!flushing) this.schedule()
      })
    this.running = run
    return run
  }

  /** Writes groups while one is due (or, flushing, while anything waits). Never throws. */
  private async writeDue(flushing: boolean): Promise<void> {
    while (true) {
      const first = this.queue[this.head]
      if (first === undefined) return
      const due = flushing || first.n < this.settleTarget || this.queued >= this.options.maxItems || this.now() - first.since >= this.options.delayMs
      if (!due) return
      const group = this.take()
      try {
        const started = this.now()
        await this.options.write(group.map((w) => w.item))
        const done = this.now()
        this.options.written?.(done - started, done - (group[0] as Waiting<T>).since, group.length)
        this.counters.groups++
        this.counters.items += group.length
        this.counters.lastGroupSize = group.length
        for (const w of group) tell(w.done, undefined)
      } catch (err) {
        this.counters.failedGroups++
        const error = err instanceof Error ? err : new Error(String(err))
        for (const w of group) tell(w.done, error)
      }
      this.settledThrough((group[group.length - 1] as Waiting<T>).n + 1)
    }
  }

  private settledThrough(count: number): void {
    this.settled = count
    if (this.settleWaiters.length === 0) return
    const waiting: typeof this.settleWaiters = []
    for (const w of this.settleWaiters) {
      if (w.target <= count) w.resolve()
      else waiting.push(w)
    }
    this.settleWaiters = waiting
  }
}

/**
 * Calls one item's `done`. A callback that throws is the caller's bug: it
 * surfaces as an unhandled rejection (as it did when items were promises),
 * and the rest of the group is still told.
 */
function tell(done: Done, err: Error | undefined): void {
  try {
    done(err)
  } catch (thrown) {
    void Promise.reject(thrown instanceof Error ? thrown : new Error(String(thrown)))
  }
}
