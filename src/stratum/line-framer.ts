/**
 * Line framing for a Stratum byte stream: bytes in, complete lines out, and
 * never more than one line's worth of memory held per session.
 *
 * - LF ends a line; a CR before it is dropped (CRLF); lines that are empty
 *   or only whitespace are skipped.
 * - Lines are decoded as UTF-8 only once complete, so a chunk boundary
 *   inside a multi-byte character or between CR and LF is harmless (0x0A
 *   never occurs inside a multi-byte UTF-8 sequence).
 * - A line longer than `maxLineBytes` (terminator not counted) is an
 *   overflow: the result says so, and the framer accepts nothing more. The
 *   session answers `line-too-long` and closes. A 10 MB chunk without a
 *   newline is refused on sight, never copied.
 * - The common case, whole lines inside one chunk, copies nothing: each line
 *   is decoded straight from the chunk. Only a partial line is copied, into
 *   one owned buffer that grows by doubling up to the limit and is released
 *   once the line is complete, so a miner sending one byte at a time
 *   (slowloris) costs O(1) per byte and at most `maxLineBytes + 1` bytes,
 *   and a session between lines holds no buffer.
 */

/** Default longest line, in bytes (the `stratum.max_line_bytes` default). */
export const DEFAULT_MAX_LINE_BYTES = 16384

/** Options of a `LineFramer`. */
export interface LineFramerOptions {
  /** Longest line accepted, in bytes, terminator not counted. Default `DEFAULT_MAX_LINE_BYTES`. */
  readonly maxLineBytes?: number
}

/** What one `push` produced. */
export interface FramedLines {
  /** Complete, non-blank lines, without terminators, in order. */
  readonly lines: string[]
  /** A line went over the limit: `lines` holds those before it; drop the connection. */
  readonly overflow: boolean
}

const LF = 0x0a
const CR = 0x0d
/** First size of the partial-line buffer. */
const INITIAL_CAPACITY = 256

/** True when a line holds nothing but whitespace (usually false at index 0: lines start with `{`). */
function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i)
    if (c !== 0x20 && c !== 0x09 && c !== CR && c !== 0x0b && c !== 0x0c) return false
  }
  return true
}

/** Splits a byte stream into lines (see the module comment). One per connection. */
export class LineFramer {
  /** Longest line accepted, in bytes. */
  readonly maxLineBytes: number
  #partial: Buffer | null = null
  #partialLength = 0
  #overflowed = false

  constructor(options: LineFramerOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`LineFramer: maxLineBytes must be a positive integer, got ${String(max)}`)
    this.maxLineBytes = max
  }

  /** True once a line went over the limit; every later `push` reports overflow again. */
  get overflowed(): boolean {
    return this.#overflowed
  }

  /** Bytes of the partial line held now. */
  get bufferedBytes(): number {
    return this.#partialLength
  }

  /** Size of the buffer held for a partial line (0 when no line is pending). */
  get heldBytes(): number {
    return this.#partial?.length ?? 0
  }

  /** Feed the next chunk of the stream. */
  push(chunk: Uint8Array): FramedLines {
    const lines: string[] = []
    if (this.#overflowed) return { lines, overflow: true }
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let start = 0
    for (let nl = bytes.indexOf(LF, start); nl >= 0; nl = bytes.indexOf(LF, start)) {
      if (!this.#completeLine(bytes, start, nl, lines)) return this.#overflow(lines)
      start = nl + 1
    }
    if (start < bytes.length && !this.#keepPartial(bytes, start)) return this.#overflow(lines)
    return { lines, overflow: false }
  }

  /** The line made of the partial line and bytes[start, end), end at an LF. False on overflow. */
  #completeLine(bytes: Buffer, start: number, end: number, lines: string[]): boolean {
    if (this.#partialLength === 0) {
      const stop = end > start && bytes[end - 1] === CR ? end - 1 : end
      if (stop - start > this.maxLineBytes) return false
      if (stop > start) this.#emit(bytes.toString('utf8', start, stop), lines)
      return true
    }
    const total = this.#partialLength + (end - start)
    // The CR of a CRLF may be the last byte buffered, the LF first in this chunk.
    const last = end > start ? bytes[end - 1] : (this.#partial as Buffer)[this.#partialLength - 1]
    const length = last === CR ? total - 1 : total
    if (length > this.maxLineBytes) return false
    const partial = this.#reserve(total)
    bytes.copy(partial, this.#partialLength, start, end)
    this.#emit(partial.toString('utf8', 0, length), lines)
    this.#partialLength = 0
    // Released with its line: an idle session holds no buffer. Kept, one
    // split line would cost the session ~500 bytes (buffer, ArrayBuffer,
    // backing store) for good; a split line is rare enough to allocate anew.
    this.#partial = null
    return true
  }

  /** Buffer bytes[start..] as the start of a line. False on overflow. */
  #keepPartial(bytes: Buffer, start: number): boolean {
    const total = this.#partialLength + (bytes.length - start)
    // One byte of slack: a full-length line whose CR arrived without its LF.
    if (total > this.maxLineBytes + 1 || (total === this.maxLineBytes + 1 && bytes[bytes.length - 1] !== CR)) return false
    const partial = this.#reserve(total)
    bytes.copy(partial, this.#partialLength, start)
    this.#partialLength = total
    return true
  }

  /** The partial-line buffer with room for `size` bytes (size <= maxLineBytes + 1). */
  #reserve(size: number): Buffer {
    const current = this.#partial
    if (current !== null && current.length >= size) return current
    const capacity = Math.min(Math.max(INITIAL_CAPACITY, size, (current?.length ?? 0) * 2), this.maxLineBytes + 1)
    // allocUnsafeSlow: a buffer of our own, not a slice pinning a shared 8 KiB pool slab.
    const grown = Buffer.allocUnsafeSlow(capacity)
    if (current !== null) current.copy(grown, 0, 0, this.#partialLength)
    this.#partial = grown
    return grown
  }

  #emit(line: string, lines: string[]): void {
    if (!isBlank(line)) lines.push(line)
  }

  #overflow(lines: string[]): FramedLines {
    this.#overflowed = true
    this.#partial = null
    this.#partialLength = 0
    return { lines, overflow: true }
  }
}

/**
 * True when the first bytes of a connection are a TLS handshake record (a
 * ClientHello) rather than JSON. bfgminer opens a TLS handshake on every
 * connect before falling back to plain JSON (STRATUM-NOTES): close such a
 * connection quietly and do not count it against the address.
 *
 * Checks as many bytes as arrived: record type 0x16 (handshake), protocol
 * major version 3 (SSL 3.0 to TLS 1.3 all write 3 here), minor 0-4, and
 * handshake type 1 (ClientHello) at offset 5. JSON never starts with 0x16.
 */
export function looksLikeTlsHello(firstChunk: Uint8Array): boolean {
  const n = firstChunk.length
  if (n === 0 || firstChunk[0] !== 0x16) return false
  if (n > 1 && firstChunk[1] !== 0x03) return false
  if (n > 2 && (firstChunk[2] as number) > 0x04) return false
  return n <= 5 || firstChunk[5] === 0x01
}
