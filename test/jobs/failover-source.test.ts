/**
 * The failover source: priority order, switching on unhealthy sources,
 * the no-work timeout, hold-down, fail back, the operator's forced switch,
 * routing of blocks and shares to the source that made their work, and
 * what happens with no healthy source. Scripted sources with a moved clock
 * for the rules; real TemplateSources on fake bitcoinds behind a real
 * Stratum server for what a miner sees.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { BitcoindClient } from '../../src/bitcoind/index.js'
import { addressToScript } from '../../src/jobs/address.js'
import { FailoverSource, type FailoverOptions } from '../../src/jobs/failover-source.js'
import { FoundBlockStore } from '../../src/jobs/found-blocks.js'
import type { ForwardedShare, JobSource, SourceHealth, UpstreamShareResult, WorkListener } from '../../src/jobs/job-source.js'
import { TemplateSource } from '../../src/jobs/template-source.js'
import type { BlockCandidate, BlockSubmitResult, Work } from '../../src/jobs/work.js'
import { createLogger } from '../../src/log.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { FakeBitcoind, type FixtureName } from '../helpers/fake-bitcoind.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { jobSourceContract } from '../helpers/job-source-contract.js'
import { regtestCase, regtestWork } from '../helpers/regtest.js'
import { startServer } from '../helpers/server.js'
import { until } from '../helpers/until.js'

const hasher = selectHasher({})
const BASE = regtestWork(regtestCase('segwit-txs'))

/** A source the test drives: work, health, start failures, and what reached it. */
class ScriptedSource implements JobSource {
  readonly blocks: BlockCandidate[] = []
  readonly shares: ForwardedShare[] = []
  starts = 0
  stops = 0
  /** This many start() calls reject. */
  failStarts = 0
  throwOnSubmit = false
  healthy = true
  lastError: string | undefined
  health?: () => SourceHealth
  forwardShare?: (share: ForwardedShare) => Promise<UpstreamShareResult> | undefined
  private latest: Work | undefined
  private readonly listeners = new Set<WorkListener>()
  private seq = 0

  constructor(
    readonly name: string,
    options: { withHealth?: boolean; forwards?: boolean } = {},
  ) {
    if (options.withHealth !== false) {
      this.health = () => ({ healthy: this.healthy && this.latest !== undefined, lastError: this.lastError, lastTemplateAt: undefined, height: this.latest?.height })
    }
    if (options.forwards === true) {
      this.forwardShare = (share) => {
        this.shares.push(share)
        return Promise.resolve({ accepted: true, difficulty: 1 })
      }
    }
  }

  async start(): Promise<void> {
    this.starts++
    if (this.failStarts > 0) {
      this.failStarts--
      throw new Error('connect ECONNREFUSED 127.0.0.1:3334')
    }
  }

  async stop(): Promise<void> {
    this.stops++
  }

  onWork(listener: WorkListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  current(): Work | undefined {
    return this.latest
  }

  /** New work (a new previous block when `clean`). */
  emit(clean = false): Work {
    this.seq++
    const tag = `${this.name}:${clean ? this.seq : 0}`
    const work: Work = { ...BASE, source: this.name, prevHash: Buffer.from(tag.padEnd(32, '.')), cleanJobs: clean, height: 100 + this.seq }
    this.latest = work
    for (const l of this.listeners) l(work)
    return work
  }

  fail(reason: string): void {
    this.healthy = false
    this.lastError = reason
  }

  heal(): void {
    this.healthy = true
    this.lastError = undefined
  }

  async submitBlock(candidate: BlockCandidate): Promise<BlockSubmitResult> {
    if (this.throwOnSubmit) throw new Error('socket hang up')
    this.blocks.push(candidate)
    return { accepted: true }
  }
}

interface LogLine {
  level: string
  msg: string
  [key: string]: unknown
}

function harness(t: Test, sources: JobSource[], over: Partial<FailoverOptions> = {}) {
  const clock = { now: 1_800_000_000_000 }
  const logs: LogLine[] = []
  const log = createLogger({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) })
  const failover = new FailoverSource({
    sources,
    // The timer never fires in the rule tests: they call check() after moving the clock.
    checkIntervalMs: 3_600_000,
    noWorkTimeoutMs: 120_000,
    holdDownMs: 30_000,
    log,
    clock: () => clock.now,
    ...over,
  })
  const seen: Work[] = []
  failover.onWork((w) => seen.push(w))
  t.teardown(() => failover.stop())
  return { failover, clock, logs, seen }
}

