/**
 * `headframe demo` end to end, in-process: the simulated chain, the pool as
 * `run` starts it, CPU miners over TCP Stratum. Waits (no timed assertion)
 * for shares, a vardiff change, an accepted block and its PPLNS split.
 */
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { runCli, type CliIo } from '../../src/cli/program.js'
import { fmtRate, minerName, reportSplit, startDemo, DEMO_SOURCE_NAME } from '../../src/demo/demo.js'
import { createLogger } from '../../src/log.js'
import { parseDemoOptions } from '../../src/demo/demo-command.js'
import { until } from '../helpers/until.js'

t.test('the demo shows shares, vardiff, a block and its PPLNS split, then stops cleanly', async (t) => {
  const lines: string[] = []
  const logs: string[] = []
  const demo = await startDemo(
    { miners: 2, port: 0, httpPort: 0, blockSeconds: 2, hashrate: 300_000, seed: 7 },
    { print: (line) => lines.push(line), env: {}, cwd: process.cwd(), logDestination: { write: (line) => void logs.push(line) } },
  )
  let stopped = false
  t.teardown(() => (stopped ? undefined : demo.stop()))
  t.match(demo.stratumUrl, /^stratum\+tcp:\/\/127\.0\.0\.1:\d+$/)
  t.ok(lines.some((l) => l.includes(`Dashboard: ${demo.httpUrl}/`)), 'the dashboard URL is printed')
  t.ok(lines.some((l) => l.includes(`Stratum:   ${demo.stratumUrl}`)), 'the Stratum URL is printed')
  t.ok(lines[0]?.includes('SIMULATED'), 'labelled a simulation first thing')

  await until(() => demo.stats.sharesAccepted >= 3 && demo.stats.difficultyChanges >= 1 && demo.stats.splits.length >= 1, 90_000)
  t.ok(lines.some((l) => /first share accepted/.test(l)))
  t.ok(lines.some((l) => /vardiff: (alice|bob)\.cpu\d .+ -> /.test(l)), 'a vardiff change is narrated')
  t.ok(lines.some((l) => /BLOCK \d+ found by (alice|bob)\.cpu\d, accepted by the simulated chain/.test(l)))
  t.ok(lines.some((l) => /PPLNS split of block \d+: reward 50\.00000000 BTC/.test(l)), 'the split is narrated')
  t.ok(demo.chain.accepted >= 1, 'the simulated chain accepted a block after its full checks')

  const [first] = demo.stats.splits
  t.equal(first?.split.scheme, 'pplns')
  t.equal(first?.reward, 5_000_000_000n)
  const credited = [...(first?.split.credits.values() ?? [])].reduce((a, b) => a + b, 0n)
  t.equal(credited + (first?.split.fee ?? 0n), first?.reward, 'credits + fee = reward')
  t.equal(first?.split.fee, 100_000_000n, '2 % fee')
  for (const account of first?.split.credits.keys() ?? []) t.ok(['alice', 'bob'].includes(account), account)

  const pool = (await (await request(`${demo.httpUrl}/api/pool`)).body.json()) as { activeSource: string }
  t.equal(pool.activeSource, DEMO_SOURCE_NAME, 'the API names the simulated source')
  t.ok(logs.some((l) => l.includes('SIMULATED')), 'the pool log says simulation too')
  t.ok(logs.some((l) => l.includes('demo: split of a found block')), 'the split is logged')

  const printed: string[] = []
  await reportSplit(demo.pool, { scheme: 'pplns', pplnsFactor: 2, feeBasisPoints: 200, treasury: 'treasury', thresholdSats: 1n, ppsPeriodMs: 1 }, createLogger({ level: 'silent' }), (l) => printed.push(l), demo.stats, { height: 99, hash: 'ee'.repeat(32), finder: 'x.y', networkDifficulty: 1 }, 20)
  t.match(printed, [/split of block 99 not computed: the block did not reach the ledger/], 'a block the ledger never got is reported, not thrown')

  const dataDir = demo.dataDir
  t.ok(existsSync(join(dataDir, 'ledger')))
  await demo.stop()
  stopped = true
  await demo.stop() // idempotent
  t.ok(lines.some((l) => l.startsWith('[demo] stopped:')))
  t.notOk(existsSync(dataDir), 'the temporary data folder is removed')
  t.ok(demo.miners.every((m) => m.accepted + m.rejected > 0 || m.hashes > 0), 'every miner hashed')
})

function cliIo(out: string[], err: string[], stop: () => Promise<string> = () => new Promise(() => {})): CliIo {
  return { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), env: {}, cwd: process.cwd(), untilStopped: stop }
}

