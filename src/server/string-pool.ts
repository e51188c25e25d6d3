/**
 * One shared copy of the strings many sessions hold alike: a farm's miners
 * send the same user agent and authorize under the same account, and a
 * copy per session costs 24-40 bytes each (docs/benchmarks.md, sessions).
 *
 * Bounded: when `capacity` distinct strings are held (a flood of random
 * names), the pool starts over, so junk cannot keep the real names out of
 * it for good.
 */
export class StringPool {
  readonly #strings = new Map<string, string>()

  constructor(private readonly capacity: number) {}

  /** Distinct strings held. */
  get size(): number {
    return this.#strings.size
  }

  /** The pool's copy of `s` (taking `s` as that copy while there is room). */
  intern(s: string): string {
    const known = this.#strings.get(s)
    if (known !== undefined) return known
    if (this.#strings.size >= this.capacity) this.#strings.clear()
    this.#strings.set(s, s)
    return s
  }
}