const candidate = (work: Work): BlockCandidate => ({ work, header: Buffer.alloc(80), coinbase: Buffer.alloc(60), hash: Buffer.alloc(32), account: 'farm', worker: 'rig1' })
const share = (work: Work): ForwardedShare => ({
  work,
  extranonce1: Buffer.alloc(4),
  extranonce2: Buffer.alloc(8),
  ntime: work.ntime,
  nonce: 1,
  versionBits: undefined,
  hash: Buffer.alloc(32),
  account: 'farm',
  worker: 'rig1',
})

t.test('priority order: the first source with work serves; a higher-priority one takes over as soon as it has work', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  const { failover, seen } = harness(t, [a, b])
  const bWork = b.emit(true)
  await failover.start()
  t.equal(failover.status().active, 'b', 'b has work, a has none yet')
  t.equal(seen.length, 1)
  t.equal(seen[0]?.source, 'b')
  t.equal(seen[0]?.cleanJobs, true)
  t.ok(seen[0]?.prevHash.equals(bWork.prevHash))
  t.match(failover.status().lastSwitch, { from: null, to: 'b', reason: 'initial' })

  const aWork = a.emit(false)
  t.equal(failover.status().active, 'a', 'a never failed: no hold-down at start-up')
  t.equal(seen.at(-1)?.source, 'a')
  t.equal(seen.at(-1)?.cleanJobs, true, 'a switch is clean even when the source\'s own work is not')
  t.ok(seen.at(-1)?.prevHash.equals(aWork.prevHash))
  t.equal(failover.current(), seen.at(-1))

  const before = seen.length
  b.emit(true)
  t.equal(seen.length, before, 'work of a standby source is not served')
  const next = a.emit(false)
  t.equal(seen.length, before + 1)
  t.equal(seen.at(-1), next, 'work of the active source is served as it is')
  t.same([a.starts, b.starts], [1, 1], 'every source runs')
  t.same(
    failover.status().sources.map((s) => [s.name, s.priority, s.state, s.active]),
    [
      ['a', 0, 'healthy', true],
      ['b', 1, 'healthy', false],
    ],
  )
  t.equal(failover.sources.length, 2)
  t.equal(failover.health().healthy, true)
  await failover.start()
  t.equal(a.starts, 1, 'a second start() is a no-op')
})

t.test('an active source that reports itself unhealthy is left within the check interval', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  // The real check timer: nothing but the timer notices a's health change.
  const { failover, seen, logs } = harness(t, [a, b], { checkIntervalMs: 20 })
  a.emit(true)
  const bWork = b.emit(true)
  await failover.start()
  t.equal(failover.status().active, 'a')
  a.fail('connect ECONNREFUSED 127.0.0.1:18443')
  await until(() => failover.status().active === 'b')
  t.equal(seen.at(-1)?.source, 'b')
  t.equal(seen.at(-1)?.cleanJobs, true)
  t.ok(seen.at(-1)?.prevHash.equals(bWork.prevHash), "b's current work, at once")
  const status = failover.status()
  t.equal(status.switches, 2)
  t.match(status.lastSwitch, { from: 'a', to: 'b', reason: 'unhealthy', detail: /a unhealthy: connect ECONNREFUSED/ })
  t.match(status.sources[0], { name: 'a', state: 'unhealthy', healthy: false, lastError: 'connect ECONNREFUSED 127.0.0.1:18443', health: { healthy: false } })
  t.type(status.sources[0]?.unhealthySince, 'number')
  t.ok(logs.some((l) => l.level === 'warn' && /work source a -> b/.test(l.msg) && l.reason === 'unhealthy'), 'the switch is logged with its reason')
  t.ok(logs.some((l) => l.level === 'warn' && /source a unhealthy/.test(l.msg)))
  a.fail('connect ETIMEDOUT')
  failover.check()
  t.equal(failover.status().sources[0]?.lastError, 'connect ETIMEDOUT', 'the latest reason is kept')
  t.ok(logs.some((l) => /still unhealthy: connect ETIMEDOUT/.test(l.msg)))
})

