/**
 * The Stratum load generator of `bench-load` (a child process: these
 * machines cap open files at 20,000 per process, so many sessions need
 * several generators, and the generator must not share the pool's cap).
 *
 * Forked by scripts/bench-load.ts with an IPC channel; not meant to be run
 * by hand. Every session runs the real handshake a Bitaxe sends
 * (`mining.configure`, `mining.subscribe`, then `mining.authorize`; a
 * "hard" session also sends `mining.suggest_difficulty` first) and is ready
 * once its first job arrived. Sessions bind source addresses round robin
 * from `addresses` (127.0.0.x): one address has only ~28,000 ephemeral
 * ports towards one server port.
 *
 * Shares cost the generator nothing to find: the pool runs at a tiny fixed
 * difficulty, so any unique (extranonce2, nonce) is a valid share, and the
 * pool still does the whole check (coinbase, merkle root, header hash,
 * duplicate set, ledger). The invalid kinds, as a fraction of submits:
 * - stale: the job id of the previous block (the parent announces blocks);
 * - duplicate: the session's last accepted share again (not an unlucky one: it would be answered 23 again);
 * - low: every share of a "hard" session (one that suggested a high
 *   difficulty): a random nonce, hashed by the pool and rejected as above
 *   the target, as in the ckpool reference measurement.
 *
 * Replies come back in order per session (the pool answers submits in
 * order), so each session keeps a FIFO of its submits' send times and
 * kinds; the round trip is recorded in a log-scale histogram (1 % buckets).
 *
 * Messages (parent -> child):
 * - `{ type: 'open', ... }` -> `{ type: 'opened', ... }`
 * - `{ type: 'run', ... }` -> `{ type: 'result', ... }`: submits for
 *   `warmupMs + durationMs`, counting only the measured part, at a total
 *   `rate` (shares/s for this process) or with `inflight` submits in flight
 *   per session; then waits up to `drainMs` for the last answers.
 * - `{ type: 'exit' }`: closes every socket and exits.
 * It exits by itself when the parent goes away and after `HARD_LIMIT_MS`.
 */
import { connect, type Socket } from 'node:net'
import { prng } from '../test/helpers/prng.js'

const HARD_LIMIT_MS = 20 * 60_000
/** Connections handshaking at once while opening. */
const CONNECT_CONCURRENCY = 256
/** In rate mode, a session with this many unanswered submits is skipped (the pool is behind). */
const RATE_MODE_MAX_INFLIGHT = 256
/** Histogram: bucket i holds round trips in [1.01^i, 1.01^(i+1)) µs, up to ~ 1.01^2000 µs (far beyond any timeout). */
const BUCKETS = 2000
const LOG_STEP = Math.log(1.01)
const NOTIFY_PREFIX = '{"id":null,"method":"mining.notify","params":["'

export type ShareKind = 'valid' | 'stale' | 'duplicate' | 'low'
const KINDS: readonly ShareKind[] = ['valid', 'stale', 'duplicate', 'low']

export interface OpenRequest {
  type: 'open'
  port: number
  count: number
  /** Sessions of these `count` that suggest `hardDifficulty` (every share of theirs is low difficulty). */
  hard: number
  hardDifficulty: number
  addresses: string[]
  /** Worker name prefix; each session authorizes `<prefix>.<n>`. */
  worker: string
  /** First session number (for unique worker names across generators). */
  first: number
}

export interface RunRequest {
  type: 'run'
  /** Shares per second from this process (rate mode), or 0. */
  rate: number
  /** Submits in flight per session (in-flight mode), or 0. */
  inflight: number
  warmupMs: number
  durationMs: number
  drainMs: number
  /** Fractions of submits, from the sessions that are not hard. */
  stale: number
  duplicate: number
  seed: number
}

export type ToGenerator = OpenRequest | RunRequest | { type: 'exit' }

