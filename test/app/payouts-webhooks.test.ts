/**
 * Payouts and treasury webhooks in the assembled pool: `startPool` with an
 * onchain payout wallet (a fake wallet over HTTP) and a webhook endpoint (a
 * real local receiver): a found block in the ledger is announced after the
 * block sync, a payout run pays and announces it, `stop()` ends both before
 * the ledger closes, and a bad payout address stops the start.
 */
import t from 'tap'
import { join } from 'node:path'
import { startPool } from '../../src/app.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/log.js'
import { FakeWallet } from '../helpers/fake-wallet.js'
import { freePort } from '../helpers/free-port.js'
import { regtestAddress } from '../helpers/payout-fixtures.js'
import { until } from '../helpers/until.js'
import { WebhookReceiver } from '../helpers/webhook-receiver.js'

const A = regtestAddress('app/alice')

t.test('the pool pays on schedule and delivers treasury events; stop closes them first', async (t) => {
  const dir = t.testdir({})
  const wallet = await FakeWallet.start({ wallet: 'pool' })
  t.teardown(() => wallet.close())
  const receiver = new WebhookReceiver('app-secret')
  await receiver.up()
  t.teardown(() => receiver.down())
  const config = parseConfig(
    {
      stratum: { host: '127.0.0.1', port: await freePort() },
      http: { enabled: false },
      ledger: { path: join(dir, 'ledger') },
      payouts: {
        mode: 'onchain',
        onchain: { url: wallet.url, network: 'regtest', wallet: 'pool', user: 'rpc', password: 'secret' },
        addresses: { alice: A },
      },
      webhooks: [{ url: receiver.url, secret_env: 'HOOK_SECRET' }],
      log: { level: 'silent' },
    },
    { env: { HOOK_SECRET: 'app-secret' } },
  )
  const pool = await startPool({ config, origin: { kind: 'defaults' }, log: createLogger(config.log) })
  let stopped = false
  t.teardown(() => (stopped ? undefined : pool.stop()))

  await pool.ledger.addBlock({ hash: 'ab'.repeat(32), height: 7, reward: 5_000_000_000n, account: 'alice', worker: 'rig', time: Date.now(), status: 'accepted' })
  pool.stratum.emit('block', {})
  await until(() => receiver.events.some((e) => e.type === 'block.found'))

  await pool.ledger.credit('alice', 250_000n)
  const run = await pool.payouts.runOnce()
  t.equal(run.sent.length, 1)
  await until(() => receiver.events.some((e) => e.type === 'payout.sent'))
  t.same([...wallet.paid()], [[A, 250_000n]])
  t.ok(receiver.requests.every((r) => r.signed), 'every request signed with the secret from the environment')
  t.equal(pool.webhooks.stats[0]?.url, receiver.url)

  await pool.stop()
  stopped = true
  await t.rejects(pool.ledger.balance('alice'), { code: 'HF_LEDGER_CLOSED' })
})

t.test('an invalid payout address stops the start and releases the ledger', async (t) => {
  const dir = t.testdir({})
  const config = parseConfig({
    stratum: { host: '127.0.0.1', port: await freePort() },
    http: { enabled: false },
    ledger: { path: join(dir, 'ledger') },
    payouts: { addresses: { alice: 'bc1qnotanaddress' } },
    log: { level: 'silent' },
  })
  await t.rejects(startPool({ config, origin: { kind: 'defaults' }, log: createLogger(config.log) }), { code: 'HF_CONFIG_INVALID', message: /payouts\.addresses\.alice/ })
  // The ledger was closed: it opens again.
  const { Ledger } = await import('../../src/ledger/index.js')
  const ledger = await Ledger.open({ path: join(dir, 'ledger'), sync: false, retentionDays: 90 })
  await ledger.close()
})