t.test('a source with no new work for no_work_timeout is unhealthy (sources without health() too)', async (t) => {
  const a = new ScriptedSource('a', { withHealth: false })
  const b = new ScriptedSource('b', { withHealth: false })
  const { failover, clock } = harness(t, [a, b])
  a.emit(true)
  b.emit(true)
  await failover.start()
  t.equal(failover.status().active, 'a')
  clock.now += 60_000
  b.emit()
  failover.check()
  t.equal(failover.status().active, 'a', 'within the timeout')
  clock.now += 61_000
  b.emit()
  failover.check()
  t.equal(failover.status().active, 'b', '121 s without work from a')
  t.match(failover.status().lastSwitch, { reason: 'unhealthy', detail: 'a unhealthy: no new work for 120 s' })
  a.emit()
  t.equal(failover.status().sources[0]?.state, 'recovering', 'new work: healthy again, in its hold-down')
  t.equal(failover.status().active, 'b')
})

t.test('a source that never produces work is unhealthy after the timeout', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  const { failover, clock } = harness(t, [a, b])
  b.emit(true)
  await failover.start()
  t.equal(failover.status().sources[0]?.state, 'starting')
  clock.now += 121_000
  b.emit()
  t.match(failover.status().sources[0], { state: 'unhealthy', lastError: 'no work 120 s after start' })
})

t.test('hold-down: a recovered source is preferred again only after staying healthy that long; a flap starts it over', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  const { failover, clock, seen } = harness(t, [a, b])
  a.emit(true)
  b.emit(true)
  await failover.start()
  a.fail('bitcoind is in initial block download')
  failover.check()
  t.equal(failover.status().active, 'b')

  const tick = (ms: number): void => {
    clock.now += ms
    a.emit()
    b.emit()
    failover.check()
  }
  a.heal()
  tick(0)
  t.equal(failover.status().sources[0]?.state, 'recovering')
  tick(20_000)
  t.equal(failover.status().active, 'b', '20 s of 30 s hold-down')
  a.fail('flap')
  failover.check()
  t.equal(failover.status().sources[0]?.state, 'unhealthy')
  a.heal()
  tick(0)
  tick(20_000)
  t.equal(failover.status().active, 'b', '40 s since the first recovery, but only 20 s since the flap')
  tick(10_000)
  t.equal(failover.status().active, 'a', 'fail back after 30 s healthy')
  t.equal(seen.at(-1)?.source, 'a')
  t.equal(seen.at(-1)?.cleanJobs, true)
  const status = failover.status()
  t.match(status.lastSwitch, { from: 'b', to: 'a', reason: 'failback' })
  t.equal(status.switches, 3)
  t.same(
    [...status.switchCounts].sort((x, y) => x.to.localeCompare(y.to) || x.reason.localeCompare(y.reason)),
    [
      { from: 'b', to: 'a', reason: 'failback', count: 1 },
      { from: 'none', to: 'a', reason: 'initial', count: 1 },
      { from: 'a', to: 'b', reason: 'unhealthy', count: 1 },
    ],
  )
  t.equal(status.sources[0]?.state, 'healthy')
  t.equal(status.sources[0]?.lastError, 'flap', 'the last error stays visible after recovery')
})