export interface RunResult {
  type: 'result'
  /** Submits sent in the measured window. */
  sent: number
  /** Answers received in the measured window, by kind submitted. */
  answered: Record<ShareKind, number>
  /** Answers that were not what the kind expects (e.g. a valid share rejected), by "kind:answer". */
  unexpected: Record<string, number>
  /** Answers by outcome: accepted, or the Stratum error code. */
  outcomes: Record<string, number>
  /** Round-trip histogram (sparse: [bucket, count] pairs). */
  histogram: [number, number][]
  /** Submits not answered when the drain ended. */
  unanswered: number
  /** Sessions closed by the pool (or errored) during the run. */
  closed: number
  /** Measured window, ms. */
  windowMs: number
  /** Rate mode: submits that could not be sent because the session had too many in flight. */
  skipped: number
}

export type FromGenerator =
  | { type: 'opened'; count: number; ms: number }
  | RunResult
  | { type: 'error'; message: string }

interface Client {
  readonly socket: Socket
  readonly hard: boolean
  readonly worker: string
  rest: string
  extranonce1: string
  extranonce2Size: number
  en2Prefix: string
  jobId: string
  /** The clean job before `jobId` (a share against it is stale). */
  previousJobId: string
  ntime: string
  nonce: number
  /** The params of the last valid share the pool accepted: what a duplicate repeats (a share rejected as unlucky would be answered 23 again, not 22). */
  lastAccepted: string
  nextId: number
  /** FIFO of unanswered submits: send time (ms, performance.now) and kind index. */
  sentAt: number[]
  sentKind: number[]
  /** Per unanswered submit: its params when valid, else ''. */
  sentParams: string[]
  head: number
  open: boolean
}

const clients: Client[] = []
let nextAddress = 0

interface Counters {
  measuring: boolean
  sent: number
  answered: number[]
  outcomes: Map<string, number>
  unexpected: Map<string, number>
  histogram: Uint32Array
  closed: number
  skipped: number
}

const counters: Counters = {
  measuring: false,
  sent: 0,
  answered: [0, 0, 0, 0],
  outcomes: new Map(),
  unexpected: new Map(),
  histogram: new Uint32Array(BUCKETS),
  closed: 0,
  skipped: 0,
}
let mix = { stale: 0, duplicate: 0 }
let random = prng(1)
/** In-flight mode: replace each answered submit with a new one. */
let refill = false

function send(message: FromGenerator): void {
  process.send?.(message)
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}

/** One submit line for `c`; records its kind and send time. */
function submitLine(c: Client, now: number): string {
  let kind = 0
  let params: string
  if (c.hard) {
    kind = 3
    params = `"${c.jobId}","${c.en2Prefix}${hex8(0)}","${c.ntime}","${hex8(Math.floor(random() * 4294967296))}"`
  } else {
    const r = random()
    if (r < mix.stale && c.previousJobId !== '') {
      kind = 1
      params = `"${c.previousJobId}","${c.en2Prefix}${hex8(0)}","${c.ntime}","${hex8(c.nonce++)}"`
    } else if (r < mix.stale + mix.duplicate && c.lastAccepted !== '') {
      kind = 2
      params = c.lastAccepted
    } else {
      params = `"${c.jobId}","${c.en2Prefix}${hex8(0)}","${c.ntime}","${hex8(c.nonce++)}"`
    }
  }
  c.sentAt.push(now)
  c.sentKind.push(kind)
  c.sentParams.push(kind === 0 ? params : '')
  if (counters.measuring) counters.sent++
  return `{"id":${c.nextId++},"method":"mining.submit","params":["${c.worker}",${params}]}\n`
}

function outcomeOf(line: string): string {
  if (line.includes('"result":true')) return 'accepted'
  const at = line.indexOf('"error":[')
  return at < 0 ? 'other' : line.slice(at + 9, line.indexOf(',', at + 9))
}

/** What each kind should get: accepted, or the Stratum code. */
const EXPECTED = ['accepted', '21', '22', '23']

