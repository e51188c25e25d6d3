/**
 * Extranonce subdivision, as properties (fast-check, fixed seed): a plan
 * exists exactly when the miners keep at least 2 bytes; the coinbase the
 * upstream rebuilds from a forwarded share is byte for byte the one the
 * miner hashed; sessions' prefixes (from the server's real allocator) are
 * unique, so their upstream extranonce2 spaces never overlap; two upstream
 * connections (different extranonce1) never yield the same coinbase.
 */
import t from 'tap'
import fc from 'fast-check'
import { ExtranonceAllocator } from '../../src/server/extranonce-allocator.js'
import {
  MIN_MINER_EXTRANONCE2,
  planExtranonce,
  splitCoinbaseExtranonce,
  upstreamExtranonce2,
  type ExtranoncePlan,
} from '../../src/jobs/upstream-extranonce.js'

const SEED = 0x0e5_7a11
const params = { seed: SEED, numRuns: 400 }

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a))

/** A usable split: n, k and the miners' maximum chosen so that n - k >= 2. */
const usable = fc
  .record({ k: fc.integer({ min: 2, max: 8 }), room: fc.integer({ min: MIN_MINER_EXTRANONCE2, max: 24 }), maxMiner: fc.integer({ min: 2, max: 16 }), e: bytes(0, 8) })
  .map(({ k, room, maxMiner, e }) => {
    const result = planExtranonce(e, k + room, k, maxMiner)
    if (!result.ok) throw new Error(result.reason)
    return result.plan
  })

t.test('a plan exists exactly when miners keep at least 2 bytes, with the sizes documented', async (t) => {
  fc.assert(
    fc.property(bytes(0, 8), fc.integer({ min: -2, max: 40 }), fc.integer({ min: 2, max: 8 }), fc.integer({ min: 2, max: 16 }), (e, n, k, maxMiner) => {
      const result = planExtranonce(e, n, k, maxMiner)
      if (n < 0 || n > 32) return !result.ok && /impossible/.test(result.reason)
      if (n - k < MIN_MINER_EXTRANONCE2) return !result.ok && result.reason.includes('stratum.extranonce1_size')
      if (!result.ok) return false
      const p = result.plan
      const m = Math.min(n - k, maxMiner)
      return (
        p.minerExtranonce2Size === m &&
        p.padSize === n - k - m &&
        p.extranonceSize === k + m &&
        p.coinb1Suffix.equals(Buffer.concat([e, Buffer.alloc(n - k - m)])) &&
        p.padSize + p.prefixSize + p.minerExtranonce2Size === n
      )
    }),
    params,
  )
  t.pass('every case holds')
})

t.test('the coinbase the upstream rebuilds is the one the miner hashed', async (t) => {
  fc.assert(
    fc.property(usable, bytes(1, 120), bytes(1, 120), fc.integer({ min: 0, max: 2 ** 31 }), (plan, coinb1, coinb2, seed) => {
      const prefix = Buffer.alloc(plan.prefixSize)
      prefix.writeUIntLE(seed % 2 ** Math.min(48, 8 * plan.prefixSize), 0, Math.min(6, plan.prefixSize))
      const en2 = Buffer.alloc(plan.minerExtranonce2Size, seed & 0xff)
      // What the miner hashes: the work's coinb1 (upstream coinb1 | E | pad), its extranonce1 (the prefix), its extranonce2.
      const minerCoinb1 = Buffer.concat([coinb1, plan.coinb1Suffix])
      const hashed = Buffer.concat([minerCoinb1, prefix, en2, coinb2])
      // What the upstream rebuilds: its coinb1 | its extranonce1 | the extranonce2 forwarded | coinb2.
      const up = upstreamExtranonce2(plan, prefix, en2)
      const rebuilt = Buffer.concat([coinb1, plan.upstreamExtranonce1, up, coinb2])
      const [p2, e2] = splitCoinbaseExtranonce(plan, minerCoinb1.length, hashed)
      return up.length === plan.upstreamExtranonce2Size && rebuilt.equals(hashed) && p2.equals(prefix) && e2.equals(en2)
    }),
    params,
  )
  t.pass('every case holds')
})

t.test('prefixes from the allocator are unique, so sessions never share an upstream extranonce2', async (t) => {
  fc.assert(
    fc.property(usable, fc.integer({ min: 2, max: 300 }), (plan: ExtranoncePlan, sessions) => {
      const allocator = new ExtranonceAllocator(plan.prefixSize)
      const seen = new Set<string>()
      const zeros = Buffer.alloc(plan.minerExtranonce2Size)
      const ones = Buffer.alloc(plan.minerExtranonce2Size, 0xff)
      const ranges: [string, string][] = []
      for (let i = 0; i < sessions; i++) {
        const prefix = allocator.allocate()
        if (prefix === undefined) return false
        const key = prefix.toString('hex')
        if (seen.has(key)) return false
        seen.add(key)
        // The session's whole range of upstream extranonce2 values: [pad|p|00.., pad|p|ff..].
        ranges.push([upstreamExtranonce2(plan, prefix, zeros).toString('hex'), upstreamExtranonce2(plan, prefix, ones).toString('hex')])
      }
      ranges.sort((a, b) => (a[0] < b[0] ? -1 : 1))
      for (let i = 1; i < ranges.length; i++) if ((ranges[i] as [string, string])[0] <= (ranges[i - 1] as [string, string])[1]) return false
      return true
    }),
    { seed: SEED, numRuns: 60 },
  )
  t.pass('every case holds')
})

t.test('two upstream connections (different extranonce1) never give the same coinbase', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 4, max: 16 }), bytes(4, 4), bytes(4, 4), bytes(2, 2), (n, e1, e2, prefix) => {
      fc.pre(!e1.equals(e2))
      const a = planExtranonce(e1, n, 2, 8)
      const b = planExtranonce(e2, n, 2, 8)
      if (!a.ok || !b.ok) return false
      const en2 = Buffer.alloc(a.plan.minerExtranonce2Size)
      const ca = Buffer.concat([Buffer.from('01', 'hex'), a.plan.coinb1Suffix, prefix, en2])
      const cb = Buffer.concat([Buffer.from('01', 'hex'), b.plan.coinb1Suffix, prefix, en2])
      return !ca.equals(cb)
    }),
    params,
  )
  t.pass('every case holds')
})

t.test('errors name what to change', async (t) => {
  const small = planExtranonce(Buffer.alloc(4), 4, 4, 8)
  t.notOk(small.ok)
  t.match(!small.ok && small.reason, /extranonce2 size 4 leaves 0 bytes .*stratum\.extranonce1_size = 4.*set stratum\.extranonce1_size to 2 or less/)
  const tiny = planExtranonce(Buffer.alloc(4), 3, 2, 8)
  t.match(!tiny.ok && tiny.reason, /cannot be split/)
  t.match(!tiny.ok && planExtranonce(Buffer.alloc(33), 8, 2, 8).ok === false && (planExtranonce(Buffer.alloc(33), 8, 2, 8) as { reason: string }).reason, /at most 32/)
  const ok = planExtranonce(Buffer.from('aabbccdd', 'hex'), 8, 2, 4)
  t.ok(ok.ok)
  if (ok.ok) {
    t.equal(ok.plan.padSize, 2)
    t.throws(() => upstreamExtranonce2(ok.plan, Buffer.alloc(3), Buffer.alloc(4)), RangeError)
  }
})
