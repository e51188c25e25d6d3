import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import {
  configSchema,
  loadConfig,
  loadConfigFile,
  parseConfig,
  parseConfigToml,
  redactConfig,
  type Config,
} from '../../src/config/index.js'
import { ConfigError } from '../../src/errors.js'
import { PACKAGE_ROOT } from '../../src/package-info.js'

const defaults = parseConfig({})

/** Valid files: each sets some keys; the rest stay at their defaults. */
const valid: { name: string; toml: string; expect: Record<string, unknown> }[] = [
  { name: 'empty file', toml: '', expect: { 'stratum.port': 3333, 'http.host': '127.0.0.1', 'log.level': 'info' } },
  { name: 'empty sections', toml: '[stratum]\n[http]\n[ledger]\n[log]\n', expect: { 'stratum.host': '0.0.0.0' } },
  { name: 'port bounds (low)', toml: '[stratum]\nport = 1', expect: { 'stratum.port': 1 } },
  { name: 'port bounds (high)', toml: '[stratum]\nport = 65535', expect: { 'stratum.port': 65535 } },
  { name: 'IPv6 listen address', toml: '[stratum]\nhost = "::"', expect: { 'stratum.host': '::' } },
  { name: 'host name', toml: '[http]\nhost = "localhost"', expect: { 'http.host': 'localhost' } },
  { name: 'line limit', toml: '[stratum]\nmax_line_bytes = 65536', expect: { 'stratum.max_line_bytes': 65536 } },
  { name: 'extranonce sizes', toml: '[stratum]\nextranonce1_size = 2\nextranonce2_size = 16', expect: { 'stratum.extranonce1_size': 2, 'stratum.extranonce2_size': 16 } },
  { name: 'http off', toml: '[http]\nenabled = false', expect: { 'http.enabled': false } },
  { name: 'admin token', toml: '[http]\nadmin_token = "s3cret"', expect: { 'http.admin_token': 's3cret' } },
  { name: 'ledger', toml: '[ledger]\npath = "/var/lib/headframe"\nsync = true\nretention_days = 30', expect: { 'ledger.path': '/var/lib/headframe', 'ledger.sync': true, 'ledger.retention_days': 30 } },
  { name: 'every log level', toml: '[log]\nlevel = "silent"', expect: { 'log.level': 'silent' } },
  { name: 'inline tables', toml: 'stratum = { port = 4444 }', expect: { 'stratum.port': 4444 } },
  { name: 'version mask', toml: '[stratum]\nversion_mask = "0x1fffe000"', expect: { 'stratum.version_mask': 0x1fffe000 } },
  { name: 'tls on', toml: '[stratum.tls]\nport = 3334\ncert = "c.pem"\nkey = "k.pem"', expect: { 'stratum.tls.port': 3334, 'stratum.tls.cert': 'c.pem', 'stratum.tls.key': 'k.pem' } },
  { name: 'allowlist', toml: '[stratum.auth]\nmode = "allowlist"\naccounts = ["farm", "bob"]', expect: { 'stratum.auth.mode': 'allowlist', 'stratum.auth.accounts': ['farm', 'bob'] } },
  { name: 'password', toml: '[stratum.auth]\nmode = "password"\npassword = "pw"', expect: { 'stratum.auth.mode': 'password', 'stratum.auth.password': 'pw' } },
  { name: 'cidrs', toml: '[stratum.limits]\nallowed_cidrs = ["10.0.0.0/8", "fd00::/8", "192.168.1.7"]\ntrusted_cidrs = ["10.1.0.0/16"]', expect: { 'stratum.limits.allowed_cidrs': ['10.0.0.0/8', 'fd00::/8', '192.168.1.7'], 'stratum.limits.trusted_cidrs': ['10.1.0.0/16'] } },
  { name: 'fractional vardiff for CPU miners', toml: '[vardiff]\nstart_difficulty = 0.001\nmin_difficulty = 0.0001', expect: { 'vardiff.start_difficulty': 0.001, 'vardiff.min_difficulty': 0.0001 } },
  { name: 'fixed difficulty', toml: '[vardiff]\nfixed_difficulty = 65536', expect: { 'vardiff.fixed_difficulty': 65536 } },
  {
    name: 'a bitcoind source',
    toml: '[[sources]]\ntype = "bitcoind"\nnetwork = "regtest"\npayout_address = "bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g"\n[[sources.nodes]]\nurl = "http://127.0.0.1:18443"\ndatadir = "/tmp/x"',
    expect: { sources: [{ type: 'bitcoind', name: 'bitcoind', network: 'regtest', payout_address: 'bcrt1qyqj2de6g9vurjsfva8yslaqk2wwmnjuyvp7n8g', coinbase_tag: '/headframe/', treasury_address: '', treasury_percent: 0, refresh_s: 30, poll_ms: 1000, longpoll: true, zmq_hashblock: '', rpc_timeout_ms: 10000, nodes: [{ url: 'http://127.0.0.1:18443', datadir: '/tmp/x', cookie_file: '', user: '', password: '', password_env: '' }] }] },
  },
  { name: 'TOML integer forms', toml: '[stratum]\nport = 0x0D05', expect: { 'stratum.port': 3333 } },
]

