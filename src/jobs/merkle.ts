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
  while (level.length > 1) level = parents(level, 0, sha256d)
  return level[0] as Buffer
}

/**
 * The branch for leaf 0 given the other leaves (`txids` = every transaction
 * hash but the coinbase's, in block order). Empty for a coinbase-only block.
 */
export function coinbaseMerkleBranch(txids: readonly Uint8Array[], sha256d: Sha256d): Buffer[] {
  const branch: Buffer[] = []
  // Each level starts with a placeholder for the coinbase's side, whose hash
  // is not known yet: leaf 0's sibling at each level never depends on it.
  let level: Buffer[] = [Buffer.alloc(0), ...txids.map((id) => Buffer.from(id))]
  while (level.length > 1) {
    branch.push(level[1] as Buffer)
    level = [Buffer.alloc(0), ...parents(level, 2, sha256d)]
  }
  return branch
}

/** The parents of `level[from..]`, pairwise; an odd last node is paired with itself. */
function parents(level: readonly Buffer[], from: number, sha256d: Sha256d): Buffer[] {
  const pair = Buffer.allocUnsafe(64)
  const next: Buffer[] = []
  for (let i = from; i < level.length; i += 2) {
    const left = level[i] as Buffer
    const right = level[i + 1] ?? left
    left.copy(pair, 0)
    right.copy(pair, 32)
    next.push(sha256d(pair))
  }
  return next
}
