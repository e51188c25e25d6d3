/**
 * The pool runs the crediting step after each found-block sync: a block
 * already mature in the ledger is credited at start by the configured
 * scheme, once, and a restart credits nothing more.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { runCli, type CliIo } from '../../src/cli/program.js'
import { Ledger } from '../../src/ledger/index.js'
import { freePort } from '../helpers/free-port.js'
import { T0, share } from '../helpers/ledger-fixtures.js'
import { until } from '../helpers/until.js'

async function runPoolOnce(t: Test, dir: string, waitFor: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]> {
  const logs: Record<string, unknown>[] = []
  let stop: () => void = () => {}
  const stopped = new Promise<string>((resolve) => (stop = () => resolve('SIGTERM')))
  const io: CliIo = { stdout: () => {}, stderr: () => {}, env: {}, cwd: dir, untilStopped: () => stopped, logDestination: { write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>) } }
  const exit = runCli(['run'], io)
  await until(() => logs.some(waitFor) || logs.some((l) => l.msg === 'headframe stopped'), 30_000)
  stop()
  t.equal(await exit, 0, 'the pool stops cleanly')
  return logs
}

t.test('a mature block in the ledger is credited by [payouts] scheme when the pool starts, once', async (t) => {
  const dir = t.testdir({
    'headframe.toml': ['[stratum]', 'host = "127.0.0.1"', `port = ${await freePort()}`, '[http]', 'enabled = false', '[ledger]', 'path = "./ledger"', '[payouts]', 'scheme = "solo"', 'fee_percent = 1', 'treasury_account = "house"', ''].join('\n'),
  })
  const hash = 'ab'.repeat(32)
  const ledger = await Ledger.open({ path: join(dir, 'ledger'), sync: false, retentionDays: 90 })
  await ledger.record(share({ time: T0, account: 'finder', worker: 'rig', block: true, height: 77 }))
  await ledger.addBlock({ hash, height: 77, reward: 10_000n, account: 'finder', worker: 'rig', time: T0, status: 'confirmed', confirmations: 100 })
  await ledger.close()

  const logs = await runPoolOnce(t, dir, (l) => l.component === 'accounting' && /block 77 credited/.test(String(l.msg)))
  t.ok(logs.some((l) => /block 77 credited \(solo\)/.test(String(l.msg))), 'credited at start')
  const again = await runPoolOnce(t, dir, (l) => l.msg === 'stratum listening')
  t.notOk(again.some((l) => /credited/.test(String(l.msg))), 'not again after a restart')

  const after = await Ledger.open({ path: join(dir, 'ledger'), sync: false, retentionDays: 90 })
  t.teardown(() => after.close())
  t.same(await after.balances(), new Map([['finder', 9_900n], ['house', 100n]]))
})