/** Invalid files: every problem, by its exact message. */
const invalid: { name: string; toml: string; code: string; problems: string[] }[] = [
  { name: 'port as a string', toml: '[stratum]\nport = "abc"', code: 'HF_CONFIG_INVALID', problems: ['stratum.port: expected an integer 1-65535, got "abc"'] },
  { name: 'port 0', toml: '[stratum]\nport = 0', code: 'HF_CONFIG_INVALID', problems: ['stratum.port: expected an integer 1-65535, got 0'] },
  { name: 'port too high', toml: '[stratum]\nport = 70000', code: 'HF_CONFIG_INVALID', problems: ['stratum.port: expected an integer 1-65535, got 70000'] },
  { name: 'port fractional', toml: '[http]\nport = 80.5', code: 'HF_CONFIG_INVALID', problems: ['http.port: expected an integer 1-65535, got 80.5'] },
  { name: 'unknown key in a section', toml: '[stratum]\nprot = 1', code: 'HF_CONFIG_INVALID', problems: ['stratum.prot: unknown key'] },
  { name: 'unknown section', toml: '[bitcoin]\nurl = "x"', code: 'HF_CONFIG_INVALID', problems: ['bitcoin: unknown key'] },
  { name: 'section not a table', toml: 'stratum = 5', code: 'HF_CONFIG_INVALID', problems: ['stratum: expected a table, got 5'] },
  { name: 'array for a section', toml: 'log = [1]', code: 'HF_CONFIG_INVALID', problems: ['log: expected a table, got an array'] },
  { name: 'bad log level', toml: '[log]\nlevel = "loud"', code: 'HF_CONFIG_INVALID', problems: ['log.level: expected one of "trace", "debug", "info", "warn", "error", "fatal", "silent", got "loud"'] },
  { name: 'boolean as string', toml: '[ledger]\nsync = "yes"', code: 'HF_CONFIG_INVALID', problems: ['ledger.sync: expected true or false, got "yes"'] },
  { name: 'empty ledger path', toml: '[ledger]\npath = ""', code: 'HF_CONFIG_INVALID', problems: ['ledger.path: expected a string of 1-4096 characters, got ""'] },
  { name: 'retention 0', toml: '[ledger]\nretention_days = 0', code: 'HF_CONFIG_INVALID', problems: ['ledger.retention_days: expected an integer 1-36500, got 0'] },
  { name: 'host with a space', toml: '[http]\nhost = "my host"', code: 'HF_CONFIG_INVALID', problems: ['http.host: expected an IP address or host name, got "my host"'] },
  { name: 'date where a number goes', toml: '[stratum]\nport = 2026-01-01', code: 'HF_CONFIG_INVALID', problems: ['stratum.port: expected an integer 1-65535, got a date (2026-01-01)'] },
  { name: 'line limit too small', toml: '[stratum]\nmax_line_bytes = 10', code: 'HF_CONFIG_INVALID', problems: ['stratum.max_line_bytes: expected an integer 1024-1048576, got 10'] },
  { name: 'extranonce1 too big', toml: '[stratum]\nextranonce1_size = 9', code: 'HF_CONFIG_INVALID', problems: ['stratum.extranonce1_size: expected an integer 2-8, got 9'] },
  {
    name: 'several problems at once, all listed',
    toml: '[stratum]\nport = -1\nhots = "x"\n[log]\nlevel = 3\n[extra]\n',
    code: 'HF_CONFIG_INVALID',
    problems: ['stratum.port: expected an integer 1-65535, got -1', 'stratum.hots: unknown key', 'log.level: expected one of "trace", "debug", "info", "warn", "error", "fatal", "silent", got 3', 'extra: unknown key'],
  },
  { name: 'bad version mask', toml: '[stratum]\nversion_mask = "1fffe"', code: 'HF_CONFIG_INVALID', problems: ['stratum.version_mask: expected a 32-bit mask as 8 hex digits (e.g. "1fffe000"), got "1fffe"'] },
  { name: 'tls without cert', toml: '[stratum.tls]\nport = 3334', code: 'HF_CONFIG_INVALID', problems: ['stratum.tls: expected cert and key files when tls.port is set, got a table'] },
  { name: 'tls on the plain port', toml: '[stratum.tls]\nport = 3333\ncert = "c"\nkey = "k"', code: 'HF_CONFIG_INVALID', problems: ['stratum.tls.port: expected a port other than stratum.port, got 3333'] },
  { name: 'allowlist without accounts', toml: '[stratum.auth]\nmode = "allowlist"', code: 'HF_CONFIG_INVALID', problems: ['stratum.auth.accounts: expected at least one account when auth.mode is "allowlist", got an array'] },
  { name: 'password mode without one', toml: '[stratum.auth]\nmode = "password"', code: 'HF_CONFIG_INVALID', problems: ['stratum.auth.password: expected a password when auth.mode is "password" (or HEADFRAME_STRATUM_PASSWORD), got ""'] },
  { name: 'bad cidr', toml: '[stratum.limits]\ntrusted_cidrs = ["10.0.0.0/33", "x"]', code: 'HF_CONFIG_INVALID', problems: ['stratum.limits.trusted_cidrs.0: expected CIDR blocks such as "10.0.0.0/8" or "fd00::/8", got "10.0.0.0/33"', 'stratum.limits.trusted_cidrs.1: expected CIDR blocks such as "10.0.0.0/8" or "fd00::/8", got "x"'] },
  { name: 'ratio above 1', toml: '[stratum.limits]\nmax_invalid_ratio = 1.5', code: 'HF_CONFIG_INVALID', problems: ['stratum.limits.max_invalid_ratio: expected a number 0-1, got 1.5'] },
  { name: 'unknown nested key', toml: '[stratum.limits]\nmax_conections = 5', code: 'HF_CONFIG_INVALID', problems: ['stratum.limits.max_conections: unknown key'] },
  { name: 'vardiff min above max', toml: '[vardiff]\nmin_difficulty = 10\nmax_difficulty = 5', code: 'HF_CONFIG_INVALID', problems: ['vardiff.min_difficulty: expected at most max_difficulty (5), got 10'] },
  { name: 'vardiff start outside the range', toml: '[vardiff]\nstart_difficulty = 0.5', code: 'HF_CONFIG_INVALID', problems: ['vardiff.start_difficulty: expected within min_difficulty-max_difficulty (1-1000000000000), got 0.5'] },
  { name: 'vardiff zero target', toml: '[vardiff]\ntarget_interval_s = 0', code: 'HF_CONFIG_INVALID', problems: ['vardiff.target_interval_s: expected a number 0.1-3600, got 0'] },
  { name: 'source of an unknown type', toml: '[[sources]]\ntype = "solo-magic"', code: 'HF_CONFIG_INVALID', problems: ['sources.0.type: expected a source table with type = "bitcoind" or type = "upstream", got "solo-magic"'] },
  { name: 'bitcoind source without nodes or address', toml: '[[sources]]\ntype = "bitcoind"', code: 'HF_CONFIG_INVALID', problems: ['sources.0.nodes: expected a list of [[sources.nodes]] tables, got nothing', 'sources.0.payout_address: expected a string of 1-128 characters, got nothing'] },
  { name: 'bad node url', toml: '[[sources]]\ntype = "bitcoind"\npayout_address = "x"\n[[sources.nodes]]\nurl = "ftp://x"', code: 'HF_CONFIG_INVALID', problems: ['sources.0.nodes.0.url: expected an http:// or https:// URL such as "http://127.0.0.1:8332", got "ftp://x"'] },
  { name: 'treasury percent without an address', toml: '[[sources]]\ntype = "bitcoind"\npayout_address = "x"\ntreasury_percent = 2\n[[sources.nodes]]\nurl = "http://h:1"', code: 'HF_CONFIG_INVALID', problems: ['sources.0.treasury_address: expected an address when treasury_percent is above 0, got ""'] },
  { name: 'password_env not set', toml: '[[sources]]\ntype = "bitcoind"\npayout_address = "x"\n[[sources.nodes]]\nurl = "http://h:1"\npassword_env = "NOPE_NOT_SET"', code: 'HF_CONFIG_INVALID', problems: ['sources.0.nodes.0.password_env: environment variable NOPE_NOT_SET is not set'] },
  { name: 'not TOML', toml: '[stratum\nport = 1', code: 'HF_CONFIG_PARSE', problems: [] },
  { name: 'duplicate key', toml: '[stratum]\nport = 1\nport = 2', code: 'HF_CONFIG_PARSE', problems: [] },
]

