/**
 * The session fuzz target: a real `StratumServer` (its sessions, decoder,
 * share check, limits) fed hostile byte streams through an in-memory
 * socket, thousands of sessions a second, with no port and no timers.
 *
 * Each case is one connection: a stream built from request lines (valid,
 * mutated, wrong-typed, huge, deeply nested, random bytes, an over-long
 * line now and then), split into arbitrary chunks, with or without a final
 * newline. The properties:
 *
 * - nothing throws out of the session (a throw would reach the socket's
 *   'data' emitter, which in production is Node's stream machinery);
 * - everything written is whole lines, each one JSON object and one LF;
 * - every complete request line gets exactly one reply, in order, until the
 *   session closes itself, and every line that does not decode gets an
 *   error reply (never a result);
 * - a session that closes itself says why, with a reason from the list
 *   for misbehaviour, and is forgotten by the server (no leak);
 * - memory stays bounded: the partial line never holds more than
 *   `max_line_bytes + 1` bytes.
 */
import { EventEmitter } from 'node:events'
import fc from 'fast-check'
import { parseConfig } from '../src/config/index.js'
import { createLogger } from '../src/log.js'
import { selectHasher } from '../src/shares/hasher.js'
import { FixedDifficulty } from '../src/server/difficulty-control.js'
import { StratumServer } from '../src/server/stratum-server.js'
import type { Work } from '../src/jobs/work.js'
import { decodeRequest, LineFramer } from '../src/stratum/index.js'
import { regtestCase, regtestWork } from '../test/helpers/regtest.js'
import { anyLine, MINER_LINES } from './fuzz-inputs.js'
import { checkOutgoingLine, PropertyViolation, type FuzzTarget } from './fuzz-targets.js'

/** Close reasons a session may give itself on bad input (others come from the peer or the server). */
const SELF_CLOSE_REASONS = new Set(['line-too-long', 'tls-probe', 'garbage', 'auth-failures', 'banned', 'server-full', 'slow-reader'])

/** A socket in memory: what the session writes is kept; 'data' is emitted by the test. */
export class MemorySocket extends EventEmitter {
  readonly written: string[] = []
  readonly writableLength = 0
  destroyed = false
  ended = false

  constructor(readonly remoteAddress: string) {
    super()
  }

  setNoDelay(): this {
    return this
  }

  setKeepAlive(): this {
    return this
  }

  write(line: string): boolean {
    if (!this.destroyed && !this.ended) this.written.push(line)
    return true
  }

  end(): this {
    this.ended = true
    // Everything is "flushed" at once, as net.Socket says with 'finish'.
    queueMicrotask(() => this.emit('finish'))
    return this
  }

  pause(): this {
    return this
  }

  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true
      this.emit('close')
    }
    return this
  }
}

/** Real regtest work (the segwit-txs fixture), read from the package root so it also runs from dist/. */
export function fixtureWork(): Work {
  return regtestWork(regtestCase('segwit-txs'), { source: 'fuzz', nbits: 0x1703a30c }) // mainnet-like nbits: no fuzzed share is ever a block
}

interface SessionInput {
  /** Lines before framing; '$JOB' is replaced by the current job id. */
  readonly lines: string[]
  /** LF, CRLF, or nothing after each line (index into TERMINATORS, modulo). */
  readonly terminators: number[]
  /** Chunk sizes the stream is cut into (cycled). */
  readonly cuts: number[]
  /** Prepend a real handshake so later lines reach the authorized state. */
  readonly handshake: boolean
  /** Append one line longer than the limit. */
  readonly longLine: boolean
}

const TERMINATORS = ['\n', '\n', '\r\n', '\n\n', ' \n']

const HANDSHAKE = ['{"id":1,"method":"mining.subscribe","params":["fuzz/1.0"]}', '{"id":2,"method":"mining.authorize","params":["acct.rig","x"]}']
const SUBMIT = '{"id":9,"method":"mining.submit","params":["acct.rig","$JOB","0000000000000000","6b09bced","2a3b4c5d"]}'

const lineArb = fc.oneof({ arbitrary: anyLine, weight: 6 }, { arbitrary: fc.constant(SUBMIT), weight: 1 }, { arbitrary: fc.constantFrom(...MINER_LINES), weight: 1 })

