/**
 * The answers Headframe reads from bitcoind, typed and validated at the edge
 * (CONVENTIONS.md §2): each RPC result is checked with zod once, and only
 * these types circulate past the client. Field names stay Bitcoin Core's,
 * so the docs of `getblocktemplate` (BIP 22/23, BIP 9, BIP 141) apply as
 * they are; hashes stay hex in Core's display order.
 *
 * Amounts are `bigint` satoshis. bitcoind writes them as JSON integers; any
 * amount up to MAX_MONEY (2.1e15 < 2^53) is exact as a double, so checking
 * "a safe integer in [0, MAX_MONEY]" and converting with `BigInt()` right
 * here reads them exactly.
 */
import { z } from 'zod'
import { BitcoindError } from '../errors.js'

/** 21 million BTC in satoshis (consensus/amount.h). */
export const MAX_MONEY_SATS = 2_100_000_000_000_000

/** One transaction of a block template (BIP 22, BIP 141 `hash`/`weight`). */
export interface TemplateTransaction {
  /** The transaction as serialized in a block, witness included (hex). */
  readonly data: string
  /** txid (display order hex): sha256d without witness; the merkle leaf. */
  readonly txid: string
  /** wtxid (display order hex): sha256d with witness. */
  readonly hash: string
  /** 1-based indexes of template transactions this one spends from. */
  readonly depends: readonly number[]
  /** Fee in satoshis. */
  readonly fee: bigint
  readonly sigops?: number | undefined
  readonly weight: number
}

/** A `getblocktemplate` answer (the fields Headframe uses, validated). */
export interface BlockTemplate {
  readonly version: number
  /** Active rules; a leading `!` marks one the client must understand (e.g. `!segwit`). */
  readonly rules: readonly string[]
  /** Deployments in signalling: name → bit. */
  readonly vbavailable: Readonly<Record<string, number>>
  readonly vbrequired: number
  /** Display-order hex (reverse it for the header). */
  readonly previousblockhash: string
  readonly transactions: readonly TemplateTransaction[]
  readonly coinbaseaux: Readonly<Record<string, string>>
  /** Subsidy plus every template fee, in satoshis: the coinbase pays exactly this at most. */
  readonly coinbasevalue: bigint
  /** Pass back to long-poll for the next template. */
  readonly longpollid: string
  /** The network target (display-order hex, 64 digits). */
  readonly target: string
  readonly mintime: number
  readonly mutable: readonly string[]
  readonly noncerange?: string | undefined
  readonly sigoplimit?: number | undefined
  readonly sizelimit?: number | undefined
  readonly weightlimit?: number | undefined
  readonly curtime: number
  /** Compact target, 8 hex digits. */
  readonly bits: string
  readonly height: number
  /** The scriptPubKey of the BIP 141 commitment output (hex), when segwit is active. */
  readonly default_witness_commitment?: string | undefined
  /** Signet only: the challenge script (hex). */
  readonly signet_challenge?: string | undefined
}

/** A `getblockchaininfo` answer (fields Headframe reads). */
export interface BlockchainInfo {
  /** `main`, `test`, `testnet4`, `signet`, `regtest`. */
  readonly chain: string
  readonly blocks: number
  readonly headers: number
  readonly bestblockhash: string
  readonly difficulty?: number | undefined
  readonly time?: number | undefined
  readonly mediantime?: number | undefined
  readonly verificationprogress: number
  readonly initialblockdownload: boolean
  readonly chainwork?: string | undefined
  readonly pruned?: boolean | undefined
  /** A string before Bitcoin Core 28, a list since. */
  readonly warnings?: string | readonly string[] | undefined
}

/** A `getblockheader <hash> true` answer. */
export interface BlockHeaderInfo {
  readonly hash: string
  /** Blocks on top of it in the active chain, itself included; -1 when it is not in the active chain (orphaned). */
  readonly confirmations: number
  readonly height: number
  readonly version: number
  readonly merkleroot: string
  readonly time: number
  readonly mediantime?: number | undefined
  readonly nonce: number
  readonly bits: string
  readonly difficulty?: number | undefined
  readonly chainwork?: string | undefined
  readonly nTx: number
  readonly previousblockhash?: string | undefined
  readonly nextblockhash?: string | undefined
}

