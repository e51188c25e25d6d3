/**
 * The block-change fan-out's batched write: one `mining.notify` line to
 * thousands of sessions in one native call (the addon's `writeToMany`,
 * native/fanout.cc), spread over a few threads, instead of one
 * `socket.write` per session on the event loop (docs/benchmarks.md, "Block
 * change to mining.notify").
 *
 * Only sockets where that is safe and ordered join a batch: plain TCP (a TLS
 * socket's bytes must go through its TLS layer), connected and writable, with
 * nothing queued in Node or libuv (`writableLength` and the handle's
 * `writeQueueSize` both 0) and, on the session's side, nothing gathered for
 * a later write this tick (session.ts checks that before adding). Everything
 * else keeps `socket.write`. What the kernel did not take for a socket (a
 * short write, EAGAIN, an error) goes through that session's `socket.write`
 * right after the native call, behind the bytes that were taken, so the
 * miner sees the same bytes in the same order as without the batch, and a
 * dead peer is found by libuv as before.
 *
 * Why writing to an fd libuv owns is safe here: libuv only writes to a
 * socket when its write queue is non-empty (or when Node asks, from this
 * thread), and only closes it from this thread. The batch takes sockets
 * whose queues are empty, and the main thread is blocked in `writeToMany`
 * until every send has returned, so nothing else touches those fds
 * meanwhile; a send on an empty queue is exactly what libuv does first for
 * each write (`uv_try_write`). An fd is taken when its session is added and
 * used at the next chunk's call, within the same synchronous fan-out loop: a
 * session closed in between (slow-reader, in an earlier chunk's
 * `finishNotify`) frees its own fd only, and nothing opens a new one before
 * the loop ends (accepts run in a later event-loop turn), so no fd number is
 * reused under a batch.
 */
import { availableParallelism } from 'node:os'
import type { Socket } from 'node:net'
import { loadNativeAddon, type NativeAddon } from '../shares/native-addon.js'

/** The addon's batched write (native/fanout.cc): per fd, the bytes taken or -errno; returns how many took everything. */
export type WriteToMany = (fds: Int32Array, data: Uint8Array, results: Int32Array, threads: number) => number

/** A session in a batch: gets what the kernel did not take, to write through its own queue. */
export interface FanoutTarget {
  finishNotify(rest: Uint8Array): void
}

/**
 * Threads by default: half the cores, 1 to 4. On the 2-core VM a second
 * thread made the last write sooner but the last miner's read later (the
 * bench's client generator lost its core; docs/benchmarks.md), so 1 there.
 */
export const DEFAULT_FANOUT_THREADS = Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)))

/**
 * A batch writes as soon as it holds this many sockets (one thread), not
 * only at the end of the fan-out loop: the first miners get the line after
 * the loop's bookkeeping for a few hundred sessions (well under 1 ms), not
 * for all of them.
 */
export const CHUNK = 256

/**
 * With threads, this many sockets per thread and call: the addon makes its
 * threads per call (18-67 µs each on the VM), against about 7 ms of sends
 * for 1,024 sockets.
 */
export const CHUNK_PER_THREAD = 1024

interface RawHandle {
  fd?: unknown
  writeQueueSize?: unknown
}

/**
 * The socket's fd when a batch may write to it directly (see the module
 * comment), else -1.
 */
export function batchableFd(socket: Socket): number {
  if ((socket as Socket & { encrypted?: boolean }).encrypted === true) return -1
  if (socket.writableLength !== 0 || !socket.writable || socket.connecting || socket.destroyed) return -1
  const handle = (socket as Socket & { _handle?: RawHandle | null })._handle
  if (handle === null || handle === undefined) return -1
  if (handle.writeQueueSize !== undefined && handle.writeQueueSize !== 0) return -1
  const fd = handle.fd
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : -1
}

/** One fan-out's batch, reused from block to block; it writes every `chunk` sockets and at `flush`. */
export class FanoutBatch {
  private readonly fds: Int32Array
  private readonly results: Int32Array
  private targets: FanoutTarget[] = []
  private sockets: Socket[] = []
  private count = 0
  private line = ''
  private data: Buffer = Buffer.alloc(0)

