/**
 * The one config schema. Every key has a documented default
 * (docs/config.md, headframe.example.toml); unknown keys are errors; the
 * parsed result is frozen. Later components add their own section here.
 *
 * Keys are snake_case, as in the TOML file, so a key in an error message,
 * in the docs and in the code is spelled the same way everywhere.
 */
import { z } from 'zod'
import { bool, cidrList, envName, hexMask, host, int, num, oneOf, str } from './fields.js'
// Vardiff's defaults live with its algorithm (docs/vardiff.md explains them).
import { defaultVardiffOptions } from '../vardiff/options.js'

/** A TOML table: unknown keys rejected, missing keys take their defaults. */
function table<S extends z.ZodRawShape>(shape: S) {
  // Every key of a section has a default, so an empty table is valid input.
  return z.strictObject(shape, { error: 'a table' }).prefault({} as never)
}

/** `[stratum]`: the miners' side. */
export const stratumSchema = table({
  /** Address to listen on; a farm LAN wants every interface. */
  host: host().default('0.0.0.0'),
  port: int(1, 65535).default(3333),
  /** Longest Stratum line accepted before the session is closed. */
  max_line_bytes: int(1024, 1048576).default(16384),
  /** Bytes of extranonce1 per session (unique per live session). */
  extranonce1_size: int(2, 8).default(4),
  /** Bytes of extranonce2 the miner rolls. */
  extranonce2_size: int(2, 16).default(8),
  /** Version-rolling bits the pool allows (BIP 310); granted = this AND the miner's mask. */
  version_mask: hexMask().default(0x1fffe000),
  /**
   * When new work changes the extranonce2 size (proxy mode), miners that cannot take
   * `mining.set_extranonce` are sent `client.reconnect`, spread over this many ms.
   */
  reconnect_spread_ms: int(0, 600_000).default(2000),
  /**
   * New work to the miners: this many pieces at once, then one per
   * `work_interval_ms`, the latest held (work on a new block has an allowance
   * of its own; src/server/work-pacer.ts).
   */
  work_burst: int(1, 1000).default(4),
  work_interval_ms: int(1, 60_000).default(1000),
  /** `stratum+ssl`: a second listener with TLS. */
  tls: table({
    /** 0 turns TLS off. */
    port: int(0, 65535).default(0),
    /** PEM certificate chain file. */
    cert: str(4096).default(''),
    /** PEM private key file. */
    key: str(4096).default(''),
  }),
  /** Who may mine. */
  auth: table({
    /** open: any account; allowlist: only `accounts`; password: any account with `password`. */
    mode: oneOf(['open', 'allowlist', 'password']).default('open'),
    accounts: z.array(str(64, 1), { error: 'a list of account names' }).default([]),
    /** Secret. Env: HEADFRAME_STRATUM_PASSWORD. */
    password: str(4096).default(''),
  }),
  /** Abuse limits and timeouts. */
  limits: table({
    /** All sessions together; 0 = no limit but the process's open-file cap. */
    max_connections: int(0, 10_000_000).default(0),
    /** Sessions per source address; 0 = no limit. Trusted blocks are exempt. */
    max_connections_per_ip: int(0, 10_000_000).default(256),
    /** When not empty, only these blocks may connect. */
    allowed_cidrs: cidrList().default([]),
    /** Exempt from per-address limits and bans (e.g. the farm's NAT). */
    trusted_cidrs: cidrList().default([]),
    /** Seconds a connection has to subscribe and authorize. */
    auth_timeout_s: int(1, 3600).default(60),
    /** Seconds without a line from the miner before the session is closed. */
    idle_timeout_s: int(10, 86400).default(900),
    /** A miner that does not read its socket is dropped past this many buffered bytes. */
    max_write_buffer_bytes: int(4096, 1 << 30).default(1 << 20),
    /** Submits per second a session may average over 10 s before its difficulty is raised, then it is banned. */
    max_submits_per_second: int(1, 1_000_000).default(100),
    /** Share of rejected submits (over the last `invalid_window` submits) that gets the address banned. */
    max_invalid_ratio: num(0, 1).default(0.9),
    invalid_window: int(10, 100_000).default(100),
    /** Seconds an address stays banned. */
    ban_seconds: int(1, 30 * 86400).default(600),
  }),
}).superRefine((s, ctx) => {
  if (s.tls.port !== 0 && (s.tls.cert === '' || s.tls.key === '')) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'cert and key files when tls.port is set', input: s.tls })
  }
  if (s.tls.port !== 0 && s.tls.port === s.port) {
    ctx.addIssue({ code: 'custom', path: ['tls', 'port'], message: 'a port other than stratum.port', input: s.tls.port })
  }
  if (s.auth.mode === 'allowlist' && s.auth.accounts.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['auth', 'accounts'], message: 'at least one account when auth.mode is "allowlist"', input: [] })
  }
  if (s.auth.mode === 'password' && s.auth.password === '') {
    ctx.addIssue({ code: 'custom', path: ['auth', 'password'], message: 'a password when auth.mode is "password" (or HEADFRAME_STRATUM_PASSWORD)', input: '' })
  }
})