/** Every leaf key path of a config (arrays are leaves) with its value. */
function leaves(value: unknown, prefix = ''): [string, unknown][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [[prefix, value]]
  return Object.entries(value).flatMap(([k, v]) => leaves(v, prefix === '' ? k : `${prefix}.${k}`))
}

function at(config: Config, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], config)
}

t.test('valid configs', async (t) => {
  for (const v of valid) {
    t.test(v.name, async (t) => {
      const config = parseConfigToml(v.toml)
      for (const [path, want] of Object.entries(v.expect)) t.same(at(config, path), want, path)
      // Keys the vector does not set keep their defaults.
      for (const [path, value] of leaves(defaults)) if (!(path in v.expect)) t.same(at(config, path), value, `${path} default`)
    })
  }
  t.end()
})

t.test('invalid configs', async (t) => {
  for (const v of invalid) {
    t.test(v.name, async (t) => {
      const err = t.throws(() => parseConfigToml(v.toml, { source: 'test.toml' })) as ConfigError
      t.ok(err instanceof ConfigError)
      t.equal(err.code, v.code)
      if (v.problems.length > 0) t.same(err.problems, v.problems)
      else t.match(err.message, /^test\.toml: not valid TOML \(line \d+, column \d+: /)
      t.ok(err.message.startsWith('test.toml: '), 'the message names the file')
    })
  }
  t.end()
})

t.test('the result is deeply frozen', async (t) => {
  const config = parseConfigToml('')
  t.ok(Object.isFrozen(config))
  t.ok(Object.isFrozen(config.stratum))
  t.throws(() => {
    ;(config.stratum as { port: number }).port = 1
  }, TypeError)
})

t.test('secrets from the environment win over the file', async (t) => {
  const env = { HEADFRAME_HTTP_ADMIN_TOKEN: 'from-env' }
  t.equal(parseConfigToml('[http]\nadmin_token = "from-file"', { env }).http.admin_token, 'from-env')
  t.equal(parseConfigToml('', { env }).http.admin_token, 'from-env', 'without the section in the file')
  t.equal(parseConfigToml('[http]\nadmin_token = "from-file"', { env: { HEADFRAME_HTTP_ADMIN_TOKEN: '' } }).http.admin_token, 'from-file', 'empty env is unset')
  t.equal(parseConfigToml('[http]\nadmin_token = "from-file"').http.admin_token, 'from-file', 'no env read by default')
  const err = t.throws(() => parseConfigToml('http = 1', { env })) as ConfigError
  t.same(err.problems, ['http: expected a table, got 1'], 'a bad section is still reported')
})

t.test('the pool password may come from the environment', async (t) => {
  const config = parseConfigToml('[stratum.auth]\nmode = "password"', { env: { HEADFRAME_STRATUM_PASSWORD: 'pw' } })
  t.equal(config.stratum.auth.password, 'pw')
  t.notMatch(JSON.stringify(redactConfig(config)), /"pw"/)
})

t.test('a node password may come from a named environment variable, and is redacted', async (t) => {
  const toml = '[[sources]]\ntype = "bitcoind"\npayout_address = "x"\n[[sources.nodes]]\nurl = "http://h:1"\nuser = "u"\npassword_env = "BTC_PW"'
  const config = parseConfigToml(toml, { env: { BTC_PW: 'hunter2' } })
  const source = config.sources[0]
  t.equal(source?.type === 'bitcoind' ? source.nodes[0]?.password : undefined, 'hunter2')
  t.notMatch(JSON.stringify(redactConfig(config)), /hunter2/)
})

t.test('redaction hides every secret', async (t) => {
  const shown = redactConfig(parseConfigToml('[http]\nadmin_token = "hunter2"'))
  t.equal(shown.http?.admin_token, '(set)')
  t.notMatch(JSON.stringify(shown), /hunter2/)
  t.equal(redactConfig(defaults).http?.admin_token, '(not set)')
  t.equal(shown.stratum?.port, 3333, 'other values shown as they are')
})

t.test('headframe.example.toml is valid and holds every key at its default', async (t) => {
  const text = readFileSync(join(PACKAGE_ROOT, 'headframe.example.toml'), 'utf8')
  t.same(parseConfigToml(text), defaults)
  const raw = parseToml(text) as Record<string, Record<string, unknown>>
  for (const [section, values] of Object.entries(defaults)) {
    t.same(Object.keys(raw[section] ?? {}).sort(), Object.keys(values).sort(), `[${section}] lists every key`)
  }
})

t.test('docs/config.md documents every key with its default', async (t) => {
  const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'config.md'), 'utf8')
  for (const section of Object.keys(defaults)) t.ok(section in configSchema.shape, section)
  for (const [path, value] of leaves(defaults)) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${path}\` |`))
    t.ok(row, `${path} has a row`)
    // Masks are documented as the hex the file holds.
    const shown = path === 'stratum.version_mask' ? JSON.stringify((value as number).toString(16).padStart(8, '0')) : JSON.stringify(value)
    t.match(row ?? '', `\`${shown}\``, `${path} default ${shown} documented`)
  }
})

