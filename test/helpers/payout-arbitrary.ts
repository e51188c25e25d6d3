/**
 * Random payout inputs for the property tests, from the seeded mulberry32
 * in test/helpers/prng.ts, so a failing case is replayed from its seed.
 */
import { prng } from './prng.js'
import { difficultyUnits, MAX_MONEY_SATS, type ShareWeight } from '../../src/payouts/index.js'

/** Account names, chosen to make name order matter: case, digits, a prefix of another, non-ASCII, an address. */
const NAMES = [
  'alice',
  'Alice',
  'bob',
  'bob.rig1',
  'bob.rig10',
  'bob.rig2',
  'carol',
  'dave',
  'erin',
  'frank',
  'Zed',
  '1BoatSLRHtKNngkdXEeobR76b53LETtpyT',
  'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq',
  'ölfeld',
  '矿工',
  '😀miner',
  'a',
  'aa',
  'ab',
  'b',
]

/** A random source with the helpers the tests need. */
export class Arbitrary {
  readonly next: () => number

  constructor(readonly seed: number) {
    this.next = prng(seed)
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new Error('pick from an empty list')
    return item
  }

  /** A bigint in [0, n), from 32-bit draws (bias below 2^-32). */
  below(n: bigint): bigint {
    if (n <= 0n) throw new Error('below(0)')
    let r = 0n
    for (let bits = 0n; bits < BigInt(n.toString(2).length) + 32n; bits += 32n) r = (r << 32n) | BigInt(Math.floor(this.next() * 2 ** 32))
    return r % n
  }

  /** A reward up to MAX_MONEY: edges, log-uniform amounts, uniform ones. */
  reward(): bigint {
    const r = this.next()
    if (r < 0.08) return this.pick([0n, 1n, 2n, 3n, 99n, 100n, 10_000n, 312_500_000n, MAX_MONEY_SATS, MAX_MONEY_SATS - 1n])
    if (r < 0.6) return BigInt(Math.floor(10 ** (this.next() * Math.log10(Number(MAX_MONEY_SATS)))))
    return this.below(MAX_MONEY_SATS + 1n)
  }

  /** A fee in basis points: 0, 100 %, the default, or any. */
  feeBasisPoints(): number {
    const r = this.next()
    if (r < 0.1) return this.pick([0, 1, 200, 9999, 10_000])
    return this.int(10_001)
  }

  /** A random difficulty: fractional, from 1e-4 (CPU miner) to 1e12, sometimes an integer or a power of two. */
  difficulty(): number {
    const r = this.next()
    if (r < 0.1) return 2 ** (this.int(40) - 10)
    if (r < 0.2) return 1 + this.int(100_000)
    return 10 ** (this.next() * 16 - 4)
  }

  /** A list of accounts to draw from: 1 to all of NAMES. */
  accounts(): string[] {
    const count = 1 + this.int(NAMES.length)
    const names = [...NAMES]
    this.shuffle(names)
    return names.slice(0, count)
  }

  /** 1 to `max` shares over some accounts, with random fractional difficulties (as units). */
  shares(max = 200): ShareWeight[] {
    const accounts = this.accounts()
    const n = 1 + this.int(max)
    const shares: ShareWeight[] = []
    for (let i = 0; i < n; i++) shares.push({ account: this.pick(accounts), units: this.chance(0.02) ? 0n : difficultyUnits(this.difficulty()) })
    return shares
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const a = items[i] as T
      items[i] = items[j] as T
      items[j] = a
    }
    return items
  }
}

/** The sum of a map's values. */
export function sum(values: Iterable<bigint>): bigint {
  let total = 0n
  for (const v of values) total += v
  return total
}

/** A map's entries, for comparing order and content at once. */
export function entries<V>(map: ReadonlyMap<string, V>): [string, V][] {
  return [...map]
}

/** Whether the map's keys are in ascending code-unit order. */
export function sortedKeys(map: ReadonlyMap<string, unknown>): boolean {
  const keys = [...map.keys()]
  return keys.every((k, i) => i === 0 || (keys[i - 1] as string) < k)
}
