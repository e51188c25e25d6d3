/**
 * The real sessions in test/fixtures/stratum (cpuminer 2.5.1 and bfgminer
 * 5.5.0 against ckpool 0.9.9): every miner line decodes to the right kind,
 * and every pool line that our encoders can produce comes out JSON-equal.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import {
  decodeRequest,
  encodeNotify,
  encodeResult,
  encodeSetDifficulty,
  encodeShowMessage,
  encodeSubscribeResult,
  LineFramer,
  type JsonRpcId,
  type StratumRequest,
  type SubmitRequest,
} from '../../src/stratum/index.js'
import { readFixture, transcript, type TranscriptLine } from '../fixtures/stratum/index.js'

const FILES = ['cpuminer-ckpool.jsonl', 'bfgminer-ckpool.jsonl']

const KIND_OF: Record<string, StratumRequest['kind']> = {
  'mining.subscribe': 'subscribe',
  'mining.authorize': 'authorize',
  'mining.submit': 'submit',
  'mining.extranonce.subscribe': 'extranonce-subscribe',
  'mining.suggest_difficulty': 'suggest-difficulty',
  'mining.get_transactions': 'get-transactions',
}

interface Wire {
  id?: JsonRpcId
  method?: string
  params?: unknown[]
  result?: unknown
  error?: unknown
}

const parse = (line: string): Wire => JSON.parse(line) as Wire

function decoded(line: string): StratumRequest {
  const r = decodeRequest(line)
  if (!r.ok) throw new Error(`${line}: ${r.error.message}`)
  return r.request
}

for (const file of FILES) {
  t.test(file, async (t) => {
    const lines = transcript(file)
    t.ok(lines.length > 5, 'transcript loaded')

    t.test('miner -> pool: every line decodes to its kind', async (t) => {
      for (const { line, conn } of lines.filter((l) => l.dir === 'miner->pool')) {
        const wire = parse(line)
        const request = decoded(line)
        t.equal(request.kind, KIND_OF[wire.method as string], `conn ${conn}: ${wire.method}`)
        t.equal(request.id, wire.id ?? null, 'id kept as sent')
        if (request.kind === 'submit') {
          const p = wire.params as string[]
          t.strictSame(
            [request.worker, request.jobId, request.extranonce2.toString('hex'), request.ntime, request.nonce, request.versionBits],
            [p[0], p[1], p[2], parseInt(p[3] as string, 16), parseInt(p[4] as string, 16), undefined],
            'submit fields',
          )
        }
      }
    })

    t.test('pool -> miner: our encoders give the same messages (JSON-equal)', async (t) => {
      for (const { line, conn } of lines.filter((l) => l.dir === 'pool->miner')) {
        const wire = parse(line)
        const params = wire.params ?? []
        let ours: string
        if (wire.method === 'mining.notify') {
          const [jobId, prevHash, coinb1, coinb2, merkleBranch, version, nbits, ntime, cleanJobs] = params as [
            string,
            string,
            string,
            string,
            string[],
            string,
            string,
            string,
            boolean,
          ]
          ours = encodeNotify({ jobId, prevHash, coinb1, coinb2, merkleBranch, version, nbits, ntime, cleanJobs })
        } else if (wire.method === 'mining.set_difficulty') {
          ours = encodeSetDifficulty(params[0] as number)
        } else if (wire.method === 'client.show_message') {
          ours = encodeShowMessage(params[0] as string)
        } else if (wire.method === undefined && Array.isArray(wire.result)) {
          // ckpool's subscribe reply lists only a mining.notify subscription;
          // ours lists set_difficulty too. Same extranonce1 and size.
          const [subs, extranonce1, extranonce2Size] = wire.result as [[string, string][], string, number]
          const subscriptionId = (subs[0] as [string, string])[1]
          const mine = (JSON.parse(encodeSubscribeResult(wire.id ?? null, { subscriptionId, extranonce1, extranonce2Size })) as Wire).result as unknown[]
          t.strictSame(mine.slice(1), [extranonce1, extranonce2Size], `conn ${conn}: subscribe reply`)
          t.ok((mine[0] as unknown[]).some((tuple) => JSON.stringify(tuple) === JSON.stringify(subs[0])), 'notify subscription tuple')
          continue
        } else if (wire.method === undefined) {
          ours = encodeResult(wire.id ?? null, wire.result)
        } else {
          t.fail(`unexpected pool message ${wire.method}`)
          continue
        }
        t.strictSame(JSON.parse(ours), wire, `conn ${conn}: ${wire.method ?? `reply to ${String(wire.id)}`}`)
        // And the decoder, fed the pool's side, neither throws nor invents.
        const back = decodeRequest(line)
        t.equal(back.ok && (wire.method === undefined ? back.request.kind === 'response' : back.request.kind === 'unknown'), true)
      }
    })

    t.test("each pool reply's id is what our decoder kept from the request", async (t) => {
      const asked = new Map<string, JsonRpcId>()
      for (const { line, dir, conn } of lines) {
        const wire = parse(line)
        if (dir === 'miner->pool') {
          const request = decoded(line)
          if (request.id !== null) asked.set(`${conn}:${JSON.stringify(wire.id)}`, request.id)
        } else if (wire.method === undefined) {
          const id = asked.get(`${conn}:${JSON.stringify(wire.id)}`)
          t.not(id, undefined, `reply ${JSON.stringify(wire.id)} matches a request`)
          t.equal((JSON.parse(encodeResult(id as JsonRpcId, true)) as Wire).id, wire.id)
        }
      }
    })

    t.test('the miner side, as one byte stream in random-sized chunks, frames back into its lines', async (t) => {
      const stream = Buffer.from(lines.filter((l) => l.dir === 'miner->pool').map((l) => `${l.line}\n`).join(''))
      const framer = new LineFramer()
      const got: string[] = []
      for (let at = 0, size = 1; at < stream.length; at += size, size = (size * 7 + 3) % 97 || 1) {
        got.push(...framer.push(stream.subarray(at, at + size)).lines)
      }
      t.strictSame(
        got,
        lines.filter((l) => l.dir === 'miner->pool').map((l) => l.line),
      )
    })
  })
}

t.test('the decoded winning submit rebuilds the block Bitcoin Core accepted (cpuminer-ckpool-block.json)', async (t) => {
  const sha256d = (b: Buffer): Buffer => createHash('sha256').update(createHash('sha256').update(b).digest()).digest()
  const block = JSON.parse(readFixture('cpuminer-ckpool-block.json')) as { block_hash: string; block: string }
  const lines: TranscriptLine[] = transcript('cpuminer-ckpool.jsonl')
  const subscribeReply = parse((lines.find((l) => l.dir === 'pool->miner' && l.line.includes('"result":[[')) as TranscriptLine).line)
  const extranonce1 = Buffer.from((subscribeReply.result as [unknown, string])[1], 'hex')
  const submit = lines.map((l) => (l.dir === 'miner->pool' ? decoded(l.line) : null)).find((r): r is SubmitRequest => r?.kind === 'submit' && r.id === 4)
  if (submit === undefined) return t.fail('no submit with id 4')
  const notify = lines
    .map((l) => parse(l.line))
    .find((w) => w.method === 'mining.notify' && (w.params as unknown[])[0] === submit.jobId)
  const [, prevHash, coinb1, coinb2, branch, version, nbits] = (notify as Wire).params as [string, string, string, string, string[], string, string]

  let root = sha256d(Buffer.concat([Buffer.from(coinb1, 'hex'), extranonce1, submit.extranonce2, Buffer.from(coinb2, 'hex')]))
  for (const sibling of branch) root = sha256d(Buffer.concat([root, Buffer.from(sibling, 'hex')]))
  const header = Buffer.alloc(80)
  header.writeUInt32LE(parseInt(version, 16), 0)
  // Stratum's prevhash has each 4-byte word byte-swapped: swap back.
  Buffer.from(prevHash, 'hex').swap32().copy(header, 4)
  root.copy(header, 36)
  header.writeUInt32LE(submit.ntime, 68)
  header.writeUInt32LE(parseInt(nbits, 16), 72)
  header.writeUInt32LE(submit.nonce, 76)

  t.equal(header.toString('hex'), block.block.slice(0, 160), 'the 80-byte header')
  t.equal(Buffer.from(sha256d(header)).reverse().toString('hex'), block.block_hash, 'the block hash')
})
