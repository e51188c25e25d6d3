/**
 * Loads the compiled SHA-256d addon (`build/Release/headframe_sha256.node`).
 *
 * This module only finds and loads the binary and describes its shape; the
 * choice between native and node:crypto lives in `hasher.ts`.
 */
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** One native SHA-256 implementation (generic, SHA-NI, AVX2, AVX-512). */
export interface NativeImpl {
  readonly name: string
  /** Single SHA-256 of `data`. */
  sha256(data: Uint8Array): Buffer
  /** SHA-256(SHA-256(data)), 32 bytes in internal (hash) byte order. */
  sha256d(data: Uint8Array): Buffer
  /**
   * Stratum merkle root: `h = leaf; for each b in branch: h = sha256d(h || b)`.
   * `branch` is the branch hashes concatenated (32 * k bytes, internal order).
   */
  merkleRoot(leaf: Uint8Array, branch: Uint8Array): Buffer
  /**
   * Batch header check. `headers` is N * 80 bytes, `targets` N * 32 bytes
   * (little-endian 256-bit numbers, the same byte order as the hashes).
   * Writes N hashes into `outHashes` (N * 32) and 1/0 into `outOk` (N) for
   * hash <= target. Returns how many met their target.
   */
  checkHeaders(headers: Uint8Array, targets: Uint8Array, outHashes: Uint8Array, outOk: Uint8Array): number
  /**
   * Scans nonces `start .. start + count - 1` (bytes 76-79, little-endian) of
   * an 80-byte header with a midstate; returns, ascending, at most
   * `maxResults` nonces whose sha256d is <= `target` (32 bytes, little-endian).
   */
  scanNonces(header: Uint8Array, start: number, count: number, target: Uint8Array, maxResults: number): number[]
}

/** The addon's exports. */
export interface NativeAddon {
  /** Implementations this CPU supports, keyed by name. `generic` is always there. */
  readonly implementations: Readonly<Record<string, NativeImpl>>
  /** The name of the implementation the addon judges fastest on this CPU. */
  readonly best: string
  /** CPU features found by cpuid (and OS support for the wide registers). */
  readonly cpu: Readonly<{ shani: boolean; avx2: boolean; avx512: boolean }>
}

const ADDON_FILE = join('build', 'Release', 'headframe_sha256.node')

/** Finds the package root (the folder holding package.json and binding.gyp). */
function packageRoot(from: string): string | undefined {
  let dir = from
  for (;;) {
    if (existsSync(join(dir, 'binding.gyp')) && existsSync(join(dir, 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/**
 * Loads the addon. Throws (with the path tried) when it is missing or fails
 * to load; `hasher.ts` turns that into the node:crypto fallback.
 */
export function loadNativeAddon(): NativeAddon {
  const here = dirname(fileURLToPath(import.meta.url))
  const root = packageRoot(here)
  if (root === undefined) throw new Error(`cannot find the package root above ${here}`)
  const file = join(root, ADDON_FILE)
  const require = createRequire(import.meta.url)
  return require(file) as NativeAddon
}
