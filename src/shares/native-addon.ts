/**
 * Loads the compiled SHA-256d addon (`build/Release/headframe_sha256.node`).
 *
 * This module only finds and loads the binary and describes its shape; the
 * choice between native and node:crypto lives in `hasher.ts`.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../package-info.js'

/**
 * One native SHA-256 implementation (generic, SHA-NI, AVX2, AVX-512). The
 * functions do not use `this`: callers may hold them detached.
 *
 * The addon checks every argument: a value that is not a Uint8Array (Buffer
 * included) or not a number throws a TypeError, a wrong length or an
 * out-of-range number a RangeError, naming the function and the argument.
 * The 32-byte results of sha256, sha256d and merkleRoot come from Node's
 * Buffer pool (`Buffer.allocUnsafe(32)`), like `Buffer.from()`'s.
 */
export interface NativeImpl {
  readonly name: string
  /** Single SHA-256 of `data`. */
  readonly sha256: (data: Uint8Array) => Buffer
  /** SHA-256(SHA-256(data)), 32 bytes in internal (hash) byte order. */
  readonly sha256d: (data: Uint8Array) => Buffer
  /**
   * Stratum merkle root: `h = leaf; for each b in branch: h = sha256d(h || b)`.
   * `branch` is the branch hashes concatenated (32 * k bytes, internal order).
   */
  readonly merkleRoot: (leaf: Uint8Array, branch: Uint8Array) => Buffer
  /**
   * Batch header check. `headers` is N * 80 bytes, `targets` N * 32 bytes
   * (little-endian 256-bit numbers, the same byte order as the hashes).
   * Writes N hashes into `outHashes` (N * 32) and 1/0 into `outOk` (N) for
   * hash <= target. Returns how many met their target. The outputs must not
   * overlap the inputs or each other (RangeError).
   */
  readonly checkHeaders: (headers: Uint8Array, targets: Uint8Array, outHashes: Uint8Array, outOk: Uint8Array) => number
  /**
   * Scans nonces `start .. start + count - 1` (bytes 76-79, little-endian) of
   * an 80-byte header with a midstate; returns, ascending, at most
   * `maxResults` nonces whose sha256d is <= `target` (32 bytes, little-endian).
   * `start` is 0..2^32-1, `count` 0..2^32 with start + count <= 2^32, and
   * `maxResults` 0..2^53-1, all integers (RangeError otherwise). It runs on
   * the calling thread, so `count` bounds how long it blocks.
   */
  readonly scanNonces: (header: Uint8Array, start: number, count: number, target: Uint8Array, maxResults: number) => number[]
}

/** The addon's exports. */
export interface NativeAddon {
  /** Implementations this CPU supports, keyed by name. `generic` is always there. */
  readonly implementations: Readonly<Record<string, NativeImpl>>
  /** The name of the implementation the addon judges fastest on this CPU. */
  readonly best: string
  /** CPU features found by cpuid (and OS support for the wide registers). */
  readonly cpu: Readonly<{ shani: boolean; avx2: boolean; avx512: boolean }>
  /**
   * Not hashing: the block-change fan-out's batched write (native/fanout.cc,
   * src/server/fanout.ts). One non-blocking send of `data` to each of `fds`,
   * split over up to `threads` threads (1..64); `results[i]` gets the bytes
   * taken or -errno. Returns how many fds took all of `data`. Absent from
   * addons built before it.
   */
  readonly writeToMany?: (fds: Int32Array, data: Uint8Array, results: Int32Array, threads: number) => number
}

/** Where node-gyp puts the addon, relative to the package root. */
const ADDON_FILE = join('build', 'Release', 'headframe_sha256.node')

/**
 * Loads the addon. Throws (with the path tried) when it is missing or fails
 * to load; `hasher.ts` turns that into the node:crypto fallback.
 */
export function loadNativeAddon(): NativeAddon {
  const require = createRequire(import.meta.url)
  return require(join(PACKAGE_ROOT, ADDON_FILE)) as NativeAddon
}
