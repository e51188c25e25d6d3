/**
 * Extranonce1 allocation: a unique value per live session, so that no two
 * miners ever search the same coinbase space.
 *
 * Values come from a counter that only moves forward (wrapping), so a value
 * a session just released is not handed to another miner at once: a miner
 * that reconnects and resumes (`mining.subscribe(agent, session)`, which
 * cgminer-family firmware and WhatsMiner send) gets its extranonce1 back
 * when it is still free.
 */

export class ExtranonceAllocator {
  private readonly inUse = new Set<string>()
  private readonly space: number
  private next: number

  /** `size`: bytes of extranonce1 (1-8). `start`: first counter value (tests; random by default). */
  constructor(
    readonly size: number,
    start?: number,
  ) {
    if (!Number.isInteger(size) || size < 1 || size > 8) throw new RangeError(`extranonce1 size ${size} is not 1-8`)
    // Above 6 bytes the counter covers the low 48 bits: 2.8e14 values is plenty.
    this.space = 2 ** (8 * Math.min(size, 6))
    this.next = start ?? Math.floor(Math.random() * this.space)
  }

  /** Live sessions holding a value. */
  get used(): number {
    return this.inUse.size
  }

  /** Values left. */
  get free(): number {
    return this.space - this.inUse.size
  }

  /**
   * A free value: `preferred` (a resumed session id, as hex) when it is of
   * the right size and free, else the next free one. Undefined when the
   * space is exhausted.
   */
  allocate(preferred?: string): Buffer | undefined {
    if (preferred !== undefined && preferred.length === this.size * 2 && /^[0-9a-f]+$/i.test(preferred)) {
      const key = preferred.toLowerCase()
      if (!this.inUse.has(key)) {
        this.inUse.add(key)
        return Buffer.from(key, 'hex')
      }
    }
    if (this.inUse.size >= this.space) return undefined
    for (;;) {
      const value = this.next
      this.next = (this.next + 1) % this.space
      // allocUnsafe + fill: a slice of Node's shared pool, not an ArrayBuffer of its own per session.
      const buf = Buffer.allocUnsafe(this.size).fill(0)
      buf.writeUIntBE(value, this.size - Math.min(this.size, 6), Math.min(this.size, 6))
      const key = buf.toString('hex')
      if (!this.inUse.has(key)) {
        this.inUse.add(key)
        return buf
      }
    }
  }

  /** Returns a value to the pool. */
  release(value: Buffer): void {
    this.inUse.delete(value.toString('hex'))
  }
}