t.test('fail grace: a serving source that fails and comes straight back moves nobody; one that keeps failing is left', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  const { failover, clock } = harness(t, [a, b], { failGraceMs: 1000 })
  a.emit(true)
  b.emit(true)
  await failover.start()
  t.equal(failover.status().active, 'a')
  a.fail('connection reset')
  failover.check()
  clock.now += 600
  failover.check()
  t.equal(failover.status().active, 'a', 'within the grace')
  t.equal(failover.status().sources[0]?.state, 'healthy')
  a.heal()
  a.emit()
  clock.now += 600
  failover.check()
  t.equal(failover.status().switches, 1, 'back within the grace: no switch (only the initial choice)')
  a.fail('connection reset')
  failover.check()
  clock.now += 999
  failover.check()
  t.equal(failover.status().active, 'a', 'the grace starts over at the new failure')
  clock.now += 1
  failover.check()
  t.equal(failover.status().active, 'b', 'failing for the whole grace: moved')
  t.match(failover.status().sources[0], { state: 'unhealthy', lastError: 'connection reset' })
})

t.test('hold-down 0: a recovered source is preferred at once', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  const { failover } = harness(t, [a, b], { holdDownMs: 0 })
  a.emit(true)
  b.emit(true)
  await failover.start()
  a.fail('down')
  failover.check()
  t.equal(failover.status().active, 'b')
  a.heal()
  failover.check()
  t.equal(failover.status().active, 'a')
})

t.test('a working source is not left for a lower-priority one; a recovering one is better than none', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  const { failover, clock } = harness(t, [a, b])
  a.emit(true)
  b.emit(true)
  await failover.start()
  a.fail('down')
  b.fail('down too')
  failover.check()
  t.equal(failover.status().allUnhealthy, true)
  b.heal()
  failover.check()
  t.equal(failover.status().active, 'b', 'b recovering (in its hold-down) beats nothing')
  t.match(failover.status().lastSwitch, { from: 'a', to: 'b', reason: 'unhealthy' })
  t.equal(failover.status().allUnhealthy, false)
  a.heal()
  failover.check()
  clock.now += 10_000
  a.emit()
  b.emit()
  failover.check()
  t.equal(failover.status().active, 'b', 'both in hold-down: stay')
  clock.now += 25_000
  a.emit()
  b.emit()
  failover.check()
  t.equal(failover.status().active, 'a', 'a past its hold-down: preferred')
})

t.test('forced switch: the operator picks a source until cleared or until it goes unhealthy', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  const { failover, clock, seen, logs } = harness(t, [a, b])
  a.emit(true)
  b.emit(true)
  await failover.start()

  t.same(failover.switchTo('b'), { ok: true, active: 'b', forced: 'b' })
  t.equal(seen.at(-1)?.source, 'b')
  t.equal(seen.at(-1)?.cleanJobs, true)
  t.match(failover.status(), { active: 'b', forced: 'b', lastSwitch: { from: 'a', to: 'b', reason: 'manual' } })
  t.ok(logs.some((l) => /source b forced by the operator/.test(l.msg)))
  const before = seen.length
  a.emit()
  t.equal(seen.length, before, 'a is healthy and first, but b is forced')

  t.match(failover.switchTo('nope'), { ok: false, error: 'unknown-source', message: /no source named "nope"; sources: a, b/ })
  a.fail('down')
  t.match(failover.switchTo('a'), { ok: false, error: 'unhealthy', message: /source a is not healthy \(unhealthy: down\)/ })
  t.equal(failover.status().forced, 'b')

  a.heal()
  failover.check()
  clock.now += 31_000
  a.emit()
  b.emit()
  failover.check()
  t.equal(failover.status().sources[0]?.state, 'healthy')
  t.equal(failover.status().active, 'b', 'no fail back while forced')

  b.fail('gone')
  failover.check()
  t.match(failover.status(), { active: 'a', forced: null, lastSwitch: { from: 'b', to: 'a', reason: 'unhealthy' } })
  t.ok(logs.some((l) => /forced source b is unhealthy: forcing cleared/.test(l.msg)))

  b.heal()
  b.emit()
  t.same(failover.switchTo('b'), { ok: true, active: 'b', forced: 'b' }, 'a source in its hold-down may be forced')
  t.same(failover.switchTo(null), { ok: true, active: 'a', forced: null })
  t.match(failover.status().lastSwitch, { from: 'b', to: 'a', reason: 'manual', detail: /forcing cleared/ })
  t.same(failover.switchTo(null), { ok: true, active: 'a', forced: null }, 'clearing twice is harmless')
})

