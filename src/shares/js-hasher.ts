/**
 * The node:crypto fallback: the same `NativeImpl` interface as the addon,
 * for machines where the addon is missing or will not load. About 30x
 * slower per hash (docs/benchmarks.md), still correct.
 *
 * Argument checks mirror the addon's so callers see the same errors.
 */
import { createHash } from 'node:crypto'
import type { NativeImpl } from './native-addon.js'

const MAX_NONCE_END = 2 ** 32

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(bytes(data, 'sha256', 'data')).digest()
}

function sha256d(data: Uint8Array): Buffer {
  const first = createHash('sha256').update(bytes(data, 'sha256d', 'data')).digest()
  return createHash('sha256').update(first).digest()
}

function merkleRoot(leaf: Uint8Array, branch: Uint8Array): Buffer {
  bytesOfLength(leaf, 32, 'merkleRoot', 'leaf')
  multipleOf(branch, 32, 'merkleRoot', 'branch')
  let node: Buffer = Buffer.from(leaf)
  const pair = Buffer.allocUnsafe(64)
  for (let at = 0; at < branch.length; at += 32) {
    node.copy(pair, 0)
    pair.set(branch.subarray(at, at + 32), 32)
    node = sha256d(pair)
  }
  return node
}

function checkHeaders(headers: Uint8Array, targets: Uint8Array, outHashes: Uint8Array, outOk: Uint8Array): number {
  multipleOf(headers, 80, 'checkHeaders', 'headers')
  const n = headers.length / 80
  bytesOfLength(targets, n * 32, 'checkHeaders', 'targets')
  bytesOfLength(outHashes, n * 32, 'checkHeaders', 'outHashes')
  bytesOfLength(outOk, n, 'checkHeaders', 'outOk')
  let ok = 0
  for (let i = 0; i < n; i++) {
    const hash = sha256d(headers.subarray(i * 80, i * 80 + 80))
    outHashes.set(hash, i * 32)
    const pass = hashMeetsTarget(hash, targets.subarray(i * 32, i * 32 + 32))
    outOk[i] = pass ? 1 : 0
    if (pass) ok++
  }
  return ok
}

function scanNonces(header: Uint8Array, start: number, count: number, target: Uint8Array, maxResults: number): number[] {
  bytesOfLength(header, 80, 'scanNonces', 'header')
  bytesOfLength(target, 32, 'scanNonces', 'target')
  uint32(start, 'scanNonces', 'start')
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`scanNonces: count ${String(count)} is not a non-negative integer`)
  if (start + count > MAX_NONCE_END) throw new RangeError(`scanNonces: start + count (${start + count}) exceeds 2^32`)
  uint32(maxResults, 'scanNonces', 'maxResults')
  const work = Buffer.from(header)
  const found: number[] = []
  for (let nonce = start; nonce < start + count && found.length < maxResults; nonce++) {
    work.writeUInt32LE(nonce, 76)
    if (hashMeetsTarget(sha256d(work), target)) found.push(nonce)
  }
  return found
}

/** hash <= target, both 32-byte little-endian numbers. */
export function hashMeetsTarget(hash: Uint8Array, target: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const h = hash[i] as number
    const t = target[i] as number
    if (h !== t) return h < t
  }
  return true
}

function bytes(value: unknown, fn: string, arg: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${fn}: ${arg} must be a Buffer or Uint8Array`)
  return value
}

function bytesOfLength(value: unknown, length: number, fn: string, arg: string): void {
  const b = bytes(value, fn, arg)
  if (b.length !== length) throw new RangeError(`${fn}: ${arg} length ${b.length} is not ${length}`)
}

function multipleOf(value: unknown, unit: number, fn: string, arg: string): void {
  const b = bytes(value, fn, arg)
  if (b.length % unit !== 0) throw new RangeError(`${fn}: ${arg} length ${b.length} is not a multiple of ${unit}`)
}

function uint32(value: unknown, fn: string, arg: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= MAX_NONCE_END) {
    throw new RangeError(`${fn}: ${arg} ${String(value)} is not an integer 0..2^32-1`)
  }
}

/** The fallback implementation. */
export const jsImpl: NativeImpl = Object.freeze({
  name: 'node:crypto',
  sha256,
  sha256d,
  merkleRoot,
  checkHeaders,
  scanNonces,
})
