/** Shared by the Stratum codec tests: fixture paths, transcripts, value normalisation, a seeded PRNG. */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** test/fixtures/stratum (copied from ../shared/fixtures/stratum so a clone tests on its own). */
export const STRATUM_FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'stratum')

export function readFixture(name: string): string {
  return readFileSync(join(STRATUM_FIXTURES, name), 'utf8')
}

/** One line of a recorded session. */
export interface TranscriptLine {
  conn: number
  ms: number
  dir: 'miner->pool' | 'pool->miner'
  line: string
}

/** A `.jsonl` transcript, one object a line. */
export function transcript(name: string): TranscriptLine[] {
  return readFixture(name)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as TranscriptLine)
}

/** Decoded values as the JSON fixtures spell them: Buffers as hex, bigints as `{ bigint: digits }`. */
export function normalize(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('hex')
  if (typeof value === 'bigint') return { bigint: value.toString() }
  if (Array.isArray(value)) return value.map(normalize)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]))
  }
  return value
}

/** mulberry32: a small, fast, seeded PRNG, so a failing random case can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** An integer in [0, n). */
export function randomInt(random: () => number, n: number): number {
  return Math.floor(random() * n)
}