t.test('blocks and shares go to the source that made their work, after a switch too', async (t) => {
  const a = new ScriptedSource('a', { forwards: true })
  const b = new ScriptedSource('b')
  const { failover } = harness(t, [a, b])
  a.emit(true)
  b.emit(true)
  await failover.start()
  const workA = failover.current() as Work
  a.fail('down')
  failover.check()
  const workB = failover.current() as Work
  t.equal(workB.source, 'b')

  t.same(await failover.submitBlock(candidate(workA)), { accepted: true })
  t.equal(a.blocks.length, 1, "a block of a's job goes to a, though b is active")
  t.equal(b.blocks.length, 0)
  t.same(await failover.submitBlock(candidate(workB)), { accepted: true })
  t.equal(b.blocks.length, 1)
  t.match(await failover.submitBlock(candidate({ ...workB, source: 'elsewhere' })), { accepted: false, reason: /no source named "elsewhere"/ })
  b.throwOnSubmit = true
  t.match(await failover.submitBlock(candidate(workB)), { accepted: false, reason: /submit failed: socket hang up/ }, 'a throwing source is a value')

  t.same(await failover.forwardShare(share(workA)), { accepted: true, difficulty: 1 })
  t.equal(a.shares.length, 1)
  t.equal(failover.forwardShare(share(workB)), undefined, 'b does not forward')
  t.equal(failover.forwardShare(share({ ...workA, source: 'elsewhere' })), undefined)
})

t.test('with no healthy source the miners keep the last work, and the pool says so once a minute', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  const { failover, clock, logs } = harness(t, [a, b])
  a.emit(true)
  b.emit(true)
  await failover.start()
  a.fail('down')
  failover.check()
  b.fail('down too')
  failover.check()
  const last = failover.current()
  t.equal(last?.source, 'b')
  t.match(failover.status(), { active: 'b', allUnhealthy: true })
  t.same(failover.health(), { healthy: false, lastError: 'no healthy work source', lastTemplateAt: undefined, height: last?.height })
  const loud = (): LogLine[] => logs.filter((l) => l.level === 'error' && /NO HEALTHY WORK SOURCE/.test(l.msg))
  t.equal(loud().length, 1)
  t.match(loud()[0], { reasons: { a: 'down', b: 'down too' }, msg: /keep hashing on the last work/ })
  for (let i = 0; i < 5; i++) {
    clock.now += 10_000
    failover.check()
  }
  t.equal(loud().length, 1, 'not on every check')
  clock.now += 10_000
  failover.check()
  t.equal(loud().length, 2, 'again after a minute')
  t.equal(failover.current(), last)

  const fresh = b.emit()
  t.equal(failover.current(), fresh, 'new work of the active source is still served')

  a.heal()
  a.emit()
  t.match(failover.status(), { active: 'a', allUnhealthy: false })
  t.ok(logs.some((l) => /work source a usable again/.test(l.msg)))
})

t.test('all sources failing from the start: no work, said loudly', async (t) => {
  const a = new ScriptedSource('a')
  const { failover, logs } = harness(t, [a])
  a.fail('connect ECONNREFUSED')
  await failover.start()
  t.equal(failover.current(), undefined)
  t.match(failover.health(), { healthy: false })
  t.ok(logs.some((l) => l.level === 'error' && /miners have no work/.test(l.msg)))
})