/** Runs cases against one server (made on first use, closed by `close`). */
class SessionFuzzer implements FuzzTarget<SessionInput> {
  readonly name = 'stratum-session'
  readonly ciRuns = 3_000
  readonly async = true
  readonly arbitrary: fc.Arbitrary<SessionInput> = fc.record({
    lines: fc.array(lineArb, { maxLength: 24 }),
    terminators: fc.array(fc.nat({ max: TERMINATORS.length - 1 }), { minLength: 1, maxLength: 24 }),
    cuts: fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 8 }),
    handshake: fc.boolean(),
    longLine: fc.constantFrom(false, false, false, true),
  })

  private server: StratumServer | undefined
  private nextAddress = 0
  /** Cases run and complete request lines fed, for the report. */
  readonly stats = { cases: 0, lines: 0, closedByServer: 0 }

  private ensureServer(): StratumServer {
    if (this.server !== undefined) return this.server
    const config = parseConfig({ stratum: { host: '127.0.0.1', max_line_bytes: 4096 } }).stratum
    const server = new StratumServer({
      config: { ...config, port: 0 },
      hasher: selectHasher({}),
      log: createLogger({ level: 'silent' }),
      // Low enough that some random submits are accepted shares, so the accept path is fuzzed too.
      difficulty: () => new FixedDifficulty(1e-9, 1e-12, 1e15),
      clock: () => 1_800_000_000_000,
    })
    const work = fixtureWork()
    server.attachSource({
      name: 'fuzz',
      start: async () => {},
      stop: async () => {},
      onWork: () => () => {},
      current: () => work,
      submitBlock: async () => ({ accepted: true }),
    })
    this.server = server
    return server
  }

  async check(input: SessionInput): Promise<void> {
    const server = this.ensureServer()
    const jobId = server.currentJob()?.id ?? 'none'
    const lines = [...(input.handshake ? HANDSHAKE : []), ...input.lines].map((l) => l.replaceAll('$JOB', jobId))
    let text = lines.map((l, i) => l + (TERMINATORS[(input.terminators[i % input.terminators.length] as number) % TERMINATORS.length] as string)).join('')
    if (input.longLine) text += `{"id":1,"method":"${'x'.repeat(server.config.max_line_bytes)}"}\n`
    const stream = Buffer.from(text, 'utf8')

    // A fresh address per case: bans earned by one case must not refuse the next.
    const n = this.nextAddress++
    const socket = new MemorySocket(`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`)
    const before = server.sessions.size
    ;(server as unknown as { accept(s: unknown, tls: boolean): void }).accept(socket, false)
    const session = [...server.sessions].at(-1)
    if (session === undefined || server.sessions.size !== before + 1) throw new PropertyViolation('the server refused a fresh address')
    const framer = (session as unknown as { framer: LineFramer }).framer

    try {
      let at = 0
      for (let c = 0; at < stream.length; c++) {
        const size = input.cuts[c % input.cuts.length] as number
        socket.emit('data', stream.subarray(at, at + size))
        at += size
        if (framer.bufferedBytes > server.config.max_line_bytes + 1) throw new PropertyViolation(`the partial line holds ${framer.bufferedBytes} bytes`)
      }
    } catch (err) {
      if (err instanceof PropertyViolation) throw err
      throw new PropertyViolation(`threw out of the session: ${String(err)}`)
    }
    // Accepted shares are answered once the (absent) share sink resolves.
    await new Promise((resolve) => setImmediate(resolve))

    // What the miner should have been answered: every complete line but responses.
    const reference = new LineFramer({ maxLineBytes: server.config.max_line_bytes }).push(stream)
    const expected = reference.lines.map((l) => decodeRequest(l))
    const requests = expected.filter((d) => !(d.ok && d.request.kind === 'response'))
    // A session writes what one tick produced in one write: split it back into lines.
    const out = socket.written.join('')
    if (out !== '' && !out.endsWith('\n')) throw new PropertyViolation(`output does not end a line: ${JSON.stringify(out.slice(-100))}`)
    const replies = out
      .split(/(?<=\n)/)
      .filter((l) => l !== '')
      .map(checkOutgoingLine)
      .filter((m) => m.method === undefined)
    this.stats.cases++
    this.stats.lines += reference.lines.length

    const closed = session.closed
    if (closed) {
      this.stats.closedByServer++
      if (!SELF_CLOSE_REASONS.has(session.closeReason as string)) throw new PropertyViolation(`closed with reason ${String(session.closeReason)}`)
      if (replies.length > requests.length + 1) throw new PropertyViolation(`${replies.length} replies to ${requests.length} requests`)
    } else {
      if (reference.overflow) throw new PropertyViolation('an over-long line did not close the session')
      if (replies.length !== requests.length) throw new PropertyViolation(`${replies.length} replies to ${requests.length} requests`)
    }
    // In order: a line that does not decode is answered with an error, never a result.
    for (let i = 0; i < Math.min(replies.length, requests.length); i++) {
      const d = requests[i] as (typeof requests)[number]
      const reply = replies[i] as Record<string, unknown>
      if (!d.ok && (reply.error === null || reply.error === undefined || reply.result !== null)) throw new PropertyViolation(`undecodable line ${i} answered ${JSON.stringify(reply)}`)
    }

    socket.destroy()
    if (server.sessions.has(session)) throw new PropertyViolation('a closed session is still held by the server')
  }

  async close(): Promise<void> {
    await this.server?.close()
    this.server = undefined
  }
}

export function sessionTarget(): SessionFuzzer {
  return new SessionFuzzer()
}
