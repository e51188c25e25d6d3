/**
 * The hasher seam: the one place that chooses how Headframe hashes.
 *
 * By default the native addon's fastest implementation for this CPU
 * (SHA-NI, AVX2, AVX-512 or portable C++); if the addon is missing or does
 * not load, node:crypto with the same interface. Two environment variables
 * override the choice (the way ws honours WS_NO_BUFFER_UTIL):
 *
 * - `HEADFRAME_HASHER=auto|native|js`: backend (`native` fails instead of
 *   falling back).
 * - `HEADFRAME_SHA256=auto|generic|shani|avx2|avx512`: native implementation;
 *   one this CPU lacks is an error, not a silent downgrade.
 *
 * The choice and its reason are logged at start and shown in the stats API.
 */
import { HasherError } from '../errors.js'
import { jsImpl } from './js-hasher.js'
import { loadNativeAddon, type NativeAddon, type NativeImpl } from './native-addon.js'

export type HasherBackend = 'native' | 'js'

/** Every native implementation name the addon may offer. */
export const NATIVE_IMPLEMENTATIONS = ['generic', 'shani', 'avx2', 'avx512'] as const

/** A chosen hasher: the hashing functions plus what was chosen and why. */
export interface Hasher extends NativeImpl {
  readonly backend: HasherBackend
  /** The implementation's name: `shani`, `avx2`, ..., or `node:crypto`. */
  readonly implementation: string
  /** Why this one (auto-detected, forced by env, fallback after a load error). */
  readonly reason: string
  /** Native implementations this machine offers (empty when the addon did not load). */
  readonly available: readonly string[]
}

/** The environment variables the choice reads. */
export interface HasherEnv {
  readonly HEADFRAME_HASHER?: string | undefined
  readonly HEADFRAME_SHA256?: string | undefined
}

/**
 * Chooses the hasher. `env` defaults to `process.env`: this is the only
 * module that reads those variables. `load` is injectable for tests.
 */
export function selectHasher(env: HasherEnv = process.env, load: () => NativeAddon = loadNativeAddon): Hasher {
  const backend = normalise(env.HEADFRAME_HASHER)
  if (backend !== 'auto' && backend !== 'native' && backend !== 'js') {
    throw new HasherError('HF_HASHER_ENV', `HEADFRAME_HASHER=${String(env.HEADFRAME_HASHER)}: expected auto, native or js`)
  }
  const wanted = normalise(env.HEADFRAME_SHA256)
  if (wanted !== 'auto' && !(NATIVE_IMPLEMENTATIONS as readonly string[]).includes(wanted)) {
    throw new HasherError(
      'HF_HASHER_ENV',
      `HEADFRAME_SHA256=${String(env.HEADFRAME_SHA256)}: expected auto, ${NATIVE_IMPLEMENTATIONS.join(', ')}`,
    )
  }
  if (backend === 'js') return makeHasher(jsImpl, 'js', 'forced by HEADFRAME_HASHER=js', [])

  let addon: NativeAddon
  try {
    addon = load()
  } catch (err) {
    if (backend === 'native') {
      throw new HasherError('HF_HASHER_UNAVAILABLE', `HEADFRAME_HASHER=native but the addon did not load: ${(err as Error).message}`, {
        cause: err,
      })
    }
    return makeHasher(jsImpl, 'js', `native addon did not load (${(err as Error).message}); using node:crypto`, [])
  }

  const available = Object.keys(addon.implementations)
  if (wanted === 'auto') {
    const impl = addon.implementations[addon.best]
    if (impl === undefined) throw new HasherError('HF_HASHER_UNAVAILABLE', `the addon's best implementation ${addon.best} is missing`)
    return makeHasher(impl, 'native', `auto-detected (cpu: ${cpuSummary(addon)})`, available)
  }
  const impl = addon.implementations[wanted]
  if (impl === undefined) {
    throw new HasherError(
      'HF_HASHER_UNAVAILABLE',
      `HEADFRAME_SHA256=${wanted}: this CPU does not support it (available: ${available.join(', ')})`,
    )
  }
  return makeHasher(impl, 'native', `forced by HEADFRAME_SHA256=${wanted}`, available)
}

function normalise(value: string | undefined): string {
  return value === undefined || value.trim() === '' ? 'auto' : value.trim().toLowerCase()
}

function cpuSummary(addon: NativeAddon): string {
  const has = Object.entries(addon.cpu)
    .filter(([, yes]) => yes)
    .map(([name]) => name)
  return has.length === 0 ? 'no SIMD hashing features' : has.join(', ')
}

/** Copies the function references (no wrapper on the share path). */
function makeHasher(impl: NativeImpl, backend: HasherBackend, reason: string, available: readonly string[]): Hasher {
  return Object.freeze({
    name: impl.name,
    sha256: impl.sha256,
    sha256d: impl.sha256d,
    merkleRoot: impl.merkleRoot,
    checkHeaders: impl.checkHeaders,
    scanNonces: impl.scanNonces,
    backend,
    implementation: impl.name,
    reason,
    available: Object.freeze([...available]),
  })
}