/** `[vardiff]`: per-session difficulty (src/vardiff, docs/vardiff.md). */
export const vardiffSchema = table({
  /** Difficulty of a new session until its shares say otherwise. */
  start_difficulty: num(1e-12, 1e15).default(defaultVardiffOptions.startDifficulty),
  min_difficulty: num(1e-12, 1e15).default(defaultVardiffOptions.minDifficulty),
  max_difficulty: num(1e-12, 1e15).default(defaultVardiffOptions.maxDifficulty),
  /** Wanted seconds between shares of one session. */
  target_interval_s: num(0.1, 3600).default(defaultVardiffOptions.targetInterval),
  /** Seconds between regular retarget checks. */
  retarget_interval_s: num(1, 86400).default(defaultVardiffOptions.retargetInterval),
  /** No change while the mean interval is within target × (1 ± variance). */
  variance: num(0.01, 0.99).default(defaultVardiffOptions.variance),
  /** The fewest shares an upward retarget needs (a miner far too fast is retargeted on that share). */
  retarget_shares: int(2, 100_000).default(defaultVardiffOptions.retargetShares),
  /** Every session at this difficulty, vardiff off; 0 = vardiff on. */
  fixed_difficulty: num(0, 1e15).default(0),
}).superRefine((v, ctx) => {
  if (v.min_difficulty > v.max_difficulty) {
    ctx.addIssue({ code: 'custom', path: ['min_difficulty'], message: `at most max_difficulty (${v.max_difficulty})`, input: v.min_difficulty })
  } else if (v.start_difficulty < v.min_difficulty || v.start_difficulty > v.max_difficulty) {
    ctx.addIssue({ code: 'custom', path: ['start_difficulty'], message: `within min_difficulty-max_difficulty (${v.min_difficulty}-${v.max_difficulty})`, input: v.start_difficulty })
  }
})

/** `[http]`: stats API, metrics and dashboard. */
export const httpSchema = table({
  enabled: bool().default(true),
  /** Loopback by default: the API is for the operator, not the farm LAN. */
  host: host().default('127.0.0.1'),
  port: int(1, 65535).default(8080),
  /** Bearer token for admin routes; empty turns them off. Env: HEADFRAME_HTTP_ADMIN_TOKEN. */
  admin_token: str(4096).default(''),
})

/** `[failover]`: moving miners between the `[[sources]]` (src/jobs/failover-source.ts, docs/failover.md). */
export const failoverSchema = table({
  /** How often source health is re-judged (ms); new work re-judges at once too. */
  check_interval_ms: int(50, 10_000).default(250),
  /** A source with no new work for this long is unhealthy; above every bitcoind source's refresh_s. */
  no_work_timeout_s: int(5, 86_400).default(120),
  /** A source that failed is preferred again only after staying healthy this long (no flapping). */
  hold_down_s: int(0, 86_400).default(30),
  /** A serving source must fail this long before miners are moved (one dropped connection that comes straight back moves nobody). */
  fail_grace_ms: int(0, 60_000).default(500),
})

/** Bitcoin networks, as Headframe names them. */
export const NETWORKS = ['mainnet', 'testnet3', 'testnet4', 'signet', 'regtest'] as const
export type Network = (typeof NETWORKS)[number]

/** One bitcoind RPC endpoint of a `bitcoind` source. */
/** How Headframe authenticates to a bitcoind RPC server: cookie (datadir or file) or user/password. */
function rpcAuthFields() {
  return {
    /** Cookie auth: bitcoind's datadir (the network subfolder is added). */
    datadir: str(4096).default(''),
    /** Cookie auth: an explicit cookie file (instead of datadir). */
    cookie_file: str(4096).default(''),
    /** user/password auth (rpcauth). */
    user: str(256).default(''),
    password: str(4096).default(''),
    /** Name of an environment variable holding the password (keeps it out of the file). */
    password_env: envName(),
  }
}