t.test('loading files', async (t) => {
  const dir = t.testdir({
    'headframe.toml': '[stratum]\nport = 4000\n',
    'bad.toml': '[stratum]\nport = "x"\n',
    empty: {},
  })
  const explicit = await loadConfig('headframe.toml', { cwd: dir })
  t.equal(explicit.config.stratum.port, 4000)
  t.same(explicit.origin, { kind: 'file', path: join(dir, 'headframe.toml') })

  const implicit = await loadConfig(undefined, { cwd: dir })
  t.equal(implicit.config.stratum.port, 4000, './headframe.toml is read when present')

  const none = await loadConfig(undefined, { cwd: join(dir, 'empty') })
  t.same(none.origin, { kind: 'defaults' })
  t.same(none.config, { ...defaults, ledger: { ...defaults.ledger, path: join(dir, 'empty', 'data', 'ledger') } }, 'relative paths made absolute against the working directory')

  await t.rejects(loadConfigFile(join(dir, 'missing.toml')), { code: 'HF_CONFIG_READ', message: /missing\.toml: file not found/ })
  await t.rejects(loadConfigFile(join(dir, 'empty')), { code: 'HF_CONFIG_READ', message: /cannot read it/ })
  await t.rejects(loadConfig('bad.toml', { cwd: dir }), { code: 'HF_CONFIG_INVALID', message: /bad\.toml: stratum\.port: expected an integer 1-65535, got "x"/ })
})
