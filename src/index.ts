/** Headframe's public modules, for embedding and for scripts. */
export * from './errors.js'
export * from './config/index.js'
export { startPool, type Pool, type PoolOptions } from './app.js'
export { selectHasher, NATIVE_IMPLEMENTATIONS, type Hasher, type HasherBackend, type HasherEnv } from './shares/hasher.js'
export type { NativeImpl, NativeAddon } from './shares/native-addon.js'
export { coinbaseMerkleBranch, merkleTreeRoot } from './jobs/merkle.js'