const hexOf = (bytes: number) => z.string({ error: `${bytes * 2} hex digits` }).regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), { error: `${bytes * 2} hex digits` })
const hexBytes = () => z.string({ error: 'hex bytes' }).regex(/^(?:[0-9a-fA-F]{2})*$/, { error: 'hex bytes' })
const hash = () => hexOf(32)
const uint = () => z.number({ error: 'a non-negative integer' }).int({ error: 'a non-negative integer' }).min(0, { error: 'a non-negative integer' })
const int = () => z.number({ error: 'an integer' }).int({ error: 'an integer' })
const satoshis = () =>
  z
    .number({ error: 'an integer amount of satoshis' })
    .int({ error: 'an integer amount of satoshis' })
    .min(0, { error: 'an amount of 0 to 21e14 satoshis' })
    .max(MAX_MONEY_SATS, { error: 'an amount of 0 to 21e14 satoshis' })
    .transform((n) => BigInt(n))

const templateTransactionSchema: z.ZodType<TemplateTransaction, unknown> = z.object({
  data: hexBytes().min(2, { error: 'a serialized transaction' }),
  txid: hash(),
  hash: hash(),
  depends: z.array(uint().min(1, { error: 'an index from 1' }), { error: 'a list of indexes' }).default([]),
  fee: satoshis(),
  sigops: uint().optional(),
  weight: uint(),
})

export const blockTemplateSchema: z.ZodType<BlockTemplate, unknown> = z.object({
  version: int()
    .min(-(2 ** 31), { error: 'a 32-bit block version' })
    .max(2 ** 32 - 1, { error: 'a 32-bit block version' }),
  rules: z.array(z.string(), { error: 'a list of rule names' }),
  vbavailable: z.record(z.string(), int(), { error: 'an object of deployment bits' }).default({}),
  vbrequired: int().default(0),
  previousblockhash: hash(),
  transactions: z.array(templateTransactionSchema, { error: 'a list of transactions' }),
  coinbaseaux: z.record(z.string(), z.string(), { error: 'an object of hex strings' }).default({}),
  coinbasevalue: satoshis(),
  longpollid: z.string({ error: 'a string' }),
  target: hash(),
  mintime: uint(),
  mutable: z.array(z.string(), { error: 'a list of strings' }).default([]),
  noncerange: z.string().optional(),
  sigoplimit: uint().optional(),
  sizelimit: uint().optional(),
  weightlimit: uint().optional(),
  curtime: uint(),
  bits: hexOf(4),
  height: uint(),
  default_witness_commitment: hexBytes().optional(),
  signet_challenge: hexBytes().optional(),
})

export const blockchainInfoSchema: z.ZodType<BlockchainInfo, unknown> = z.object({
  chain: z.string({ error: 'a chain name' }),
  blocks: uint(),
  headers: uint(),
  bestblockhash: hash(),
  difficulty: z.number().optional(),
  time: uint().optional(),
  mediantime: uint().optional(),
  verificationprogress: z.number({ error: 'a number' }),
  initialblockdownload: z.boolean({ error: 'true or false' }),
  chainwork: z.string().optional(),
  pruned: z.boolean().optional(),
  warnings: z.union([z.string(), z.array(z.string())]).optional(),
})

export const blockHeaderInfoSchema: z.ZodType<BlockHeaderInfo, unknown> = z.object({
  hash: hash(),
  confirmations: int(),
  height: uint(),
  version: int(),
  merkleroot: hash(),
  time: uint(),
  mediantime: uint().optional(),
  nonce: uint(),
  bits: hexOf(4),
  difficulty: z.number().optional(),
  chainwork: z.string().optional(),
  nTx: uint(),
  previousblockhash: hash().optional(),
  nextblockhash: hash().optional(),
})

export const blockHashSchema: z.ZodType<string, unknown> = hash()

/** `submitblock`: `null` = accepted, else BIP 22's reject reason. */
export const submitBlockSchema: z.ZodType<string | null, unknown> = z.union([z.null(), z.string()], { error: 'null or a reject reason' })

/** `result` checked against `schema`, or HF_BITCOIND_BAD_RESPONSE naming the first bad fields. */
export function parseAnswer<T>(schema: z.ZodType<T, unknown>, result: unknown, where: { url: string; method: string }): T {
  const parsed = schema.safeParse(result)
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.map(String).join('.')
    return `${path === '' ? '(result)' : path}: expected ${issue.message}`
  })
  const more = parsed.error.issues.length > 3 ? ` (and ${parsed.error.issues.length - 3} more)` : ''
  throw new BitcoindError('HF_BITCOIND_BAD_RESPONSE', `bitcoind at ${where.url} answered ${where.method} with an unexpected result: ${problems.join('; ')}${more}`, {
    url: where.url,
    method: where.method,
  })
}