function onAnswer(c: Client, line: string, now: number): void {
  if (c.head >= c.sentAt.length) return // an answer to nothing we track (cannot happen after the handshake)
  const at = c.sentAt[c.head] as number
  const kind = c.sentKind[c.head] as number
  const params = c.sentParams[c.head] as string
  c.head++
  if (c.head > 1024 && c.head * 2 > c.sentAt.length) {
    c.sentAt.splice(0, c.head)
    c.sentKind.splice(0, c.head)
    c.sentParams.splice(0, c.head)
    c.head = 0
  }
  const outcome = outcomeOf(line)
  if (kind === 0 && outcome === 'accepted') c.lastAccepted = params
  if (counters.measuring) {
    counters.answered[kind] = (counters.answered[kind] ?? 0) + 1
    bump(counters.outcomes, outcome)
    if (outcome !== EXPECTED[kind]) bump(counters.unexpected, `${KINDS[kind]}:${outcome}`)
    const us = Math.max(1, (now - at) * 1000)
    const bucket = Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_STEP))
    counters.histogram[bucket] = (counters.histogram[bucket] ?? 0) + 1
  }
}

function openClient(req: OpenRequest, n: number, hard: boolean): Promise<Client> {
  const localAddress = req.addresses.length === 0 ? undefined : req.addresses[nextAddress++ % req.addresses.length]
  const socket = connect({ port: req.port, host: '127.0.0.1', noDelay: true, ...(localAddress === undefined ? {} : { localAddress }) })
  const c: Client = {
    socket,
    hard,
    worker: `${req.worker}.${n}`,
    rest: '',
    extranonce1: '',
    extranonce2Size: 8,
    en2Prefix: '',
    jobId: '',
    previousJobId: '',
    ntime: '',
    nonce: 0,
    lastAccepted: '',
    nextId: 10,
    sentAt: [],
    sentKind: [],
    sentParams: [],
    head: 0,
    open: true,
  }
  return new Promise<Client>((resolve, reject) => {
    let authorized = false
    let settled = false
    const fail = (err: Error): void => {
      if (!settled) {
        settled = true
        reject(err)
      }
    }
    socket.once('connect', () => {
      const suggest = hard ? `{"id":3,"method":"mining.suggest_difficulty","params":[${req.hardDifficulty}]}\n` : ''
      socket.write(
        '{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":2}]}\n' +
          '{"id":2,"method":"mining.subscribe","params":["bench-load/1.0"]}\n' +
          suggest +
          `{"id":4,"method":"mining.authorize","params":["${c.worker}","x"]}\n`,
      )
    })
    socket.on('data', (chunk: Buffer) => {
      const now = performance.now()
      const text = c.rest + chunk.toString('latin1')
      let start = 0
      let replies = 0
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        const line = text.slice(start, nl)
        start = nl + 1
        if (line.startsWith('{"id":null')) {
          if (line.startsWith(NOTIFY_PREFIX)) {
            const m = JSON.parse(line) as { params: unknown[] }
            const jobId = m.params[0] as string
            if (m.params[8] === true && c.jobId !== '') c.previousJobId = c.jobId
            c.jobId = jobId
            c.ntime = m.params[7] as string
            if (!settled && authorized) {
              settled = true
              resolve(c)
            }
          }
          continue
        }
        if (settled) {
          onAnswer(c, line, now)
          replies++
          continue
        }
        // The handshake: ids 1-4.
        const reply = JSON.parse(line) as { id: number; result: unknown; error: unknown }
        if (reply.id === 2) {
          const r = reply.result as [unknown, string, number]
          c.extranonce1 = r[1]
          c.extranonce2Size = r[2]
          // extranonce2: zero bytes, then 4 bytes the generator could roll (it rolls the nonce).
          c.en2Prefix = '00'.repeat(Math.max(0, r[2] - 4))
        } else if (reply.id === 4) {
          if (reply.result !== true) return fail(new Error(`authorize refused: ${JSON.stringify(reply.error)}`))
          authorized = true
        }
      }
      c.rest = start < text.length ? text.slice(start) : ''
      if (refill && replies > 0 && c.open) {
        let out = ''
        for (let i = 0; i < replies; i++) out += submitLine(c, now)
        socket.write(out)
      }
    })
    socket.on('error', (err) => fail(err))
    socket.on('close', () => {
      if (c.open && settled) counters.closed++
      c.open = false
      fail(new Error('connection closed during the handshake'))
    })
  })
}

