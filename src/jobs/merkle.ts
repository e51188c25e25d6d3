/**
 * Merkle trees as Bitcoin builds them (hashes in internal byte order, an odd
 * level duplicates its last node) and the coinbase branch a Stratum job
 * carries: the siblings on the path from leaf 0 to the root, so a miner (or
 * the share check) computes the root from the coinbase hash alone with
 * `merkleRoot(coinbaseHash, branch)`.
 */

/** sha256d of 64 bytes; pass the hasher's `sha256d`. */
export type Sha256d = (data: Uint8Array) => Buffer

/** The merkle root of `leaves` (at least one; 32 bytes each). */
export function merkleTreeRoot(leaves: readonly Uint8Array[], sha256d: Sha256d): Buffer {
  if (leaves.length === 0) throw new RangeError('merkleTreeRoot: no leaves')
  let level: Buffer[] = leaves.map((leaf) => Buffer.from(leaf))
  const pair = Buffer.allocUnsafe(64)
  while (level.length > 1) {
    const next: Buffer[] = []
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Buffer
      const right = level[i + 1] ?? left
      left.copy(pair, 0)
      right.copy(pair, 32)
      next.push(sha256d(pair))
    }
    level = next
  }
  return level[0] as Buffer
}

/**
 * The branch for leaf 0 given the other leaves (`txids` = every transaction
 * hash but the coinbase's, in block order). Empty for a coinbase-only block.
 */
export function coinbaseMerkleBranch(txids: readonly Uint8Array[], sha256d: Sha256d): Buffer[] {
  const branch: Buffer[] = []
  // Level 0 with a placeholder for the coinbase, whose hash is not known yet:
  // leaf 0's sibling at each level never depends on leaf 0.
  let level: (Buffer | null)[] = [null, ...txids.map((id) => Buffer.from(id))]
  const pair = Buffer.allocUnsafe(64)
  while (level.length > 1) {
    const sibling = level[1] as Buffer
    branch.push(sibling)
    const next: (Buffer | null)[] = [null]
    for (let i = 2; i < level.length; i += 2) {
      const left = level[i] as Buffer
      const right = level[i + 1] ?? left
      left.copy(pair, 0)
      right.copy(pair, 32)
      next.push(sha256d(pair))
    }
    level = next
  }
  return branch
}