const bitcoindNodeSchema = z.strictObject(
  {
    url: z
      .string({ error: 'an http:// or https:// URL' })
      .regex(/^https?:\/\/[^\s/]+(:\d+)?\/?$/, { error: 'an http:// or https:// URL such as "http://127.0.0.1:8332"' }),
    ...rpcAuthFields(),
  },
  { error: 'a table' },
)

/** `[[sources]] type = "bitcoind"`: work from getblocktemplate. */
const bitcoindSourceSchema = z.strictObject(
  {
    type: z.literal('bitcoind'),
    name: str(64, 1).default('bitcoind'),
    network: oneOf(NETWORKS).default('mainnet'),
    /** In order: the first serves templates; every one gets found blocks. */
    nodes: z.array(bitcoindNodeSchema, { error: 'a list of [[sources.nodes]] tables' }).min(1, { error: 'at least one [[sources.nodes]] table' }),
    /** Where the block reward goes (checked against `network`). */
    payout_address: str(128, 1),
    /** Pushed in every coinbase after the BIP34 height. */
    coinbase_tag: str(64).default('/headframe/'),
    /** A second coinbase output taking `treasury_percent` of the reward. */
    treasury_address: str(128).default(''),
    treasury_percent: num(0, 100).default(0),
    /** Seconds between template refreshes on the same block (new transactions). */
    refresh_s: int(1, 3600).default(30),
    /** getbestblockhash poll, the backup of ZMQ and long polling (ms). */
    poll_ms: int(100, 60_000).default(1000),
    /** Long-poll getblocktemplate for block changes. */
    longpoll: bool().default(true),
    /** bitcoind's -zmqpubhashblock address, e.g. "tcp://127.0.0.1:28332"; empty = off. */
    zmq_hashblock: z
      .string({ error: 'a ZMQ address such as "tcp://127.0.0.1:28332"' })
      .regex(/^(tcp:\/\/[^\s]+:\d+)?$/, { error: 'a ZMQ address such as "tcp://127.0.0.1:28332"' })
      .default(''),
    /** Per-call RPC timeout (ms). */
    rpc_timeout_ms: int(100, 600_000).default(10_000),
  },
  { error: 'a table' },
).superRefine((s, ctx) => {
  if (s.treasury_percent > 0 && s.treasury_address === '') {
    ctx.addIssue({ code: 'custom', path: ['treasury_address'], message: 'an address when treasury_percent is above 0', input: '' })
  }
})

/** `[[sources]] type = "upstream"`: work from another Stratum pool (proxy mode, docs/proxy.md). */
const upstreamSourceSchema = z.strictObject(
  {
    type: z.literal('upstream'),
    name: str(64, 1).default('upstream'),
    /** The pool: `stratum+tcp://host:port` or `stratum+ssl://host:port`. */
    url: z
      .string({ error: 'a stratum+tcp:// or stratum+ssl:// URL' })
      .regex(/^stratum\+(tcp|ssl):\/\/[^\s/:]+(:\d{1,5})$/, { error: 'a URL such as "stratum+tcp://pool.example.com:3333" or "stratum+ssl://pool.example.com:443"' }),
    /** The farm's account (worker name) at the upstream pool. */
    user: str(256, 1),
    /** Secret. Most pools ignore it. */
    password: str(4096).default('x'),
    /** Name of an environment variable holding the password (keeps it out of the file). */
    password_env: envName(),
    /** Follow `client.reconnect` to another host (same host and port changes are always followed). */
    follow_reconnect: bool().default(false),
    /** ms to connect, subscribe and authorize before the attempt counts as failed. */
    connect_timeout_ms: int(100, 600_000).default(10_000),
    /** ms to wait for the answer to a forwarded share. */
    response_timeout_ms: int(100, 600_000).default(10_000),
    /** Seconds without any line from the pool before the connection is dropped and made again. */
    idle_timeout_s: int(5, 86_400).default(300),
    /** Reconnect backoff: first delay and ceiling (ms), jittered. */
    reconnect_min_ms: int(10, 600_000).default(1000),
    reconnect_max_ms: int(10, 3_600_000).default(30_000),
    /** Rejected forwarded shares in a row that make the source unhealthy (and reconnect). */
    max_consecutive_rejects: int(1, 1_000_000).default(20),
    /** stratum+ssl: a PEM file of CA certificates to trust instead of the system's. */
    tls_ca: str(4096).default(''),
    /** stratum+ssl: accept any certificate (self-signed test pools only). */
    tls_insecure: bool().default(false),
  },
  { error: 'a table' },
).superRefine((s, ctx) => {
  if (s.reconnect_min_ms > s.reconnect_max_ms) {
    ctx.addIssue({ code: 'custom', path: ['reconnect_min_ms'], message: `at most reconnect_max_ms (${s.reconnect_max_ms})`, input: s.reconnect_min_ms })
  }
})

