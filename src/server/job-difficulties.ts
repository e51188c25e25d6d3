/**
 * The difficulty each job id was sent to one session at, for the last
 * `capacity` ids sent: the share check judges a share by the difficulty in
 * force when its job id was sent (see `Session.applyDifficulty`).
 *
 * It behaves as a Map from id to difficulty that forgets its oldest entry
 * beyond `capacity` (an id sent again counts as newest), but holds runs, not
 * entries: a session is sent the ids of consecutive jobs (256 apart) and,
 * when its difficulty changes, aliases of the current job (1 apart), at one
 * difficulty for long stretches. A run "ids first, first + step, ...
 * (count of them), all at difficulty d" stores such a stretch in four
 * numbers. A session sent 128 jobs holds one to a few runs instead of a
 * 128-entry Map (~3.5 KB per session), and an idle session one run in this
 * object's own fields (docs/benchmarks.md, sessions).
 */

/** Ids first, first + step, ..., first + (count - 1) * step, sent at `difficulty`. */
interface Run {
  first: number
  step: number
  count: number
  readonly difficulty: number
}

export class JobDifficulties {
  /** Ids remembered (over all runs). */
  #size = 0
  /** The newest run, the one new ids may extend (`#count` 0: none yet). */
  #first = 0
  #step = 1
  #count = 0
  #difficulty = 0
  /** Older runs, oldest first; made when the first run is closed (a difficulty change). */
  #older: Run[] | undefined

  /** @param capacity ids remembered; older ones are forgotten (`get` answers undefined). */
  constructor(private readonly capacity: number) {}

  /** Ids remembered. */
  get size(): number {
    return this.#size
  }

  /** The difficulty `id` was last sent at, if it is among the last `capacity` ids sent. */
  get(id: number): number | undefined {
    if (inRun(id, this.#first, this.#step, this.#count)) return this.#difficulty
    const older = this.#older
    if (older === undefined) return undefined
    for (let i = older.length - 1; i >= 0; i--) {
      const run = older[i] as Run
      if (inRun(id, run.first, run.step, run.count)) return run.difficulty
    }
    return undefined
  }

  /** `id` was sent at `difficulty` (now its newest id; forgets the oldest beyond `capacity`). */
  remember(id: number, difficulty: number): void {
    this.#forget(id)
    const lastId = this.#first + (this.#count - 1) * this.#step
    if (this.#count > 0 && difficulty === this.#difficulty && (this.#count === 1 ? id > lastId : id === lastId + this.#step)) {
      // Continues the newest run (a run of one takes any larger id as its step).
      if (this.#count === 1) this.#step = id - this.#first
      this.#count++
    } else {
      if (this.#count > 0) (this.#older ??= []).push({ first: this.#first, step: this.#step, count: this.#count, difficulty: this.#difficulty })
      this.#first = id
      this.#step = 1
      this.#count = 1
      this.#difficulty = difficulty
    }
    this.#size++
    while (this.#size > this.capacity) this.#dropOldest()
  }

  #dropOldest(): void {
    this.#size--
    const oldest = this.#older?.[0]
    if (oldest === undefined) {
      this.#first += this.#step
      this.#count--
    } else if (--oldest.count === 0) {
      this.#older?.shift()
    } else {
      oldest.first += oldest.step
    }
  }

  /** Removes `id` if remembered (it is about to be remembered again, as the newest). */
  #forget(id: number): void {
    if (inRun(id, this.#first, this.#step, this.#count)) {
      // The newest run: kept as the newest run, whatever is left of it.
      const k = (id - this.#first) / this.#step
      this.#size--
      if (k === this.#count - 1) {
        this.#count--
      } else if (k === 0) {
        this.#first += this.#step
        this.#count--
      } else {
        // In the middle: the ids before it become an older run.
        ;(this.#older ??= []).push({ first: this.#first, step: this.#step, count: k, difficulty: this.#difficulty })
        this.#first = id + this.#step
        this.#count -= k + 1
      }
      return
    }
    const older = this.#older
    if (older === undefined) return
    const i = older.findIndex((run) => inRun(id, run.first, run.step, run.count))
    const run = older[i]
    if (run === undefined) return
    this.#size--
    const k = (id - run.first) / run.step
    if (run.count === 1) {
      older.splice(i, 1)
    } else if (k === 0) {
      run.first += run.step
      run.count--
    } else if (k === run.count - 1) {
      run.count--
    } else {
      // In the middle: the ids after it become a run of their own, right after this one.
      older.splice(i + 1, 0, { first: id + run.step, step: run.step, count: run.count - k - 1, difficulty: run.difficulty })
      run.count = k
    }
  }
}

/** True when `id` is one of first, first + step, ... (count of them). */
function inRun(id: number, first: number, step: number, count: number): boolean {
  const k = (id - first) / step
  return k >= 0 && k < count && Number.isInteger(k)
}