async function open(req: OpenRequest): Promise<void> {
  const started = performance.now()
  let made = 0
  while (made < req.count) {
    const batch = Math.min(CONNECT_CONCURRENCY, req.count - made)
    const opening: Promise<Client>[] = []
    for (let i = 0; i < batch; i++, made++) opening.push(openClient(req, req.first + made, made < req.hard))
    clients.push(...(await Promise.all(opening)))
  }
  send({ type: 'opened', count: clients.length, ms: performance.now() - started })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function run(req: RunRequest): Promise<void> {
  mix = { stale: req.stale, duplicate: req.duplicate }
  random = prng(req.seed)
  const live = clients.filter((c) => c.open)
  const total = req.warmupMs + req.durationMs
  const started = performance.now()
  let windowStart = started
  let windowEnd = started
  const startWindow = (): void => {
    counters.measuring = true
    windowStart = performance.now()
  }
  if (req.warmupMs === 0) startWindow()
  else setTimeout(startWindow, req.warmupMs)
  if (req.inflight > 0) {
    refill = true
    for (const c of live) {
      let out = ''
      for (let i = 0; i < req.inflight; i++) out += submitLine(c, performance.now())
      c.socket.write(out)
    }
    await sleep(total)
    refill = false
  } else if (req.rate > 0 && live.length > 0) {
    // Ticks of ~2 ms: what is due is spread round robin, one write per session per tick.
    let sent = 0
    let cursor = 0
    const batches = new Map<Client, string>()
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now()
        if (now - started >= total) {
          clearInterval(timer)
          return resolve()
        }
        let due = Math.floor((req.rate * (now - started)) / 1000) - sent
        // Never more than 100 ms worth at once (the generator fell behind: the rate is reported as achieved).
        if (due > req.rate / 10) {
          sent += due - Math.floor(req.rate / 10)
          due = Math.floor(req.rate / 10)
        }
        for (let i = 0; i < due; i++) {
          const c = live[cursor++ % live.length] as Client
          sent++
          if (!c.open) continue
          if (c.sentAt.length - c.head >= RATE_MODE_MAX_INFLIGHT) {
            if (counters.measuring) counters.skipped++
            continue
          }
          batches.set(c, (batches.get(c) ?? '') + submitLine(c, now))
        }
        for (const [c, out] of batches) c.socket.write(out)
        batches.clear()
      }, 2)
    })
  } else {
    await sleep(total)
  }
  windowEnd = performance.now()
  // Answers after the window still count for latency and outcomes (their submits were in it).
  const drainUntil = performance.now() + req.drainMs
  const pending = (): number => live.reduce((n, c) => n + (c.open ? c.sentAt.length - c.head : 0), 0)
  while (pending() > 0 && performance.now() < drainUntil) await sleep(10)
  counters.measuring = false
  const histogram: [number, number][] = []
  counters.histogram.forEach((count, bucket) => {
    if (count > 0) histogram.push([bucket, count])
  })
  const answered = Object.fromEntries(KINDS.map((k, i) => [k, counters.answered[i] ?? 0])) as Record<ShareKind, number>
  send({
    type: 'result',
    sent: counters.sent,
    answered,
    unexpected: Object.fromEntries(counters.unexpected),
    outcomes: Object.fromEntries(counters.outcomes),
    histogram,
    unanswered: pending(),
    closed: counters.closed,
    windowMs: windowEnd - windowStart,
    skipped: counters.skipped,
  })
  // Ready for another run.
  counters.sent = 0
  counters.answered = [0, 0, 0, 0]
  counters.outcomes.clear()
  counters.unexpected.clear()
  counters.histogram.fill(0)
  counters.closed = 0
  counters.skipped = 0
  for (const c of live) {
    c.sentAt.length = 0
    c.sentKind.length = 0
    c.sentParams.length = 0
    c.head = 0
  }
}

process.on('message', (message: ToGenerator) => {
  const failed = (err: unknown): void => send({ type: 'error', message: err instanceof Error ? err.message : String(err) })
  switch (message.type) {
    case 'open':
      open(message).catch(failed)
      break
    case 'run':
      run(message).catch(failed)
      break
    case 'exit':
      for (const c of clients) c.socket.destroy()
      process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))
setTimeout(() => process.exit(2), HARD_LIMIT_MS).unref()
