/**
 * Extranonce subdivision for proxy mode: the pure arithmetic, no sockets.
 *
 * The upstream pool gives Headframe one extranonce1 `E` and an extranonce2
 * size `n`. Headframe splits that extranonce2 space among its miners:
 *
 * ```
 * upstream coinbase:  coinb1 | E | <------------- n bytes --------------> | coinb2
 * split as:           coinb1 | E | pad (n-k-m) | p (k) | miner en2 (m)   | coinb2
 * miner sees:         coinb1' = coinb1 | E | pad,  extranonce1 = p,  extranonce2 size m
 * ```
 *
 * `p` is the session's own extranonce1 from the server's allocator (k =
 * `stratum.extranonce1_size` bytes, unique among live sessions), so two
 * sessions never share a prefix and never search the same coinbases. `m`
 * is `min(n - k, stratum.extranonce2_size)`; the bytes left over (`pad`) are
 * zero. A share goes upstream with extranonce2 `pad | p | en2`, so the
 * coinbase the upstream rebuilds is byte for byte the one the miner hashed.
 *
 * With k >= 2 one upstream connection serves 65,536 sessions at once, more
 * than one Headframe process holds; a second upstream connection when
 * prefixes run out is therefore not implemented (docs/proxy.md).
 */

/** The fewest extranonce2 bytes a miner is left with (2 bytes = 65,536 coinbases per job, each with 2^32 nonces and rolled versions). */
export const MIN_MINER_EXTRANONCE2 = 2
/** The largest extranonce2 size an upstream may announce (Stratum miners take at most 32 bytes; beyond that it is not a pool we can trust). */
export const MAX_UPSTREAM_EXTRANONCE2 = 32
/** The largest upstream extranonce1 taken (bytes). */
export const MAX_UPSTREAM_EXTRANONCE1 = 32

/** How one upstream extranonce space is split. */
export interface ExtranoncePlan {
  /** The upstream's extranonce1 (`E`). */
  readonly upstreamExtranonce1: Buffer
  /** The upstream's extranonce2 size (`n`). */
  readonly upstreamExtranonce2Size: number
  /** Bytes of the per-session prefix (`k`, = `stratum.extranonce1_size`). */
  readonly prefixSize: number
  /** Bytes the miner rolls (`m`). */
  readonly minerExtranonce2Size: number
  /** Zero bytes between `E` and the prefix (`n - k - m`). */
  readonly padSize: number
  /** What goes after the upstream's coinb1 in the work handed to miners: `E | pad`. */
  readonly coinb1Suffix: Buffer
  /** `Work.extranonceSize` of the work handed to miners: `k + m`. */
  readonly extranonceSize: number
}

export type PlanResult = { readonly ok: true; readonly plan: ExtranoncePlan } | { readonly ok: false; readonly reason: string }

/**
 * Splits the upstream's extranonce space (see the module comment).
 * `prefixSize`: `stratum.extranonce1_size`; `maxMinerSize`: `stratum.extranonce2_size`.
 */
export function planExtranonce(upstreamExtranonce1: Buffer, upstreamExtranonce2Size: number, prefixSize: number, maxMinerSize: number): PlanResult {
  const n = upstreamExtranonce2Size
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_UPSTREAM_EXTRANONCE2) {
    return { ok: false, reason: `the upstream's extranonce2 size ${String(n)} is impossible (expected an integer 0-${MAX_UPSTREAM_EXTRANONCE2})` }
  }
  if (upstreamExtranonce1.length > MAX_UPSTREAM_EXTRANONCE1) {
    return { ok: false, reason: `the upstream's extranonce1 is ${upstreamExtranonce1.length} bytes (at most ${MAX_UPSTREAM_EXTRANONCE1} taken)` }
  }
  const room = n - prefixSize
  if (room < MIN_MINER_EXTRANONCE2) {
    const fits = n - MIN_MINER_EXTRANONCE2
    const advice =
      fits >= 2
        ? `set stratum.extranonce1_size to ${fits} or less`
        : `this upstream cannot be split (stratum.extranonce1_size is at least 2, so it needs an extranonce2 size of at least ${2 + MIN_MINER_EXTRANONCE2})`
    return {
      ok: false,
      reason: `the upstream's extranonce2 size ${n} leaves ${Math.max(room, 0)} bytes to miners after the ${prefixSize}-byte session prefix (stratum.extranonce1_size = ${prefixSize}); they need at least ${MIN_MINER_EXTRANONCE2}: ${advice}`,
    }
  }
  const m = Math.min(room, maxMinerSize)
  const padSize = room - m
  return {
    ok: true,
    plan: {
      upstreamExtranonce1: Buffer.from(upstreamExtranonce1),
      upstreamExtranonce2Size: n,
      prefixSize,
      minerExtranonce2Size: m,
      padSize,
      coinb1Suffix: Buffer.concat([upstreamExtranonce1, Buffer.alloc(padSize)]),
      extranonceSize: prefixSize + m,
    },
  }
}

/** The extranonce2 a share goes upstream with: `pad | prefix | minerExtranonce2` (exactly `n` bytes). */
export function upstreamExtranonce2(plan: ExtranoncePlan, prefix: Buffer, minerExtranonce2: Buffer): Buffer {
  if (prefix.length !== plan.prefixSize || minerExtranonce2.length !== plan.minerExtranonce2Size) {
    throw new RangeError(
      `upstreamExtranonce2: prefix ${prefix.length} and extranonce2 ${minerExtranonce2.length} bytes, expected ${plan.prefixSize} and ${plan.minerExtranonce2Size}`,
    )
  }
  return Buffer.concat([Buffer.alloc(plan.padSize), prefix, minerExtranonce2])
}

/** Splits the miner's part back out of a coinbase built on a plan's work: `[prefix, minerExtranonce2]`. */
export function splitCoinbaseExtranonce(plan: ExtranoncePlan, minerCoinb1Length: number, coinbase: Buffer): [Buffer, Buffer] {
  const at = minerCoinb1Length
  return [coinbase.subarray(at, at + plan.prefixSize), coinbase.subarray(at + plan.prefixSize, at + plan.extranonceSize)]
}
