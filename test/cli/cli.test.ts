import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, type CliIo } from '../../src/cli/program.js'
import { parseConfigToml } from '../../src/config/index.js'
import { PACKAGE_ROOT, PACKAGE_VERSION } from '../../src/package-info.js'
import { freePort } from '../helpers/free-port.js'
import { FakeMiner } from '../helpers/fake-miner.js'

interface Captured {
  io: CliIo
  out: () => string
  err: () => string
  logs: () => Record<string, unknown>[]
  stop: (signal: string) => void
  /** Resolves once a log line matches. */
  waitForLog: (match: (line: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>
}

function capture(cwd: string, env: Record<string, string> = {}): Captured {
  let out = ''
  let err = ''
  const logs: Record<string, unknown>[] = []
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = []
  let stop: (signal: string) => void = () => {}
  const stopped = new Promise<string>((resolve) => (stop = resolve))
  const io: CliIo = {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    env,
    cwd,
    untilStopped: () => stopped,
    logDestination: {
      write(line: string) {
        const parsed = JSON.parse(line) as Record<string, unknown>
        logs.push(parsed)
        for (const w of waiters.splice(0)) if (w.match(parsed)) w.resolve(parsed); else waiters.push(w)
      },
    },
  }
  return {
    io,
    out: () => out,
    err: () => err,
    logs: () => logs,
    stop,
    waitForLog: (match) =>
      new Promise((resolve) => {
        const seen = logs.find(match)
        if (seen) resolve(seen)
        else waiters.push({ match, resolve })
      }),
  }
}

t.test('--version and --help', async (t) => {
  const c = capture(t.testdir({}))
  t.equal(await runCli(['--version'], c.io), 0)
  t.equal(c.out().trim(), PACKAGE_VERSION)
  const h = capture(t.testdir({}))
  t.equal(await runCli(['--help'], h.io), 0)
  t.match(h.out(), /Usage: headframe/)
  t.match(h.out(), /run/)
  t.match(h.out(), /check-config/)
})

t.test('an unknown command is a usage error', async (t) => {
  const c = capture(t.testdir({}))
  t.equal(await runCli(['mine-harder'], c.io), 1)
  t.match(c.err(), /unknown command 'mine-harder'/)
})

t.test('check-config', async (t) => {
  const dir = t.testdir({
    'good.toml': '[stratum]\nport = 4000\n[http]\nadmin_token = "hunter2"\n',
    'bad.toml': '[stratum]\nport = "abc"\nprot = 1\n[log]\nlevel = "loud"\n',
  })
  const good = capture(dir)
  t.equal(await runCli(['check-config', '--config', 'good.toml'], good.io), 0)
  t.match(good.out(), `config OK: ${join(dir, 'good.toml')}`)
  t.match(good.out(), /port = 4000/)
  t.match(good.out(), /version_mask = "1fffe000"/, 'masks printed as the file writes them')
  t.match(good.out(), /admin_token = "\(set\)"/)
  t.notMatch(good.out(), /hunter2/, 'secrets are not printed')

  const bad = capture(dir)
  t.equal(await runCli(['check-config', '-c', 'bad.toml'], bad.io), 1)
  t.match(bad.err(), /3 problems/)
  t.match(bad.err(), 'stratum.port: expected an integer 1-65535, got "abc"')
  t.match(bad.err(), 'stratum.prot: unknown key')
  t.match(bad.err(), 'log.level: expected one of')

  const emptyDir = t.testdir({})
  const none = capture(emptyDir)
  t.equal(await runCli(['check-config'], none.io), 0)
  t.match(none.out(), /built-in defaults/)
  const printed = none.out().split('\n').slice(1).join('\n').replaceAll('"(not set)"', '""')
  t.same(parseConfigToml(printed), parseConfigToml('', { cwd: emptyDir }), 'the printed settings load again as the same config')

  const missing = capture(dir)
  t.equal(await runCli(['check-config', '-c', 'nope.toml'], missing.io), 1)
  t.match(missing.err(), /nope\.toml: file not found/)
})

t.test('run with no config: logs its settings and the hasher, listens on 3333, says it has no work source, stops on a signal', async (t) => {
  const c = capture(t.testdir({}))
  const exit = runCli(['run'], c.io)
  const start = await c.waitForLog((l) => l.msg === 'headframe starting')
  t.equal(start.configSource, 'built-in defaults')
  t.match(start.config, { stratum: { port: 3333, host: '0.0.0.0' }, http: { admin_token: '(not set)' } })
  const listening = await c.waitForLog((l) => l.msg === 'stratum listening')
  t.equal(listening.port, 3333)
  const miner = await FakeMiner.connect(3333)
  await miner.handshake('farm.rig1')
  t.ok(miner.received.some((m) => m.method === 'mining.set_difficulty'), 'a miner can subscribe and authorize')
  miner.close()
  await c.waitForLog((l) => l.msg === 'http api listening')
  const { request } = await import('undici')
  const health = await request('http://127.0.0.1:8080/healthz')
  t.equal(health.statusCode, 200, 'the HTTP API answers on 127.0.0.1:8080')
  await health.body.dump()
  const ready = await request('http://127.0.0.1:8080/readyz')
  t.equal(ready.statusCode, 503, 'not ready without work')
  await ready.body.dump()
  const hasher = await c.waitForLog((l) => l.component === 'hasher')
  t.equal(hasher.backend, 'native')
  t.type(hasher.implementation, 'string')
  const idle = await c.waitForLog((l) => /no work source/.test(String(l.msg)))
  t.equal(idle.level, 'warn')
  c.stop('SIGTERM')
  t.equal(await exit, 0)
  t.ok(c.logs().some((l) => l.msg === 'headframe stopped'))
})

t.test('run honours the hasher environment variables', async (t) => {
  const c = capture(t.testdir({ 'headframe.toml': `[stratum]\nhost = "127.0.0.1"\nport = ${await freePort()}\n[http]\nport = ${await freePort()}\n` }), { HEADFRAME_HASHER: 'js' })
  const exit = runCli(['run'], c.io)
  const hasher = await c.waitForLog((l) => l.component === 'hasher')
  t.equal(hasher.backend, 'js')
  t.equal(hasher.implementation, 'node:crypto')
  c.stop('SIGINT')
  t.equal(await exit, 0)

  const bad = capture(t.testdir({}), { HEADFRAME_SHA256: 'sse9' })
  t.equal(await runCli(['run'], bad.io), 1)
  t.match(bad.err(), /HEADFRAME_SHA256=sse9: expected auto, generic, shani, avx2, avx512/)
})

t.test('run fails clearly when the port is taken', async (t) => {
  const port = await freePort()
  const blocker = (await import('node:net')).createServer().listen(port, '127.0.0.1')
  t.teardown(() => blocker.close())
  await new Promise((r) => blocker.once('listening', r))
  const c = capture(t.testdir({ 'headframe.toml': `[stratum]\nhost = "127.0.0.1"\nport = ${port}\n` }))
  t.equal(await runCli(['run'], c.io), 1)
  t.match(c.err(), `cannot listen on 127.0.0.1:${port}`)
})

t.test('run refuses a bad config, listing every problem', async (t) => {
  const c = capture(t.testdir({ 'headframe.toml': '[stratum]\nport = 0\n' }))
  t.equal(await runCli(['run'], c.io), 1)
  t.match(c.err(), /headframe\.toml: stratum\.port: expected an integer 1-65535, got 0/)
})

t.test('the built executable runs as a real process and stops cleanly on SIGTERM', async (t) => {
  const bin = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js')
  t.ok(existsSync(bin), `${bin} exists (npm test builds it first)`)
  const port = await freePort()
  const cwd = t.testdir({ 'headframe.toml': `[stratum]\nhost = "127.0.0.1"\nport = ${port}\n[http]\nport = ${await freePort()}\n` })
  const child = spawn(process.execPath, [bin, 'run'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject)
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('no work source')) resolve()
    })
    child.once('exit', () => reject(new Error(`exited early: ${out}`)))
  })
  child.removeAllListeners('exit')
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  t.ok(lines.some((l) => l.component === 'hasher' && l.backend === 'native'), 'logs the native hasher')
  t.ok(lines.some((l) => l.msg === 'stratum listening' && l.port === port), 'listens on the configured port')
  child.kill('SIGTERM')
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  t.equal(code, 0)
})

