/**
 * The simulated chain behind its JSON-RPC server, driven by Headframe's
 * real bitcoind client and template source (cookie auth, long polls,
 * submitblock, confirmations), with a miner over real TCP Stratum.
 */
import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { BitcoindClient } from '../../src/bitcoind/index.js'
import { BitcoindError } from '../../src/errors.js'
import { addressToScript } from '../../src/jobs/address.js'
import { FoundBlockStore } from '../../src/jobs/found-blocks.js'
import { TemplateSource } from '../../src/jobs/template-source.js'
import { createLogger } from '../../src/log.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { ChainRpcServer } from '../../src/demo/chain-rpc.js'
import { SIMULATION_WARNING, SimulatedChain } from '../../src/demo/simulated-chain.js'
import { FakeMiner } from '../helpers/fake-miner.js'
import { startServer } from '../helpers/server.js'
import { until } from '../helpers/until.js'

const hasher = selectHasher({})
const PAYOUT = 'bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g'

async function startChain(t: Test): Promise<{ chain: SimulatedChain; rpc: ChainRpcServer; client: BitcoindClient; datadir: string }> {
  const datadir = t.testdir({})
  const chain = new SimulatedChain({ sha256d: hasher.sha256d })
  const rpc = await ChainRpcServer.start({ chain, datadir, log: createLogger({ level: 'silent' }) })
  t.teardown(() => rpc.close())
  const client = new BitcoindClient({ url: rpc.url, auth: { cookieFile: join(datadir, 'regtest', '.cookie') }, retry: { retries: 0 } })
  t.teardown(() => client.close())
  return { chain, rpc, client, datadir }
}

/** A raw JSON-RPC call with the cookie's credentials (or none). */
async function raw(rpc: ChainRpcServer, body: string, options: { auth?: string | false; method?: 'POST' | 'GET' } = {}): Promise<{ status: number; json: unknown }> {
  const { readFileSync } = await import('node:fs')
  const cookie = options.auth === undefined ? readFileSync(rpc.cookieFile, 'utf8') : options.auth
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (cookie !== false) headers.authorization = `Basic ${Buffer.from(cookie).toString('base64')}`
  const res = await request(rpc.url, { method: options.method ?? 'POST', headers, ...(options.method === 'GET' ? {} : { body }) })
  const text = await res.body.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = text
  }
  return { status: res.statusCode, json }
}

t.test("Headframe's bitcoind client reads it as a regtest node", async (t) => {
  const { chain, rpc, client } = await startChain(t)
  const info = await client.checkReady('regtest')
  t.equal(info.chain, 'regtest')
  t.equal(info.blocks, 0)
  t.same(info.warnings, [SIMULATION_WARNING], 'labelled as a simulation')
  const template = await client.getBlockTemplate(['segwit'])
  t.equal(template.height, 1)
  t.equal(template.coinbasevalue, 5_000_000_000n)
  t.equal(await client.getBestBlockHash(), chain.tip.hash)
  const header = await client.getBlockHeader(chain.tip.hash)
  t.equal(header.height, 0)
  t.equal(header.confirmations, 1)
  t.equal(await client.call('getblockcount'), 0)
  t.equal(await client.call('getblockhash', [0]), chain.tip.hash)
  t.equal(await client.call('getdifficulty'), chain.difficulty)
  t.match(await client.call('getmininginfo'), { chain: 'regtest', warnings: [SIMULATION_WARNING] })
  t.equal(await client.call('getblockheader', [chain.tip.hash, false]), chain.tip.header.toString('hex'))
  t.ok(existsSync(rpc.cookieFile), 'a cookie, as bitcoind writes it')
})