t.test('a source whose start() fails is unhealthy and started again with backoff', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  const { failover, clock, logs } = harness(t, [a, b])
  a.failStarts = 2
  b.emit(true)
  await failover.start()
  await until(() => failover.status().sources[0]?.state === 'unhealthy')
  t.match(failover.status().sources[0], { lastError: 'start failed: connect ECONNREFUSED 127.0.0.1:3334' })
  t.equal(failover.status().active, 'b')
  failover.check()
  t.equal(a.starts, 1, 'not again before the backoff')
  clock.now += 1000
  failover.check()
  t.equal(a.starts, 2)
  await until(() => logs.filter((l) => /failed to start/.test(l.msg)).length === 1 && failover.status().sources[0]?.lastError !== undefined && a.failStarts === 0)
  await new Promise((r) => setImmediate(r))
  clock.now += 1000
  failover.check()
  t.equal(a.starts, 2, 'the backoff doubled')
  clock.now += 1000
  failover.check()
  t.equal(a.starts, 3)
  await until(() => logs.some((l) => /started after failing/.test(l.msg)))
  a.emit(true)
  t.equal(failover.status().sources[0]?.state, 'recovering')
  clock.now += 30_000
  a.emit()
  b.emit()
  failover.check()
  t.equal(failover.status().active, 'a')
})

t.test('a start() that throws synchronously is handled like a rejection', async (t) => {
  const a = new ScriptedSource('a')
  a.start = () => {
    throw new Error('bad url')
  }
  const { failover } = harness(t, [a])
  await failover.start()
  await until(() => failover.status().sources[0]?.lastError === 'start failed: bad url')
  t.pass('no crash')
})

t.test('stop stops every source, once; no work afterwards', async (t) => {
  const a = new ScriptedSource('a')
  const b = new ScriptedSource('b')
  b.stop = async () => {
    b.stops++
    throw new Error('already closed')
  }
  const { failover, seen, logs } = harness(t, [a, b])
  a.emit(true)
  await failover.start()
  await failover.stop()
  await failover.stop()
  t.same([a.stops, b.stops], [1, 1])
  t.ok(logs.some((l) => /a source failed to stop/.test(l.msg)))
  const before = seen.length
  a.emit(true)
  failover.check()
  t.equal(seen.length, before)
})

t.test('a throwing listener does not stop the others', async (t) => {
  const a = new ScriptedSource('a')
  const { failover, seen, logs } = harness(t, [a])
  failover.onWork(() => {
    throw new Error('listener bug')
  })
  await failover.start()
  a.emit(true)
  t.equal(seen.length, 1)
  t.ok(logs.some((l) => /a work listener threw/.test(l.msg)))
})

t.test('names must be unique (blocks are routed by them); at least one source', async (t) => {
  const log = createLogger({ level: 'silent' })
  const opts = { checkIntervalMs: 250, noWorkTimeoutMs: 120_000, holdDownMs: 30_000, log }
  t.throws(() => new FailoverSource({ ...opts, sources: [new ScriptedSource('a'), new ScriptedSource('a')] }), /"a" is used twice/)
  t.throws(() => new FailoverSource({ ...opts, sources: [new ScriptedSource('failover')] }), /"failover" is used twice/)
  t.throws(() => new FailoverSource({ ...opts, sources: [] }), /at least one source/)
})

// ---- real bitcoind sources ------------------------------------------------

const PAYOUT = 'bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g'

async function templateSource(t: Test, name: string, fake: FakeBitcoind): Promise<TemplateSource> {
  const blocks = await FoundBlockStore.open(join(t.testdir({}), `${name}-found-blocks.jsonl`))
  t.teardown(() => blocks.close())
  return new TemplateSource({
    name,
    network: 'regtest',
    nodes: [new BitcoindClient({ ...fake.clientOptions(), retry: { retries: 0 } })],
    payoutScript: addressToScript(PAYOUT, 'regtest'),
    tag: '/headframe/',
    extranonceSize: 12,
    versionMask: 0x1fffe000,
    refreshMs: 200,
    pollMs: 50,
    longpoll: false,
    blocks,
    sha256d: hasher.sha256d,
    log: createLogger({ level: 'silent' }),
    submitRetryMs: 1000,
  })
}