t.test('headframe run with a [[sources]] bitcoind section mines regtest blocks for a real Stratum miner', async (t) => {
  const { FakeBitcoind } = await import('../helpers/fake-bitcoind.js')
  const fake = await FakeBitcoind.startFor(t, { template: 'segwit-txs' })
  const port = await freePort()
  const dir = t.testdir({
    'headframe.toml': [
      '[stratum]',
      'host = "127.0.0.1"',
      `port = ${port}`,
      '[vardiff]',
      'fixed_difficulty = 0.001',
      'min_difficulty = 0.0001',
      'start_difficulty = 0.001',
      '[ledger]',
      'path = "./data/ledger"',
      '[http]',
      `port = ${await freePort()}`,
      '[[sources]]',
      'type = "bitcoind"',
      'network = "regtest"',
      'payout_address = "bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g"',
      '[[sources.nodes]]',
      `url = "${fake.url}"`,
      `cookie_file = "${fake.cookieFile}"`,
      '',
    ].join('\n'),
  })
  const c = capture(dir)
  const exit = runCli(['run'], c.io)
  await c.waitForLog((l) => l.msg === 'work source started')
  const miner = await FakeMiner.connect(port)
  t.teardown(() => miner.close())
  await miner.handshake('farm.s19')
  const job = await miner.nextNotify()
  let accepted = 0
  for (let i = 0; fake.accepted.length === 0 && i < 40; i++) {
    const reply = await miner.submit('farm.s19', job.jobId, miner.findShare(job, { extranonce2: Buffer.alloc(8, i) }))
    t.equal(reply.result, true)
    if (reply.result === true) accepted++
    await new Promise((r) => setImmediate(r))
  }
  await c.waitForLog((l) => /accepted by bitcoind/.test(String(l.msg)))
  t.equal(fake.accepted.length, 1, 'a regtest-valid block, checked in full by the fake bitcoind')
  t.ok(existsSync(join(dir, 'data', 'found-blocks.jsonl')), 'found blocks are kept beside the ledger folder')
  c.stop('SIGTERM')
  t.equal(await exit, 0)

  // Every share the miner saw accepted is in the ledger; the block share closed round 0.
  const { Ledger } = await import('../../src/ledger/index.js')
  const ledger = await Ledger.open({ path: join(dir, 'data', 'ledger'), sync: false, retentionDays: 90 })
  t.teardown(() => ledger.close())
  const total = await ledger.acceptedDifficulty({ from: 0, to: Date.now() + 60_000, account: 'farm' })
  t.equal(total.shares, accepted, `${accepted} accepted shares, all in the ledger`)
  t.ok(Math.abs(total.difficulty - accepted * 0.001) < 1e-9, 'credited at the session difficulty')
  t.ok(ledger.currentRound() >= 2, `rounds start at 1; the block share closed round 1 (now in round ${ledger.currentRound()})`)
  t.ok(await ledger.roundTotals(1), 'round 1 holds the shares up to the first block')
  const blocks = await ledger.blocks()
  t.ok(blocks.length >= 1, 'the found block is in the ledger')
  t.match(blocks.find((b) => b.hash === fake.accepted[0]), { account: 'farm', worker: 's19', status: 'accepted' })
})

t.test('check-config reports a payout address of the wrong network', async (t) => {
  const c = capture(t.testdir({
    'headframe.toml': '[[sources]]\ntype = "bitcoind"\nnetwork = "mainnet"\npayout_address = "bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g"\n[[sources.nodes]]\nurl = "http://127.0.0.1:8332"\n',
  }))
  t.equal(await runCli(['check-config'], c.io), 1)
  t.match(c.err(), /sources\.0\.payout_address: /)
})
