/**
 * From config to the payout loop: `[payouts]` mode and `[payouts.onchain]`
 * (a source reference or a URL with credentials, secrets from the
 * environment), `[payouts.addresses]` checked at start, `[[webhooks]]`
 * secrets from the environment and redacted in logs.
 */
import t from 'tap'
import { parseConfigToml, redactConfig } from '../../src/config/index.js'
import { ConfigError } from '../../src/errors.js'
import { createPayouts, payoutNode } from '../../src/payouts/payout-setup.js'
import { FakeWallet } from '../helpers/fake-wallet.js'
import { openLedger } from '../helpers/ledger-fixtures.js'
import { regtestAddress } from '../helpers/payout-fixtures.js'

const A = regtestAddress('a')

const SOURCE = `
[[sources]]
type = "bitcoind"
name = "node1"
network = "regtest"
payout_address = "${A}"
[[sources.nodes]]
url = "http://127.0.0.1:18443"
user = "rpc"
password = "pw"
`

t.test('config: mode, onchain by source or url, addresses, webhooks', async (t) => {
  const report = parseConfigToml('')
  t.equal(report.payouts.mode, 'report')
  t.same(report.webhooks, [])
  t.same(payoutNode(report), { network: 'mainnet', node: undefined })

  const bySource = parseConfigToml(`${SOURCE}\n[payouts]\nmode = "onchain"\n[payouts.onchain]\nsource = "node1"\nwallet = "pool"\n[payouts.addresses]\nalice = "${A}"\n`)
  const source = bySource.sources[0]
  t.same(payoutNode(bySource), { network: 'regtest', node: source?.type === 'bitcoind' ? source.nodes[0] : 'not a bitcoind source' })
  t.equal(bySource.payouts.addresses.alice, A)

  const byUrl = parseConfigToml('[payouts]\nmode = "onchain"\n[payouts.onchain]\nurl = "http://127.0.0.1:8332"\nnetwork = "signet"\nuser = "u"\npassword_env = "PAYOUT_PW"\n', { env: { PAYOUT_PW: 'from-env' } })
  const node = payoutNode(byUrl)
  t.equal(node.network, 'signet')
  t.equal(node.node?.password, 'from-env')

  t.throws(() => parseConfigToml('[payouts]\nmode = "onchain"\n'), { code: 'HF_CONFIG_INVALID', message: /payouts\.onchain\.source: expected either onchain\.source or onchain\.url/ })
  t.throws(() => parseConfigToml('[payouts]\nmode = "onchain"\n[payouts.onchain]\nsource = "a"\nurl = "http://x:1"\n'), { code: 'HF_CONFIG_INVALID' })
  t.throws(() => parseConfigToml('[payouts.onchain]\npassword_env = "NOPE"\n', { env: {} }), { message: /payouts\.onchain\.password_env: environment variable NOPE is not set/ })
  t.throws(() => payoutNode(parseConfigToml('[payouts.onchain]\nsource = "missing"\n')), { code: 'HF_CONFIG_INVALID', message: /payouts\.onchain\.source/ })

  const hooks = parseConfigToml('[[webhooks]]\nurl = "https://t.example/h"\nsecret_env = "HOOK_SECRET"\nevents = ["payout.sent"]\n', { env: { HOOK_SECRET: 'k1' } })
  t.same(hooks.webhooks, [{ url: 'https://t.example/h', secret: 'k1', secret_env: 'HOOK_SECRET', events: ['payout.sent'], timeout_ms: 10_000 }])
  t.equal((redactConfig(hooks) as unknown as { webhooks: { secret: string }[] }).webhooks[0]?.secret, '(set)')
  t.throws(() => parseConfigToml('[[webhooks]]\nurl = "https://t.example/h"\n'), { message: /webhooks\.0\.secret: expected a secret or a secret_env/ })
  t.throws(() => parseConfigToml('[[webhooks]]\nurl = "https://t.example/h"\nsecret_env = "MISSING"\n', { env: {} }), { message: /webhooks\.0\.secret_env: environment variable MISSING is not set/ })
  t.throws(() => parseConfigToml('[[webhooks]]\nurl = "ftp://x"\nsecret = "s"\n'), { code: 'HF_CONFIG_INVALID' })
  t.throws(() => parseConfigToml('[[webhooks]]\nurl = "http://x/a"\nsecret = "s"\n[[webhooks]]\nurl = "http://x/a"\nsecret = "t"\n'), { message: /webhooks\.1\.url: expected a URL not used by another/ })
  t.throws(() => parseConfigToml('[[webhooks]]\nurl = "http://x"\nsecret = "s"\nevents = ["block.eaten"]\n'), { code: 'HF_CONFIG_INVALID' })
})

t.test('createPayouts: report mode has no sender; onchain pays from the configured wallet', async (t) => {
  const ledger = await openLedger(t)
  const report = createPayouts(parseConfigToml(''), { ledger })
  t.equal(report.sender, undefined)
  t.equal(report.runner.mode, 'report')
  await report.stop()

  const wallet = await FakeWallet.start({ wallet: 'pool' })
  t.teardown(() => wallet.close())
  const config = parseConfigToml(
    `[payouts]\nmode = "onchain"\nthreshold_sats = 1000\n[payouts.onchain]\nurl = "${wallet.url}"\nnetwork = "regtest"\nwallet = "pool"\nuser = "rpc"\npassword = "secret"\nconfirm_depth = 2\ndrop_depth = 8\n[payouts.addresses]\nalice = "${A}"\n`,
  )
  const written: string[] = []
  const onchain = createPayouts(config, { ledger, eventOps: (type) => (written.push(type), []), eventsWritten: () => written.push('wake') })
  t.equal(onchain.network, 'regtest')
  t.equal(onchain.sender?.kind, 'onchain')
  await ledger.credit('alice', 5000n)
  const result = await onchain.runner.runOnce()
  t.equal(result.sent.length, 1)
  t.same([...wallet.paid()], [[A, 5000n]])
  t.same(written, ['payout.sent', 'wake'])
  t.equal(await onchain.sender?.available(), 2_100_000_000n - 5000n)
  // confirm_depth and drop_depth from the config: confirmed at 2; a conflict 7 deep is not yet 8.
  wallet.mine(result.sent[0]!.txid!, 2)
  t.same((await onchain.runner.runOnce()).confirmed.map((b) => b.txid), [result.sent[0]!.txid])
  await ledger.credit('alice', 5000n)
  const second = (await onchain.runner.runOnce()).sent[0]!
  wallet.conflict(second.txid!, 7)
  t.same((await onchain.runner.runOnce()).dropped, [])
  wallet.conflict(second.txid!, 8)
  t.same((await onchain.runner.runOnce()).dropped.map((b) => b.id), [second.id])
  t.same(written, ['payout.sent', 'wake', 'payout.confirmed', 'wake', 'payout.sent', 'wake', 'payout.dropped', 'wake', 'payout.sent', 'wake'])
  await onchain.stop()

  const bad = parseConfigToml(`[payouts.addresses]\nalice = "${A}"\n`)
  t.throws(() => createPayouts(bad, { ledger }), ConfigError, 'a regtest address on the default mainnet')
})