t.test('headframe demo --blocks: runs until a block is split; a kept data folder continues its chain', async (t) => {
  const data = t.testdir({})
  const args = ['demo', '--miners', '1', '--port', '0', '--http-port', '0', '--block-seconds', '1', '--hashrate', '200000', '--blocks', '1', '--duration', '120', '--data', data]
  const out: string[] = []
  const err: string[] = []
  t.equal(await runCli(args, cliIo(out, err)), 0, err.join(''))
  const text = out.join('')
  t.match(text, /Dashboard: http:\/\/127\.0\.0\.1:\d+\//)
  t.match(text, /Stratum: +stratum\+tcp:\/\/127\.0\.0\.1:\d+/)
  t.match(text, /PPLNS split of block 1:/)
  t.match(text, /stopping \(--blocks 1 reached\)/)
  t.ok(existsSync(join(data, 'chain', 'regtest', 'blocks.jsonl')), 'the chain is kept')
  t.notOk(existsSync(join(data, 'chain', 'regtest', '.cookie')), 'the cookie is removed at exit')
  t.match(readFileSync(join(data, 'headframe.log'), 'utf8'), /SIMULATED/)

  const again: string[] = []
  t.equal(await runCli(args, cliIo(again, err)), 0, err.join(''))
  const height = Number(/Chain: +regtest rules, height (\d+)/.exec(again.join(''))?.[1])
  t.ok(height >= 1, `the second run starts from the saved chain (height ${height})`)
  t.match(again.join(''), new RegExp(`split of block ${height + 1}:`))
})

t.test('headframe demo stops on a signal and on --duration', async (t) => {
  const out: string[] = []
  const err: string[] = []
  const base = ['demo', '--miners', '1', '--port', '0', '--http-port', '0']
  t.equal(await runCli(base, cliIo(out, err, async () => 'SIGINT')), 0, err.join(''))
  t.match(out.join(''), /stopping \(SIGINT received\)/)
  t.match(out.join(''), /\[demo\] stopped:/)
  const timed: string[] = []
  t.equal(await runCli([...base, '--duration', '0.5'], cliIo(timed, err)), 0, err.join(''))
  t.match(timed.join(''), /stopping \(--duration 0\.5 s reached\)/)
})

t.test('bad options are reported together', async (t) => {
  const out: string[] = []
  const err: string[] = []
  const code = await runCli(['demo', '--miners', '0', '--port', 'x', '--block-seconds', '-1', '--log-level', 'loud', '--blocks', '0', '--hashrate', 'fast'], cliIo(out, err))
  t.equal(code, 1)
  const text = err.join('')
  for (const option of ['--miners', '--port', '--block-seconds', '--log-level', '--blocks', '--hashrate']) t.match(text, option)
  t.throws(() => parseDemoOptions({ miners: '2', port: '4000', httpPort: '4000', blockSeconds: '20', seed: '1', logLevel: 'info' }), /two different ports/)
  const ok = parseDemoOptions({ miners: '2', port: '0', httpPort: '0', blockSeconds: '5', seed: '3', logLevel: 'warn', duration: '10', blocks: '2', hashrate: '1e6', data: 'x' })
  t.same(ok, { demo: { miners: 2, port: 0, httpPort: 0, dataDir: 'x', blockSeconds: 5, hashrate: 1e6, seed: 3, logLevel: 'warn' }, duration: 10, blocks: 2 })
})

t.test('a busy port fails the start cleanly and removes the temporary folder', async (t) => {
  const { createServer } = await import('node:net')
  const { readdirSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const busy = (blocker.address() as { port: number }).port
  const demoDirs = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith('headframe-demo-'))
  const before = demoDirs()
  const io = { print: () => {}, env: {}, cwd: process.cwd(), logDestination: { write: () => {} } }
  await t.rejects(startDemo({ miners: 1, port: busy, httpPort: 0, blockSeconds: 5, hashrate: 10_000, seed: 1 }, io), { code: 'HF_STRATUM_LISTEN' })
  await t.rejects(startDemo({ miners: 1, port: 0, httpPort: busy, blockSeconds: 5, hashrate: 10_000, seed: 1 }, io), { code: 'HF_HTTP_LISTEN' })
  t.same(demoDirs().filter((name) => !before.includes(name)), [], 'no temporary folder left behind')
})

t.test('names and rates as printed', async (t) => {
  t.equal(minerName(0), 'alice.cpu1')
  t.equal(minerName(2), 'carol.cpu3')
  t.equal(minerName(8), 'miner9.cpu9')
  t.equal(fmtRate(2e6), '2.00 MH/s')
  t.equal(fmtRate(78_000), '78.0 kH/s')
  t.equal(fmtRate(500), '500 H/s')
})
