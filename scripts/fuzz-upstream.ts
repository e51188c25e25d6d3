/**
 * Fuzz targets for what an upstream pool sends (src/jobs/upstream-protocol.ts):
 * the recorded pool->miner lines of test/fixtures/stratum mutated, and
 * pool-shaped messages with wrong types in every field. The decoder returns
 * a typed message or an error string and never throws; what it accepts is
 * within the limits it promises (hash and extranonce sizes, uint32 fields).
 * The subscribe/configure/error readers take any JSON.
 */
import fc from 'fast-check'
import { decodePoolLine, errorReason, parseConfigureResult, parseSubscribeResult } from '../src/jobs/upstream-protocol.js'
import { MAX_UPSTREAM_EXTRANONCE1, MAX_UPSTREAM_EXTRANONCE2 } from '../src/jobs/upstream-extranonce.js'
import { applyMutations, fixtureText, rawJson } from './fuzz-inputs.js'
import { PropertyViolation, type FuzzTarget } from './fuzz-targets.js'

/** What pools sent in the recorded sessions. */
const POOL_LINES: readonly string[] = ['stratum/cpuminer-ckpool.jsonl', 'stratum/bfgminer-ckpool.jsonl'].flatMap((name) =>
  fixtureText(name)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { dir: string; line: string })
    .filter((l) => l.dir === 'pool->miner')
    .map((l) => l.line),
)
const POOL_METHODS = ['mining.notify', 'mining.set_difficulty', 'mining.set_extranonce', 'mining.set_version_mask', 'client.reconnect', 'client.show_message', 'mining.ping', 'client.get_version']

const mutation = fc.tuple(fc.nat({ max: 4 }), fc.nat(), fc.nat(), fc.constantFrom(...'{}[]":,\\ 0123456789abcdefxX-+.eE\u0000\ud83d'))
const poolLine = fc.oneof(
  fc.tuple(fc.constantFrom(...POOL_LINES), fc.array(mutation, { maxLength: 6 })).map(([l, ops]) => applyMutations(l, ops)),
  fc
    .record({ id: rawJson, method: fc.oneof(fc.constantFrom(...POOL_METHODS).map((m) => JSON.stringify(m)), rawJson), params: fc.array(rawJson, { maxLength: 10 }).map((a) => `[${a.join(',')}]`), result: rawJson, error: rawJson }, { requiredKeys: [] })
    .map((r) => `{${Object.entries(r).map(([k, v]) => `"${k}":${v}`).join(',')}}`),
  fc.string({ unit: 'binary', maxLength: 200 }),
)

function violated(message: string): never {
  throw new PropertyViolation(message)
}

const isUint32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff

export const upstreamTarget: FuzzTarget<{ line: string; json: string }> = {
  name: 'upstream-decode',
  ciRuns: 10_000,
  arbitrary: fc.record({ line: poolLine, json: rawJson }),
  check({ line, json }) {
    const r = decodePoolLine(line)
    if (!r.ok) {
      if (typeof r.error !== 'string' || r.error === '') violated(`empty error for ${line.slice(0, 100)}`)
    } else {
      const m = r.message
      if (m.kind === 'notify') {
        const j = m.job
        if (j.prevHash.length !== 32 || !j.merkleBranch.every((b) => b.length === 32)) violated('hash sizes')
        if (![j.version, j.nbits, j.ntime].every(isUint32)) violated('header fields not uint32')
      } else if (m.kind === 'set-difficulty' && !(Number.isFinite(m.difficulty) && m.difficulty > 0)) {
        violated(`difficulty ${m.difficulty}`)
      } else if (m.kind === 'set-extranonce' && (m.extranonce1.length > MAX_UPSTREAM_EXTRANONCE1 || m.extranonce2Size > MAX_UPSTREAM_EXTRANONCE2 || m.extranonce2Size < 0)) {
        violated('extranonce sizes')
      }
    }
    let value: unknown
    try {
      value = JSON.parse(json)
    } catch {
      value = json
    }
    const sub = parseSubscribeResult(value)
    if (typeof sub !== 'string' && (sub.extranonce1.length > MAX_UPSTREAM_EXTRANONCE1 || sub.extranonce2Size > MAX_UPSTREAM_EXTRANONCE2)) violated('subscribe sizes')
    const mask = parseConfigureResult(value)
    if (mask !== undefined && !isUint32(mask)) violated(`mask ${mask}`)
    if (errorReason(value).length > 128) violated('reason too long')
  },
}
