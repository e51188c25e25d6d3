/**
 * Cookie and user/password auth: the cookie read lazily, re-read after a
 * 401 when bitcoind restarted with a new one, the network subfolders, and
 * no secret in any message or log line.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { BitcoindClient, cookiePath, rpcOptionsFromConfig, templateRules, type Network, type RpcClientOptions } from '../../src/bitcoind/index.js'
import type { BitcoindNodeConfig } from '../../src/config/index.js'
import { BitcoindError } from '../../src/errors.js'
import { createLogger } from '../../src/log.js'
import { FakeBitcoind, loadFixture } from '../helpers/fake-bitcoind.js'

function clientFor(t: Test, fake: FakeBitcoind, options: Partial<RpcClientOptions> = {}): BitcoindClient {
  const client = new BitcoindClient({ ...fake.clientOptions(), timeoutMs: 5000, retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 }, ...options })
  t.teardown(() => client.close())
  return client
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'hf-bitcoind-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const node = (url: string, fields: Partial<BitcoindNodeConfig> = {}): BitcoindNodeConfig => ({
  url,
  datadir: '',
  cookie_file: '',
  user: '',
  password: '',
  password_env: '',
  ...fields,
})

t.test('a new cookie (bitcoind restarted): 401, the cookie is re-read, the call succeeds', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  t.equal(await client.getBestBlockHash(), fake.tip.hash)
  const before = fake.credentials.password
  fake.rotateCookie()
  t.not(fake.credentials.password, before)
  t.equal(await client.getBestBlockHash(), fake.tip.hash, 'succeeds')
  t.equal(fake.unauthorizedCount, 1, 'after one 401')

  await fake.restart()
  t.equal(await client.getBestBlockHash(), fake.tip.hash, 'after a full restart too')
  t.equal(fake.unauthorizedCount, 2)

  // submitblock as well: a 401 means the call never ran, so the retry is safe.
  fake.rotateCookie()
  t.equal(await client.submitBlock(loadFixture('empty-mempool').stratum.block), null, 'a block submitted across a cookie change')
  t.equal(fake.unauthorizedCount, 3)
})

t.test('a restart into warmup: the new cookie works, then -28 until ready', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  await client.getBestBlockHash()
  await fake.restart({ warmup: 'Loading block index…' })
  const err = await client.getBestBlockHash().catch((e: unknown) => e)
  t.match(err, { code: 'HF_BITCOIND_WARMING_UP' })
  fake.warmUp(false)
  t.equal(await client.getBestBlockHash(), fake.tip.hash)
})

t.test('no cookie yet (bitcoind not started): HF_BITCOIND_COOKIE, then it works once bitcoind writes one', async (t) => {
  const datadir = tempDir(t)
  const file = cookiePath(datadir, 'regtest')
  const client = new BitcoindClient({ url: 'http://127.0.0.1:1', auth: { cookieFile: file } })
  t.teardown(() => client.close())
  const err = await client.getBestBlockHash().catch((e: unknown) => e)
  t.ok(err instanceof BitcoindError)
  t.match(err, { code: 'HF_BITCOIND_COOKIE', retryable: true })
  t.equal((err as Error).message, `cannot read the bitcoind cookie file ${file}: ENOENT (is bitcoind running, with this datadir and network?)`)

  const fake = await FakeBitcoind.startFor(t, { datadir })
  t.equal(fake.cookieFile, file, 'the fake writes it where bitcoind would')
  const late = clientFor(t, fake, { auth: { cookieFile: file } })
  t.equal(await late.getBestBlockHash(), fake.tip.hash)
})

t.test('a cookie file without user:password', async (t) => {
  const file = join(tempDir(t), '.cookie')
  writeFileSync(file, 'garbage\n')
  const client = new BitcoindClient({ url: 'http://127.0.0.1:1', auth: { cookieFile: file } })
  t.teardown(() => client.close())
  t.match(await client.getBestBlockHash().catch((e: unknown) => e), {
    code: 'HF_BITCOIND_COOKIE',
    message: `the bitcoind cookie file ${file} holds no user:password line`,
  })
})

t.test('the cookie file disappears after a 401 (bitcoind stopping): the 401 stands', async (t) => {
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake)
  await client.getBestBlockHash()
  rmSync(fake.cookieFile)
  fake.inject('unauthorized', { times: 1 })
  t.match(await client.getBestBlockHash().catch((e: unknown) => e), { code: 'HF_BITCOIND_AUTH' })
  fake.rotateCookie()
  t.equal(await client.getBestBlockHash(), fake.tip.hash, 'the next call reads the new cookie')
})

t.test('cookie paths and config: each network in its subfolder, mainnet in the datadir', async (t) => {
  t.equal(cookiePath('/d', 'mainnet'), join('/d', '.cookie'))
  t.equal(cookiePath('/d', 'testnet3'), join('/d', 'testnet3', '.cookie'))
  t.equal(cookiePath('/d', 'testnet4'), join('/d', 'testnet4', '.cookie'))
  t.equal(cookiePath('/d', 'signet'), join('/d', 'signet', '.cookie'))
  t.equal(cookiePath('/d', 'regtest'), join('/d', 'regtest', '.cookie'))

  for (const network of ['mainnet', 'testnet3', 'testnet4', 'signet', 'regtest'] as const satisfies readonly Network[]) {
    const datadir = tempDir(t)
    const fake = await FakeBitcoind.startFor(t, { datadir, network })
    t.equal(fake.cookieFile, cookiePath(datadir, network), `${network}: cookie where bitcoind writes it`)
    const client = new BitcoindClient(rpcOptionsFromConfig(node(fake.url, { datadir }), network, { timeoutMs: 5000 }))
    t.teardown(() => client.close())
    const info = await client.checkReady(network)
    t.ok(info.chain.length > 0, `${network}: ready (chain "${info.chain}")`)
    const template = await client.getBlockTemplate(templateRules(network))
    t.equal(template.height, fake.tip.height + 1, `${network}: a template with the network's rules`)
  }
})

t.test('rpcOptionsFromConfig: user, then cookie_file, then datadir, then ~/.bitcoin', async (t) => {
  t.same(rpcOptionsFromConfig(node('http://h:1', { user: 'u', password: 'p', datadir: '/d' }), 'regtest').auth, { user: 'u', password: 'p' })
  t.same(rpcOptionsFromConfig(node('http://h:1', { cookie_file: '/c/.cookie', datadir: '/d' }), 'regtest').auth, { cookieFile: '/c/.cookie' })
  t.same(rpcOptionsFromConfig(node('http://h:1', { datadir: '/d' }), 'testnet4').auth, { cookieFile: join('/d', 'testnet4', '.cookie') })
  t.same(rpcOptionsFromConfig(node('http://h:1'), 'signet', { defaultDatadir: '/home/x/.bitcoin' }).auth, {
    cookieFile: join('/home/x/.bitcoin', 'signet', '.cookie'),
  })
  const withTimeout = rpcOptionsFromConfig(node('http://h:1'), 'mainnet', { timeoutMs: 1234 })
  t.equal(withTimeout.timeoutMs, 1234)
  t.match((withTimeout.auth as { cookieFile: string }).cookieFile, /\.bitcoin[/\\]\.cookie$/)
})

t.test('bad client options are programming errors, thrown at construction', async (t) => {
  t.throws(() => new BitcoindClient({ url: 'not a url', auth: { user: 'u', password: 'p' } }), TypeError)
  t.throws(() => new BitcoindClient({ url: 'ftp://h:1', auth: { user: 'u', password: 'p' } }), TypeError)
  t.throws(() => new BitcoindClient({ url: 'http://h:1' }), /no credentials/)
})

t.test('log lines never carry the credentials', async (t) => {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'))
      done()
    },
  })
  const log = createLogger({ level: 'trace' }, sink)
  const fake = await FakeBitcoind.startFor(t)
  const client = clientFor(t, fake, { log })
  await client.getBestBlockHash()
  const old = fake.credentials.password
  fake.rotateCookie()
  fake.inject('reset', { times: 1 })
  await client.getBestBlockHash()
  fake.inject('unauthorized')
  await client.getBestBlockHash().catch(() => undefined)
  const all = lines.join('')
  t.ok(lines.length >= 2, 'something was logged (cookie re-read, retry)')
  for (const secret of [old, fake.credentials.password]) {
    t.notMatch(all, secret)
    t.notMatch(all, Buffer.from(`__cookie__:${secret}`).toString('base64'))
  }
})
