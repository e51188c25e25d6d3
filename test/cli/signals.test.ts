/**
 * Signals: SIGHUP reloads the config file (live keys applied, the others
 * named as needing a restart), SIGTERM drains (no new connections, shares
 * in flight answered, ledger flushed) and exits 0. The reload details run
 * in-process through `runCli`; the drain runs the built executable as a
 * real process with a miner submitting when SIGTERM arrives.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, type CliIo } from '../../src/cli/program.js'
import { Ledger } from '../../src/ledger/index.js'
import { PACKAGE_ROOT } from '../../src/package-info.js'
import { FakeBitcoind, loadFixture } from '../helpers/fake-bitcoind.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { freePort } from '../helpers/free-port.js'
import { until } from '../helpers/until.js'

type Line = Record<string, unknown>

/** A CliIo whose signals the test sends: `stop()` for SIGTERM, `hup()` for SIGHUP. */
function harness(cwd: string) {
  const logs: Line[] = []
  let stop: (signal: string) => void = () => {}
  const stopped = new Promise<string>((resolve) => (stop = resolve))
  let reload: (() => void) | undefined
  let err = ''
  const io: CliIo = {
    stdout: () => {},
    stderr: (s) => (err += s),
    env: {},
    cwd,
    untilStopped: () => stopped,
    logDestination: { write: (line: string) => void logs.push(JSON.parse(line) as Line) },
    onReload(handler) {
      reload = handler
      return () => (reload = undefined)
    },
  }
  const find = async (match: (l: Line) => boolean, from = 0): Promise<Line> => {
    await until(() => logs.slice(from).some(match), 20_000)
    return logs.slice(from).find(match) as Line
  }
  return { io, logs, find, stop: (s = 'SIGTERM') => stop(s), hup: () => reload?.(), hasReload: () => reload !== undefined, err: () => err }
}

function toml(stratumPort: number, httpPort: number, extra: string): string {
  return `[stratum]\nhost = "127.0.0.1"\nport = ${stratumPort}\n[http]\nport = ${httpPort}\n${extra}`
}

t.test('SIGHUP applies vardiff, limits and the log level live and names what needs a restart', async (t) => {
  const port = await freePort()
  const httpPort = await freePort()
  const dir = t.testdir({ 'headframe.toml': toml(port, httpPort, '[vardiff]\nstart_difficulty = 4\nmin_difficulty = 1\n') })
  const h = harness(dir)
  const exit = runCli(['run'], h.io)
  await h.find((l) => l.msg === 'stratum listening')
  await until(() => h.hasReload())

  const before = await FakeMiner.connect(port)
  t.teardown(() => before.close())
  await before.handshake('farm.a')
  t.equal(before.difficulty, 4, 'the first config')

  // 1. vardiff (live), the port and the log level (restart).
  writeFileSync(join(dir, 'headframe.toml'), toml(port + 1 > 65535 ? port - 1 : port + 1, httpPort, '[vardiff]\nstart_difficulty = 16\nmin_difficulty = 1\n[log]\nlevel = "debug"\n'))
  let mark = h.logs.length
  h.hup()
  const done = await h.find((l) => l.msg === 'config reloaded', mark)
  t.same(done.applied, ['log.level', 'vardiff.start_difficulty'])
  t.same(done.needsRestart, ['stratum.port'])
  const warn = await h.find((l) => l.level === 'warn' && /need a restart/.test(String(l.msg)), mark)
  t.match(warn.msg, 'stratum.port')
  t.notOk(h.logs.slice(0, mark).some((l) => l.level === 'debug'), 'no debug line before the reload')
  const after = await FakeMiner.connect(port)
  t.teardown(() => after.close())
  await after.handshake('farm.b')
  t.equal(after.difficulty, 16, 'a new session starts at the reloaded difficulty (the old port still serves)')
  // The level is live: the session's debug lines (made by loggers that existed before the reload too) now appear.
  const authorized = await h.find((l) => l.level === 'debug' && l.msg === 'authorized', mark)
  t.equal(authorized.worker, 'farm.b')

  // 2. The allow list (live): new connections from 127.0.0.1 are refused, open ones stay.
  writeFileSync(join(dir, 'headframe.toml'), toml(port, httpPort, '[vardiff]\nstart_difficulty = 16\nmin_difficulty = 1\n[stratum.limits]\nallowed_cidrs = ["10.0.0.0/8"]\n'))
  mark = h.logs.length
  h.hup()
  const second = await h.find((l) => l.msg === 'config reloaded', mark)
  t.same(second.applied, ['log.level', 'stratum.limits.allowed_cidrs'], 'the level back to info (the file no longer sets it)')
  t.same(second.needsRestart, [], 'the port is back to what runs')
  const refused = await FakeMiner.connect(port)
  await until(() => refused.closed)
  t.notOk(before.closed, 'an open session stays')

  // 3. A broken file changes nothing and stops nothing.
  writeFileSync(join(dir, 'headframe.toml'), '[stratum]\nport = "x"\n')
  mark = h.logs.length
  h.hup()
  const failed = await h.find((l) => l.msg === 'config reload failed: nothing changed', mark)
  t.match(failed.err, /stratum\.port/)
  t.equal(failed.level, 'error')

  // 4. Unchanged.
  writeFileSync(join(dir, 'headframe.toml'), toml(port, httpPort, '[vardiff]\nstart_difficulty = 16\nmin_difficulty = 1\n[stratum.limits]\nallowed_cidrs = ["10.0.0.0/8"]\n'))
  mark = h.logs.length
  h.hup()
  await h.find((l) => l.msg === 'config reloaded: nothing changed', mark)

  h.stop()
  t.equal(await exit, 0)
  t.notOk(h.hasReload(), 'reloads stop with the pool')
  t.ok(h.logs.some((l) => l.msg === 'headframe stopped'))
})