t.test('JobSource contract: failover over a bitcoind template source', async (t) => {
  jobSourceContract(t, async (t) => {
    const fake = await FakeBitcoind.startFor(t, { template: 'empty-mempool' })
    const inner = await templateSource(t, 'bitcoind', fake)
    const source = new FailoverSource({ sources: [inner], checkIntervalMs: 50, noWorkTimeoutMs: 120_000, holdDownMs: 1000, log: createLogger({ level: 'silent' }) })
    t.teardown(() => source.stop())
    return { source, newBlock: () => void fake.advance(), workSources: ['bitcoind'] }
  })
})

t.test('a miner on a real Stratum server moves to the second bitcoind when the first dies, with clean_jobs, and back', async (t) => {
  const fakes: Record<string, FakeBitcoind> = {}
  const sources: TemplateSource[] = []
  for (const [name, template] of [
    ['a', 'empty-mempool'],
    ['b', 'segwit-txs'],
  ] as const satisfies readonly (readonly [string, FixtureName])[]) {
    const fake = await FakeBitcoind.startFor(t, { template })
    fakes[name] = fake
    sources.push(await templateSource(t, name, fake))
  }
  const fakeA = fakes.a as FakeBitcoind
  const fakeB = fakes.b as FakeBitcoind
  const failover = new FailoverSource({ sources, checkIntervalMs: 50, noWorkTimeoutMs: 120_000, holdDownMs: 500, log: createLogger({ level: 'silent' }) })
  t.teardown(() => failover.stop())
  await failover.start()
  await until(() => failover.status().active === 'a' && failover.status().sources.every((s) => s.healthy))
  const { server, port } = await startServer(t, { attach: failover })
  const miner = await FakeMiner.connect(port)
  t.teardown(() => miner.close())
  await miner.handshake('farm.rig1')
  const first = await miner.nextNotify()
  t.equal(server.currentJob()?.work.source, 'a')
  t.equal(server.currentJob()?.work.height, 111, "a's template (empty-mempool, height 111)")

  const from = miner.received.length
  const killedAt = Date.now()
  await fakeA.refuse()
  const m = await miner.waitFor((x) => x.method === 'mining.notify' && x.params?.[8] === true && server.book.lookup(String(x.params[0]))?.job.work.source === 'b', from)
  t.comment(`bitcoind a killed -> clean job from b at the miner: ${Date.now() - killedAt} ms (poll 50 ms, check 50 ms)`)
  const jobB = server.book.lookup(String(m.params?.[0]))?.job
  t.equal(jobB?.work.height, 112, "b's template (segwit-txs, height 112)")
  t.not(m.params?.[1], first.prevHash, 'another previous block')
  t.match(failover.status(), { active: 'b', lastSwitch: { from: 'a', to: 'b', reason: 'unhealthy' } })

  // A block found on b's job reaches b's bitcoind through the failover (the server knows only "failover").
  const job = await miner.nextNotify(from)
  for (let i = 0; server.counters.blocksFound === 0 && i < 40; i++) {
    const reply = await miner.submit('farm.rig1', job.jobId, miner.findShare(job, { extranonce2: Buffer.alloc(8, i) }))
    t.equal(reply.result, true)
  }
  await until(() => fakeB.accepted.length === 1)
  t.equal(fakeA.submissions.length, 0)

  // a comes back: after its hold-down the miner is moved back, again with clean jobs.
  const back = miner.received.length
  await fakeA.resume()
  const m2 = await miner.waitFor((x) => x.method === 'mining.notify' && x.params?.[8] === true && server.book.lookup(String(x.params[0]))?.job.work.source === 'a', back)
  t.ok(m2, 'clean job from a again')
  t.match(failover.status(), { active: 'a', lastSwitch: { from: 'b', to: 'a', reason: 'failback' } })
})
