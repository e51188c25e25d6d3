/**
 * Hashing benchmark: every native SHA-256 implementation this CPU offers,
 * node:crypto, and (when `openssl` is on PATH) OpenSSL's SHA-256 block speed
 * as the yardstick. One core, one thread.
 *
 *   npm run build:ts && npm run bench:hash            # table
 *   node dist/scripts/bench-hash.js --json             # the same as JSON
 *
 * Each figure is the best of 5 timed runs of ~100 ms (after a warm-up), so a
 * busy machine shows its quietest moment. docs/benchmarks.md explains the
 * numbers and the targets.
 */
import { createHash, randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { loadNativeAddon, type NativeImpl } from '../src/shares/native-addon.js'

/** What one implementation (or node:crypto) achieves. */
interface Row {
  name: string
  /** sha256d of an 80-byte header, one call per hash: ns per call. */
  sha256d80Ns: number
  /**
   * The same hash without the JS call around it: checkHeaders of 1 header
   * minus checkHeaders of 0 headers (same validation, no result Buffer).
   */
  sha256d80KernelNs: number
  /** One merkle level (sha256d of 64 bytes) inside merkleRoot with a 16-entry branch: ns per node. */
  merkleNodeNs: number
  /** checkHeaders on batches of 256: ns per header. */
  checkHeadersNs: number
  /** scanNonces with a difficulty-1 target: ns per nonce. */
  scanNs: number
}

interface Target {
  what: string
  target: string
  measured: string
  ratio: number
  met: boolean
}

const BATCH = 256
const BRANCH = 16
const RUN_MS = 100
const REPEATS = 5

// The figures the targets in docs/benchmarks.md are set against.
const CPUMINER_MHS = 11 // pooler's cpuminer, sha256d, per thread
const CORE_MERKLE_NODE_NS = 83 // Bitcoin Core's SHA-NI sha256d of a 64-byte node

const now = (): bigint => process.hrtime.bigint()

/**
 * ns per unit of work: `fn` does `units` units per call; it is called for
 * about RUN_MS, REPEATS times, and the fastest run counts.
 */
function measure(fn: () => void, units: number): number {
  const warmEnd = now() + 30_000_000n
  let calls = 0
  while (now() < warmEnd) {
    fn()
    calls++
  }
  const perCall = 30_000_000 / Math.max(calls, 1)
  const callsPerRun = Math.max(1, Math.ceil((RUN_MS * 1e6) / perCall))
  let best = Infinity
  for (let r = 0; r < REPEATS; r++) {
    const t0 = now()
    for (let i = 0; i < callsPerRun; i++) fn()
    const ns = Number(now() - t0) / (callsPerRun * units)
    if (ns < best) best = ns
  }
  return best
}

/**
 * ns that `fn` takes more than `base` per call: runs of the two alternate so
 * both see the same machine load; the median difference counts.
 */
function measureExtra(fn: () => void, base: () => void): number {
  const calls = Math.max(1, Math.ceil((RUN_MS * 1e6) / Math.max(measure(fn, 1), 1) / 4))
  const run = (f: () => void): number => {
    const t0 = now()
    for (let i = 0; i < calls; i++) f()
    return Number(now() - t0) / calls
  }
  const diffs: number[] = []
  for (let r = 0; r < 2 * REPEATS + 1; r++) diffs.push(run(fn) - run(base))
  diffs.sort((a, b) => a - b)
  return Math.max(0, diffs[REPEATS]!)
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()
const sha256d = (b: Uint8Array): Buffer => sha256(sha256(b))

/** Difficulty-1 share target (compact bits 0x1d00ffff), little-endian. */
const DIFF1_TARGET = (() => {
  const t = Buffer.alloc(32)
  t[26] = 0xff
  t[27] = 0xff
  return t
})()

// The same node:crypto stand-ins the pool's fallback hasher would use.
const nodeCrypto: NativeImpl = {
  name: 'node:crypto',
  sha256,
  sha256d,
  merkleRoot(leaf, branch) {
    let h: Buffer = Buffer.from(leaf)
    for (let off = 0; off < branch.length; off += 32) h = sha256d(Buffer.concat([h, branch.subarray(off, off + 32)]))
    return h
  },
  checkHeaders(headers, targets, outHashes, outOk) {
    let passed = 0
    for (let i = 0; i < outOk.length; i++) {
      const hash = sha256d(headers.subarray(80 * i, 80 * i + 80))
      outHashes.set(hash, 32 * i)
      const ok = Buffer.compare(Buffer.from(hash).reverse(), Buffer.from(targets.subarray(32 * i, 32 * i + 32)).reverse()) <= 0
      outOk[i] = ok ? 1 : 0
      if (ok) passed++
    }
    return passed
  },
  scanNonces(header, start, count, target, maxResults) {
    const h = Buffer.from(header)
    const t = Buffer.from(target).reverse()
    const found: number[] = []
    for (let n = start; n < start + count && found.length < maxResults; n++) {
      h.writeUInt32LE(n, 76)
      if (Buffer.compare(sha256d(h).reverse(), t) <= 0) found.push(n)
    }
    return found
  },
}

function benchImpl(impl: NativeImpl): Row {
  const header = randomBytes(80)
  const leaf = randomBytes(32)
  const branch = randomBytes(32 * BRANCH)
  const headers = randomBytes(80 * BATCH)
  const targets = Buffer.alloc(32 * BATCH)
  for (let i = 0; i < BATCH; i++) DIFF1_TARGET.copy(targets, 32 * i)
  const outHashes = Buffer.alloc(32 * BATCH)
  const outOk = Buffer.alloc(BATCH)
  // Scan calls sized to take a few ms each, whatever the speed.
  const probe = measure(() => impl.scanNonces(header, 0, 256, DIFF1_TARGET, 1), 256)
  const scanCount = Math.max(256, Math.min(2 ** 24, Math.round(5e6 / probe)))
  const one = [header, DIFF1_TARGET, Buffer.alloc(32), Buffer.alloc(1)] as const
  const none = [header.subarray(0, 0), DIFF1_TARGET.subarray(0, 0), one[2].subarray(0, 0), one[3].subarray(0, 0)] as const
  let start = 0
  return {
    name: impl.name,
    sha256d80Ns: measure(() => impl.sha256d(header), 1),
    sha256d80KernelNs: measureExtra(
      () => impl.checkHeaders(...one),
      () => impl.checkHeaders(...none),
    ),
    merkleNodeNs: measure(() => impl.merkleRoot(leaf, branch), BRANCH),
    checkHeadersNs: measure(() => impl.checkHeaders(headers, targets, outHashes, outOk), BATCH),
    scanNs: measure(() => {
      impl.scanNonces(header, start, scanCount, DIFF1_TARGET, 1)
      start = (start + scanCount) % (2 ** 32 - scanCount)
    }, scanCount),
  }
}

/** OpenSSL's SHA-256 speed on 16 KiB messages: ns per 64-byte compression. */
function opensslCompressionNs(): { ns: number; version: string; command: string } | undefined {
  const args = ['speed', '-seconds', '2', '-bytes', '16384', '-evp', 'sha256']
  try {
    const out = execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    // "sha256   1423179.78k" (1000s of bytes per second), the last line.
    const m = /^sha256\s+([\d.]+)k\s*$/m.exec(out)
    if (m === null) return undefined
    const bytesPerSecond = Number(m[1]) * 1000
    // 16384 bytes are 256 blocks plus one padding block.
    const compressionsPerSecond = (bytesPerSecond / 16384) * 257
    const version = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim()
    return { ns: 1e9 / compressionsPerSecond, version, command: `openssl ${args.join(' ')}` }
  } catch {
    return undefined
  }
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m?.[1] !== undefined) return m[1].trim()
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown'
}

function targets(rows: Row[], best: Row, node: Row, opensslNs: number | undefined): Target[] {
  const fastest = (key: keyof Omit<Row, 'name'>): Row => rows.reduce((a, b) => (b[key] < a[key] ? b : a))
  const out: Target[] = []
  const callRate = 1e3 / best.sha256d80Ns
  if (opensslNs !== undefined) {
    const limit = 1e3 / (3 * opensslNs)
    out.push({
      what: `sha256d(80 B) calls, ${best.name}`,
      target: `>= 85% of ${limit.toFixed(2)} M/s (3 x ${opensslNs.toFixed(1)} ns OpenSSL)`,
      measured: `${callRate.toFixed(2)} M/s`,
      ratio: callRate / limit,
      met: callRate >= 0.85 * limit,
    })
    const kernelRate = 1e3 / best.sha256d80KernelNs
    out.push({
      what: `sha256d(80 B) kernel only, ${best.name}`,
      target: `>= 85% of ${limit.toFixed(2)} M/s (3 x ${opensslNs.toFixed(1)} ns OpenSSL)`,
      measured: `${kernelRate.toFixed(2)} M/s`,
      ratio: kernelRate / limit,
      met: kernelRate >= 0.85 * limit,
    })
  }
  out.push({
    what: `sha256d(80 B) calls, ${best.name}`,
    target: `>= 20x node:crypto (${(20e3 / node.sha256d80Ns).toFixed(2)} M/s)`,
    measured: `${callRate.toFixed(2)} M/s`,
    ratio: node.sha256d80Ns / best.sha256d80Ns,
    met: best.sha256d80Ns * 20 <= node.sha256d80Ns,
  })
  const scan = fastest('scanNs')
  const scanMhs = 1e3 / scan.scanNs
  if (opensslNs !== undefined) {
    const limit = 1e3 / (2 * opensslNs)
    out.push({
      what: `nonce scan, ${scan.name}`,
      target: `>= 85% of ${limit.toFixed(2)} MH/s (2 x ${opensslNs.toFixed(1)} ns OpenSSL)`,
      measured: `${scanMhs.toFixed(2)} MH/s`,
      ratio: scanMhs / limit,
      met: scanMhs >= 0.85 * limit,
    })
  }
  out.push({
    what: `nonce scan, ${scan.name}`,
    target: `> cpuminer ${CPUMINER_MHS} MH/s per thread`,
    measured: `${scanMhs.toFixed(2)} MH/s`,
    ratio: scanMhs / CPUMINER_MHS,
    met: scanMhs > CPUMINER_MHS,
  })
  out.push({
    what: `merkle node, ${best.name}`,
    target: `~${CORE_MERKLE_NODE_NS} ns (Bitcoin Core SHA-NI)`,
    measured: `${best.merkleNodeNs.toFixed(1)} ns`,
    ratio: CORE_MERKLE_NODE_NS / best.merkleNodeNs,
    met: best.merkleNodeNs <= CORE_MERKLE_NODE_NS * 1.1,
  })
  if (opensslNs !== undefined) {
    out.push({
      what: `merkle node, ${best.name}`,
      target: `3 compressions at OpenSSL speed (${(3 * opensslNs).toFixed(1)} ns)`,
      measured: `${best.merkleNodeNs.toFixed(1)} ns`,
      ratio: (3 * opensslNs) / best.merkleNodeNs,
      met: best.merkleNodeNs <= 3 * opensslNs * 1.1,
    })
  }
  return out
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n)
}