/** `[[sources]]`: where work comes from, in order of preference. */
const sourceSchema = z.discriminatedUnion('type', [bitcoindSourceSchema, upstreamSourceSchema], {
  error: 'a source table with type = "bitcoind" or type = "upstream"',
})

/** `[ledger]`: the LevelDB accounting store. */
export const ledgerSchema = table({
  /** Folder of the LevelDB database, relative to the working directory. */
  path: str(4096, 1).default('./data/ledger'),
  /** fsync every group commit (power-loss safe, slower accepts). */
  sync: bool().default(false),
  /** Days per-share records are kept; aggregates and blocks are kept forever. */
  retention_days: int(1, 36500).default(90),
  /** A group commit is written this many ms after its first share (0: no timer, at the end of the event-loop turn that read it)... */
  group_commit_ms: int(0, 1000).default(0),
  /** ...or as soon as it holds this many shares. */
  group_commit_max: int(1, 100_000).default(1000),
})

/** `[payouts]`: how found blocks and shares turn into balances (docs/payouts.md). */
export const payoutsSchema = table({
  /** pplns, prop, pps or solo. */
  scheme: oneOf(['pplns', 'prop', 'pps', 'solo']).default('pplns'),
  /** PPLNS window: this many times the network difficulty, in share difficulty. */
  pplns_factor: num(0.01, 1000).default(2),
  /** Pool fee in percent of each reward (2 decimals at most), credited to `treasury_account`. */
  fee_percent: num(0, 100).default(2),
  /** The ledger account the fee goes to. */
  treasury_account: z
    .string({ error: 'an account name' })
    .regex(/^[\x21-\x2e\x30-\x7e]{1,128}$/, { error: 'an account name: 1-128 printable ASCII characters without "/" or spaces' })
    .default('treasury'),
  /** Balances below this (satoshis) carry over to the next payout. */
  threshold_sats: int(1, 2_100_000_000_000_000).default(100_000),
  /** PPS: shares are credited per period of this many minutes (aligned to UTC midnight). */
  pps_period_minutes: int(1, 1440).default(10),
  /** report: payouts are computed and logged, nothing is sent; onchain: batched sendmany from a bitcoind wallet. */
  mode: oneOf(['report', 'onchain']).default('report'),
  /** Minutes between payout runs (the first runs a minute after start). */
  interval_minutes: int(1, 10080).default(60),
  /** Minutes between balance.snapshot webhook events; 0 = none. */
  balance_snapshot_minutes: int(0, 10080).default(60),
  /** `[payouts.onchain]`: the bitcoind wallet payouts are sent from (mode = "onchain"). */
  onchain: table({
    /** Wallet name (bitcoind -wallet / createwallet); '' = the node's default wallet. */
    wallet: str(256).default(''),
    /** Name of a `[[sources]]` bitcoind entry: its first node and network are used. Or set url below. */
    source: str(64).default(''),
    /** Network of `url` (when `source` is empty); payout addresses are checked against it. */
    network: oneOf(NETWORKS).default('mainnet'),
    /** bitcoind RPC URL, when not using `source`. */
    url: z
      .string({ error: 'an http:// or https:// URL' })
      .regex(/^(https?:\/\/[^\s/]+(:\d+)?\/?)?$/, { error: 'an http:// or https:// URL such as "http://127.0.0.1:8332"' })
      .default(''),
    ...rpcAuthFields(),
    /** sendmany minconf: confirmations the coins spent need. */
    min_conf: int(0, 9999).default(1),
    /** Largest number of outputs (addresses) in one transaction; more make several batches. */
    max_outputs: int(1, 2000).default(250),
    /** Per-call RPC timeout (ms). */
    rpc_timeout_ms: int(1000, 600_000).default(60_000),
    /** A batch whose send got no answer is looked up in the wallet again; it is resent only when absent and this many seconds passed since that send. */
    reconcile_grace_s: int(0, 86_400).default(300),
    /** Confirmations after which a sent payout is final (its status and the payout.confirmed event; no money moves). */
    confirm_depth: int(1, 1000).default(6),
    /** A sent payout all of whose transactions conflict with one this deep can no longer confirm: it is dropped and credited back, to be paid again. At least 6. */
    drop_depth: int(6, 1000).default(6),
  }),
  /** `[payouts.addresses]`: account = "address". An account without one is paid only if its name is a valid address. */
  addresses: z.record(z.string().regex(/^[\x21-\x2e\x30-\x7e]{1,128}$/), str(128, 1), { error: 'a table of account = "address"' }).default({}),
}).superRefine((p, ctx) => {
  if (Math.abs(p.fee_percent * 100 - Math.round(p.fee_percent * 100)) > 1e-9) {
    ctx.addIssue({ code: 'custom', path: ['fee_percent'], message: 'at most 2 decimals (whole basis points)', input: p.fee_percent })
  }
  if (1440 % p.pps_period_minutes !== 0) {
    ctx.addIssue({ code: 'custom', path: ['pps_period_minutes'], message: 'a divisor of 1440 (periods tile a UTC day)', input: p.pps_period_minutes })
  }
  if (p.mode === 'onchain' && (p.onchain.source === '') === (p.onchain.url === '')) {
    ctx.addIssue({ code: 'custom', path: ['onchain', 'source'], message: 'either onchain.source or onchain.url (not both) when mode is "onchain"', input: p.onchain.source })
  }
})

