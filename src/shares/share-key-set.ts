/**
 * The set of accepted shares of one job, for duplicate detection.
 *
 * A share's key is the first 16 bytes of its header hash (the hash covers
 * job, extranonce1, extranonce2, ntime, nonce and version; 128 bits make a
 * false duplicate practically impossible: about 2^-90 for a million shares).
 * Keys live in open-addressing tables of 32-bit words, 16 bytes a key at a
 * load factor of at most 1/2: about 32 bytes per accepted share (past a
 * floor of ~20 KiB per job once all its tables are in use), and no
 * allocation per share. A Set of hex or latin1 strings costs 3-4 times that
 * and a string per share (10,000 miners at one share every 5 s accept a
 * million shares per block interval).
 *
 * The keys are spread over `SHARDS` tables by one byte of the hash, each
 * growing on its own: a grow rehashes 1/64 of the job's keys. With one
 * table, the grow at 262,144 keys held the event loop for ~22 ms and the
 * 8 MiB table it left behind cost a further ~18 ms of GC (CPU profile of
 * `bench-load latency`, docs/benchmarks.md, history), a stall every
 * miner's answer waited behind; it doubles with each grow.
 */

/** Tables per set (a power of two); which one a key goes to is a hash byte the slot does not use. */
const SHARDS = 64
const WORDS_PER_KEY = 4
const INITIAL_SLOTS = 16

/** One open-addressing table of keys. */
class KeyTable {
  private table = new Uint32Array(INITIAL_SLOTS * WORDS_PER_KEY)
  private slots = INITIAL_SLOTS
  private count = 0

  /** Keys held. */
  get size(): number {
    return this.count
  }

  /** Adds the key of `hash` (32 bytes); false when it was already there (a duplicate). */
  add(hash: Uint8Array): boolean {
    if (this.count * 2 >= this.slots) this.grow()
    const k0 = readWord(hash, 0)
    const k1 = readWord(hash, 4)
    const k2 = readWord(hash, 8)
    const k3 = readWord(hash, 12)
    // All zeros marks an empty slot; such a hash (2^-128) takes the key 1,0,0,0.
    if ((k0 | k1 | k2 | k3) === 0) return this.insert(1, 0, 0, 0)
    return this.insert(k0, k1, k2, k3)
  }

  /** Removes the key of `hash` (a share whose recording failed, so it may be sent again). */
  delete(hash: Uint8Array): boolean {
    const key = [readWord(hash, 0), readWord(hash, 4), readWord(hash, 8), readWord(hash, 12)] as const
    const k = (key[0] | key[1] | key[2] | key[3]) === 0 ? ([1, 0, 0, 0] as const) : key
    const mask = this.slots - 1
    let slot = (k[0] ^ k[1]) & mask
    for (;;) {
      const at = slot * WORDS_PER_KEY
      const t = this.table
      if (t[at] === 0 && t[at + 1] === 0 && t[at + 2] === 0 && t[at + 3] === 0) return false
      if (t[at] === k[0] && t[at + 1] === k[1] && t[at + 2] === k[2] && t[at + 3] === k[3]) {
        // Linear probing: re-insert the run after the removed slot.
        t.fill(0, at, at + WORDS_PER_KEY)
        this.count--
        let next = (slot + 1) & mask
        for (;;) {
          const n = next * WORDS_PER_KEY
          if (t[n] === 0 && t[n + 1] === 0 && t[n + 2] === 0 && t[n + 3] === 0) break
          const moved = [t[n], t[n + 1], t[n + 2], t[n + 3]] as [number, number, number, number]
          t.fill(0, n, n + WORDS_PER_KEY)
          this.count--
          this.insert(...moved)
          next = (next + 1) & mask
        }
        return true
      }
      slot = (slot + 1) & mask
    }
  }

  private insert(k0: number, k1: number, k2: number, k3: number): boolean {
    const mask = this.slots - 1
    const t = this.table
    // The hash bytes are uniformly random: two words of them are the slot.
    let slot = (k0 ^ k1) & mask
    for (;;) {
      const at = slot * WORDS_PER_KEY
      const w0 = t[at] as number
      const w1 = t[at + 1] as number
      const w2 = t[at + 2] as number
      const w3 = t[at + 3] as number
      if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0) {
        t[at] = k0
        t[at + 1] = k1
        t[at + 2] = k2
        t[at + 3] = k3
        this.count++
        return true
      }
      if (w0 === k0 && w1 === k1 && w2 === k2 && w3 === k3) return false
      slot = (slot + 1) & mask
    }
  }

  private grow(): void {
    const old = this.table
    this.slots *= 2
    this.table = new Uint32Array(this.slots * WORDS_PER_KEY)
    this.count = 0
    for (let at = 0; at < old.length; at += WORDS_PER_KEY) {
      const k0 = old[at] as number
      const k1 = old[at + 1] as number
      const k2 = old[at + 2] as number
      const k3 = old[at + 3] as number
      if (k0 !== 0 || k1 !== 0 || k2 !== 0 || k3 !== 0) this.insert(k0, k1, k2, k3)
    }
  }
}

function readWord(b: Uint8Array, at: number): number {
  return ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24)) >>> 0
}

export class ShareKeySet {
  /** Made on a key's first use of each. */
  private shards: (KeyTable | undefined)[] = new Array<KeyTable | undefined>(SHARDS).fill(undefined)
  private count = 0

  /** Keys held. */
  get size(): number {
    return this.count
  }

  /** Adds the key of `hash` (32 bytes); false when it was already there (a duplicate). */
  add(hash: Uint8Array): boolean {
    const index = shardOf(hash)
    let shard = this.shards[index]
    if (shard === undefined) this.shards[index] = shard = new KeyTable()
    if (!shard.add(hash)) return false
    this.count++
    return true
  }

  /** Removes the key of `hash` (a share whose recording failed, so it may be sent again). */
  delete(hash: Uint8Array): boolean {
    const shard = this.shards[shardOf(hash)]
    if (shard === undefined || !shard.delete(hash)) return false
    this.count--
    return true
  }

  /** Drops every key and the memory (a job that went stale). */
  clear(): void {
    this.shards = new Array<KeyTable | undefined>(SHARDS).fill(undefined)
    this.count = 0
  }
}

/** The shard of a key: byte 15, the last byte of the key (the slot is taken from bytes 0-7). */
function shardOf(hash: Uint8Array): number {
  return (hash[15] as number) & (SHARDS - 1)
}