function main(): void {
  const json = process.argv.includes('--json')
  const addon = loadNativeAddon()
  const machine = {
    cpu: cpuModel(),
    cores: availableParallelism(),
    node: process.version,
    arch: process.arch,
    features: addon.cpu,
    best: addon.best,
  }
  if (!json) {
    console.log(`CPU: ${machine.cpu} (${machine.cores} cores, ${machine.arch}), Node ${machine.node}`)
    console.log(`cpu features: ${JSON.stringify(machine.features)}; addon best: ${machine.best}`)
    console.log('measuring (one core; best of 5 runs each)...')
  }
  const rows: Row[] = []
  for (const impl of Object.values(addon.implementations)) rows.push(benchImpl(impl))
  const node = benchImpl(nodeCrypto)
  const openssl = opensslCompressionNs()
  const best = rows.find((r) => r.name === addon.best) ?? rows[0]!
  const goals = targets(rows, best, node, openssl?.ns)

  if (json) {
    console.log(JSON.stringify({ machine, openssl: openssl ?? null, rows: [...rows, node], targets: goals }, null, 2))
    return
  }
  const header = ['implementation', 'sha256d 80 B', 'ns/call', 'kernel ns', 'merkle node ns', 'checkHeaders', 'scan']
  const widths = [16, 14, 9, 10, 15, 16, 12]
  console.log()
  console.log(header.map((h, i) => pad(h, widths[i]!, i > 0)).join(' '))
  for (const r of [...rows, node]) {
    const cells = [
      r.name,
      `${(1e3 / r.sha256d80Ns).toFixed(2)} M/s`,
      r.sha256d80Ns.toFixed(1),
      r.sha256d80KernelNs.toFixed(1),
      r.merkleNodeNs.toFixed(1),
      `${(1e3 / r.checkHeadersNs).toFixed(2)} M hdr/s`,
      `${(1e3 / r.scanNs).toFixed(2)} MH/s`,
    ]
    console.log(cells.map((c, i) => pad(c, widths[i]!, i > 0)).join(' '))
  }
  console.log()
  if (openssl === undefined) {
    console.log('openssl: not found on PATH (targets relative to it skipped)')
  } else {
    console.log(`${openssl.version}: ${openssl.ns.toFixed(1)} ns per 64-byte compression (${openssl.command})`)
  }
  console.log()
  const tw = [34, 58, 12, 7, 4]
  console.log(['target', 'goal', 'measured', 'ratio', 'met'].map((h, i) => pad(h, tw[i]!)).join(' '))
  for (const g of goals) {
    console.log([g.what, g.target, g.measured, `${g.ratio.toFixed(2)}x`, g.met ? 'yes' : 'NO'].map((c, i) => pad(c, tw[i]!)).join(' '))
  }
}

main()