/** Webhook event types (docs/webhooks.md). */
export const WEBHOOK_EVENTS = ['block.found', 'block.confirmed', 'block.orphaned', 'payout.sent', 'payout.failed', 'payout.confirmed', 'payout.dropped', 'balance.snapshot'] as const

/** `[[webhooks]]`: one treasury endpoint that gets signed JSON events. */
const webhookSchema = z.strictObject(
  {
    url: z.string({ error: 'an http:// or https:// URL' }).regex(/^https?:\/\/[^\s]+$/, { error: 'an http:// or https:// URL' }),
    /** HMAC-SHA256 key of X-Headframe-Signature. */
    secret: str(4096).default(''),
    /** Environment variable holding the secret (keeps it out of the file). */
    secret_env: envName(),
    /** Event types sent; empty = all. */
    events: z.array(oneOf(WEBHOOK_EVENTS), { error: 'a list of event types' }).default([]),
    /** Per-delivery timeout (ms). */
    timeout_ms: int(100, 120_000).default(10_000),
  },
  { error: 'a table' },
).superRefine((w, ctx) => {
  if (w.secret === '' && w.secret_env === '') ctx.addIssue({ code: 'custom', path: ['secret'], message: 'a secret or a secret_env (events are signed)', input: '' })
})

/** `[log]`: pino JSON lines on stdout (journald picks them up). */
export const logSchema = table({
  level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
})

/** The whole file. */
export const configSchema = z.strictObject(
  {
    stratum: stratumSchema,
    vardiff: vardiffSchema,
    sources: z.array(sourceSchema, { error: 'a list of [[sources]] tables' }).default([]),
    http: httpSchema,
    failover: failoverSchema,
    ledger: ledgerSchema,
    payouts: payoutsSchema,
    webhooks: z
      .array(webhookSchema, { error: 'a list of [[webhooks]] tables' })
      .superRefine((hooks, ctx) => {
        hooks.forEach((h, i) => {
          if (hooks.findIndex((o) => o.url === h.url) !== i) ctx.addIssue({ code: 'custom', path: [i, 'url'], message: 'a URL not used by another [[webhooks]] table', input: h.url })
        })
      })
      .default([]),
    log: logSchema,
  },
  { error: 'a table' },
)

/** The validated, frozen config every module receives a slice of. */
export type Config = DeepReadonly<z.output<typeof configSchema>>
export type StratumConfig = Config['stratum']
export type VardiffConfig = Config['vardiff']
export type SourceConfig = Config['sources'][number]
export type BitcoindSourceConfig = Extract<SourceConfig, { type: 'bitcoind' }>
export type BitcoindNodeConfig = BitcoindSourceConfig['nodes'][number]
export type UpstreamSourceConfig = Extract<SourceConfig, { type: 'upstream' }>
export type HttpConfig = Config['http']
export type LedgerConfig = Config['ledger']
export type PayoutsConfig = Config['payouts']
export type WebhookConfig = Config['webhooks'][number]
export type LogConfig = Config['log']
export type FailoverConfig = Config['failover']

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T

/**
 * Secrets may come from the environment instead of the file. Each entry maps
 * an environment variable to the key it sets; the environment wins.
 */
export const SECRET_ENV: Readonly<Record<string, readonly string[]>> = Object.freeze({
  HEADFRAME_HTTP_ADMIN_TOKEN: ['http', 'admin_token'],
  HEADFRAME_STRATUM_PASSWORD: ['stratum', 'auth', 'password'],
})