t.test('errors as Bitcoin Core answers them', async (t) => {
  const { rpc, client } = await startChain(t)
  const rpcError = async (method: string, params: unknown[], code: number): Promise<void> => {
    const err = await client.call(method, params).catch((e: unknown) => e)
    t.ok(err instanceof BitcoindError, method)
    t.equal((err as BitcoindError).rpcCode, code, `${method} ${JSON.stringify(params)}: ${code}`)
  }
  await rpcError('getblockhash', [5], -8)
  await rpcError('getblockheader', ['00'.repeat(32)], -5)
  await rpcError('getblockheader', ['xyz'], -8)
  await rpcError('getblockheader', [], -3)
  await rpcError('getblocktemplate', [{ rules: [] }], -8)
  await rpcError('getblocktemplate', [{ rules: ['segwit'], mode: 'proposal' }], -8)
  await rpcError('submitblock', [], -3)
  await rpcError('submitblock', ['00'], -22)
  await rpcError('stop', [], -32601)

  const wrong = await raw(rpc, '{"method":"getblockcount","params":[]}', { auth: '__cookie__:wrong' })
  t.equal(wrong.status, 401)
  const none = await raw(rpc, '{}', { auth: false })
  t.equal(none.status, 401)
  const get = await raw(rpc, '', { method: 'GET' })
  t.equal(get.status, 405)
  const parse = await raw(rpc, '{not json')
  t.same(parse, { status: 500, json: { result: null, error: { code: -32700, message: 'Parse error' }, id: null } })
  const notObject = await raw(rpc, '[1,2]')
  t.equal(notObject.status, 400)
  const noMethod = await raw(rpc, '{"id":1}')
  t.same(noMethod, { status: 400, json: { result: null, error: { code: -32600, message: 'Method must be a string' }, id: 1 } })
  const v1 = await raw(rpc, '{"id":"x","method":"nope"}')
  t.equal(v1.status, 404, 'JSON-RPC 1.0: unknown method is HTTP 404')
  const v2 = await raw(rpc, '{"jsonrpc":"2.0","id":"x","method":"nope"}')
  t.same(v2, { status: 200, json: { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 'x' } })
  const ok1 = await raw(rpc, '{"id":7,"method":"getblockcount"}')
  t.same(ok1, { status: 200, json: { result: 0, error: null, id: 7 } })
  const big = await raw(rpc, `{"id":1,"method":"submitblock","params":["${'00'.repeat(6 * 1024 * 1024)}"]}`).catch((e: unknown) => e)
  t.ok(big instanceof Error || (big as { status: number }).status === 413, 'a body over 10 MB is refused')

  const cookie = rpc.cookieFile
  await rpc.close()
  t.notOk(existsSync(cookie), 'the cookie is removed at close, as bitcoind does at exit')
})

t.test('the real template source mines on it through a Stratum server; blocks are accepted and followed', async (t) => {
  const { chain, rpc, datadir } = await startChain(t)
  const blocks = await FoundBlockStore.open(join(datadir, 'found-blocks.jsonl'))
  t.teardown(() => blocks.close())
  const source = new TemplateSource({
    name: 'simulated-regtest',
    network: 'regtest',
    nodes: [new BitcoindClient({ url: rpc.url, auth: { cookieFile: rpc.cookieFile }, retry: { retries: 0 } })],
    payoutScript: addressToScript(PAYOUT, 'regtest'),
    tag: '/headframe-demo/',
    extranonceSize: 12,
    versionMask: 0x1fffe000,
    refreshMs: 3_600_000,
    pollMs: 3_600_000,
    longpoll: true,
    blocks,
    sha256d: hasher.sha256d,
    log: createLogger({ level: 'silent' }),
  })
  t.teardown(() => source.stop())
  await source.start()
  await until(() => source.current() !== undefined)
  t.equal(source.current()?.height, 1)
  await until(() => rpc.longPolls === 1)

  const { server, port } = await startServer(t, { attach: source })
  const miner = await FakeMiner.connect(port)
  t.teardown(() => miner.close())
  await miner.handshake('alice.cpu1')
  // Regtest's target passes about every other hash: shares at difficulty 0.001 are blocks.
  for (let height = 1; height <= 3; height++) {
    await until(() => miner.lastNotify() !== undefined && source.current()?.height === height)
    const from = miner.received.length
    const job = miner.lastNotify()!
    const reply = await miner.submit('alice.cpu1', job.jobId, miner.findShare(job, { extranonce2: Buffer.alloc(8, height) }))
    t.equal(reply.result, true, `share ${height} accepted`)
    await until(() => chain.tip.height === height)
    await until(() => source.current()?.height === height + 1, 5000)
    await miner.waitFor((m) => m.method === 'mining.notify' && m.params?.[8] === true, from)
  }
  t.same(rpc.submissions, [null, null, null], 'every block accepted by the simulated chain after its full checks')
  await until(() => server.counters.blocksAccepted === 3)
  await until(() => blocks.list().every((b) => b.status === 'accepted'))
  await source.checkConfirmations()
  const first = blocks.list().find((b) => b.height === 1)
  t.equal(first?.confirmations, 3, 'confirmations followed through getblockheader')
  t.equal(chain.blockAt(1)?.hash, first?.hash)
})