t.test('SIGTERM on the real process: shares in flight are answered and in the ledger, exit 0', async (t) => {
  const bin = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js')
  t.ok(existsSync(bin), `${bin} exists (npm test builds it first)`)
  // A hard network target: no share is a block, so every share stays on one job.
  const gbt = { ...loadFixture('segwit-txs').getblocktemplate, bits: '1b0404cb', target: '00000000000404cb000000000000000000000000000000000000000000000000' }
  const fake = await FakeBitcoind.startFor(t, { template: gbt })
  const port = await freePort()
  const httpPort = await freePort()
  const dir = t.testdir({
    'headframe.toml': [
      '[stratum]',
      'host = "127.0.0.1"',
      `port = ${port}`,
      '[vardiff]',
      'fixed_difficulty = 0.0001',
      'min_difficulty = 0.0001',
      'start_difficulty = 0.0001',
      '[ledger]',
      'path = "./ledger"',
      // Shares wait up to a second for their commit: long enough to be caught in flight.
      'group_commit_ms = 1000',
      '[http]',
      `port = ${httpPort}`,
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
  const child = spawn(process.execPath, [bin, 'run'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  let err = ''
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  await until(() => out.includes('work source started'), 30_000)

  const miner = await FakeMiner.connect(port)
  t.teardown(() => miner.close())
  await miner.handshake('farm.s19')
  const job = await miner.nextNotify()
  t.equal(miner.difficulty, 0.0001)

  // SIGHUP on the real process: the handler is installed.
  child.kill('SIGHUP')
  await until(() => out.includes('config reloaded: nothing changed'), 20_000)

  // Thirty shares written at once; SIGTERM once the ledger holds them all in its commit queue.
  const N = 30
  const lines: string[] = []
  for (let i = 0; i < N; i++) {
    const found = miner.findShare(job, { extranonce2: Buffer.from(i.toString(16).padStart(16, '0'), 'hex') })
    lines.push(`${JSON.stringify({ id: 1000 + i, method: 'mining.submit', params: ['farm.s19', job.jobId, ...found] })}\n`)
  }
  const from = miner.received.length
  miner.sendRaw(lines.join(''))
  const { request } = await import('undici')
  let queued = 0
  while (queued < N) {
    const res = await request(`http://127.0.0.1:${httpPort}/api/pool`)
    queued = ((await res.body.json()) as { ledger: { queued: number } }).ledger.queued
  }
  child.kill('SIGTERM')
  t.equal(await exited, 0, `exit code 0 (stderr: ${err})`)
  await until(() => miner.closed)

  const replies = miner.received.slice(from).filter((m) => typeof m.id === 'number' && m.id >= 1000)
  const accepted = replies.filter((m) => m.result === true).length
  t.equal(replies.length, N, 'every share in flight was answered')
  t.equal(accepted, N, 'as accepted')
  const logs = out.trim().split('\n').map((l) => JSON.parse(l) as Line)
  t.ok(logs.some((l) => /stopping: draining/.test(String(l.msg))), 'says it drains')
  t.ok(logs.some((l) => l.msg === 'headframe stopped'))

  const ledger = await Ledger.open({ path: join(dir, 'ledger'), sync: false, retentionDays: 90 })
  t.teardown(() => ledger.close())
  const total = await ledger.acceptedDifficulty({ from: 0, to: Date.now() + 60_000, account: 'farm' })
  t.equal(total.shares, accepted, `each of the ${accepted} shares answered "accepted" is in the ledger, and no other`)
})
