/**
 * A minimal parser of serialized blocks (tests only): enough to split a
 * block into its header and its transactions, with or without witness data
 * (BIP 144), to compute txids.
 */

export interface ParsedTx {
  /** The transaction bytes without witness data (what the txid hashes). */
  readonly stripped: Buffer
}

export interface ParsedBlock {
  readonly header: Buffer
  readonly txs: readonly ParsedTx[]
}

export function parseBlock(raw: Buffer): ParsedBlock {
  let at = 80
  const header = raw.subarray(0, 80)
  const readVarInt = (): number => {
    const first = raw[at++] as number
    if (first < 0xfd) return first
    if (first === 0xfd) { const v = raw.readUInt16LE(at); at += 2; return v }
    if (first === 0xfe) { const v = raw.readUInt32LE(at); at += 4; return v }
    const v = Number(raw.readBigUInt64LE(at)); at += 8; return v
  }
  // `at += readVarInt()` would add to the value of `at` read before the call.
  const skip = (n: number): void => { at += n }
  const count = readVarInt()
  const txs: ParsedTx[] = []
  for (let i = 0; i < count; i++) {
    const start = at
    at += 4 // version
    let segwit = false
    if (raw[at] === 0 && raw[at + 1] === 1) { segwit = true; at += 2 }
    const ioStart = at
    const nIn = readVarInt()
    for (let j = 0; j < nIn; j++) { at += 36; skip(readVarInt()); at += 4 }
    const nOut = readVarInt()
    for (let j = 0; j < nOut; j++) { at += 8; skip(readVarInt()) }
    const ioEnd = at
    if (segwit) for (let j = 0; j < nIn; j++) { const items = readVarInt(); for (let k = 0; k < items; k++) skip(readVarInt()) }
    at += 4 // locktime
    const stripped = segwit
      ? Buffer.concat([raw.subarray(start, start + 4), raw.subarray(ioStart, ioEnd), raw.subarray(at - 4, at)])
      : raw.subarray(start, at)
    txs.push({ stripped })
  }
  if (at !== raw.length) throw new Error(`block parse ended at ${at} of ${raw.length}`)
  return { header, txs }
}