  /** Sockets per native call. */
  readonly chunk: number

  constructor(
    private readonly writeToMany: WriteToMany,
    readonly threads: number,
  ) {
    this.chunk = threads > 1 ? CHUNK_PER_THREAD * threads : CHUNK
    this.fds = new Int32Array(this.chunk)
    this.results = new Int32Array(this.chunk)
  }

  /** Starts a batch for `line`. */
  begin(line: string): this {
    if (this.count !== 0) this.flush()
    this.line = line
    this.data = Buffer.from(line)
    return this
  }

  /** Sockets added and not yet written. */
  get pending(): number {
    return this.count
  }

  /**
   * Adds a session whose next bytes are `line` (the batch's), through its
   * `socket`. False when it must write itself (another line, TLS, queued
   * output, no fd): the caller then writes as usual.
   */
  add(target: FanoutTarget, socket: Socket, line: string): boolean {
    if (line !== this.line) return false
    const fd = batchableFd(socket)
    if (fd < 0) return false
    this.fds[this.count] = fd
    this.targets[this.count] = target
    this.sockets[this.count] = socket
    if (++this.count >= this.chunk) this.flush()
    return true
  }

  /**
   * Writes the line to every socket added, then hands each what it did not
   * take (all of it on an error) to write through its queue. Returns how many
   * took the whole line.
   */
  flush(): number {
    const count = this.count
    if (count === 0) return 0
    this.count = 0
    const data = this.data
    const results = this.results
    const fds = this.fds
    const sockets = this.sockets
    // Checked again right before the sends: a socket closed or written to
    // since it was added (nothing in the fan-out loop does either today)
    // gets -EBADF here and writes itself, never a send to an fd it no longer owns.
    for (let i = 0; i < count; i++) {
      if (batchableFd(sockets[i] as Socket) !== fds[i]) fds[i] = -1
    }
    let whole = count
    try {
      whole = this.writeToMany(this.fds.subarray(0, count), data, results.subarray(0, count), this.threads)
    } catch {
      // Cannot happen with the arguments built here; if it does, nothing was written: every session writes itself.
      results.fill(-1, 0, count)
      whole = 0
    }
    const targets = this.targets
    for (let i = 0; i < count; i++) {
      const taken = results[i] as number
      const target = targets[i] as FanoutTarget
      if (taken !== data.length) target.finishNotify(taken > 0 ? data.subarray(taken) : data)
    }
    targets.length = 0
    sockets.length = 0
    return whole
  }
}

/**
 * The batched fan-out writer, or undefined (and why): when the operator
 * turned it off (`HEADFRAME_FANOUT=off`, or `HEADFRAME_HASHER=js`, the
 * documented way to run without the addon), or the addon is missing or
 * predates `writeToMany`. The server then writes every session through
 * `socket.write`. `load` and `env` are injectable for tests.
 */
export function selectFanoutWriter(
  load: () => NativeAddon = loadNativeAddon,
  env: { readonly HEADFRAME_FANOUT?: string | undefined; readonly HEADFRAME_HASHER?: string | undefined } = process.env,
): { writer: WriteToMany | undefined; reason: string } {
  const wanted = (env.HEADFRAME_FANOUT ?? 'auto').trim().toLowerCase()
  if (wanted === 'off') return { writer: undefined, reason: 'off (HEADFRAME_FANOUT=off): socket.write per session' }
  if (wanted !== 'auto' && wanted !== '') return { writer: undefined, reason: `HEADFRAME_FANOUT=${wanted} is not auto or off: socket.write per session` }
  if ((env.HEADFRAME_HASHER ?? '').trim().toLowerCase() === 'js') return { writer: undefined, reason: 'off (HEADFRAME_HASHER=js: no addon): socket.write per session' }
  let addon: NativeAddon
  try {
    addon = load()
  } catch (err) {
    return { writer: undefined, reason: `native addon did not load (${(err as Error).message}): socket.write per session` }
  }
  if (typeof addon.writeToMany !== 'function') return { writer: undefined, reason: 'the addon has no writeToMany: socket.write per session' }
  return { writer: addon.writeToMany, reason: 'native writeToMany' }
}
