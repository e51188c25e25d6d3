/**
 * The systemd unit and its install script: the script run twice into a
 * temporary --prefix (the second run changes nothing), its dry run and
 * refusals, the unit's required settings, and `systemd-analyze verify`
 * on the installed unit where the tool exists.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../../src/package-info.js'

const SCRIPT = join(PACKAGE_ROOT, 'scripts', 'install-systemd.sh')
const UNIT = join(PACKAGE_ROOT, 'contrib', 'headframe.service')
const ANALYZE = '/usr/bin/systemd-analyze'

function install(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', cwd: PACKAGE_ROOT })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

/** `Key=value` lines of a unit, repeated keys kept in order. */
function directives(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (m === null) continue
    map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!])
  }
  return map
}

t.test('the unit has what the issue asks for', async (t) => {
  const d = directives(readFileSync(UNIT, 'utf8'))
  const one = (key: string) => d.get(key)?.at(-1)
  t.equal(one('User'), 'headframe', 'a dedicated user')
  t.equal(one('StateDirectory'), 'headframe', 'the ledger in /var/lib/headframe')
  t.equal(one('WorkingDirectory'), '/var/lib/headframe', 'relative ledger paths land in the state directory')
  t.equal(one('ConfigurationDirectory'), 'headframe')
  t.ok(Number(one('LimitNOFILE')) >= 200_000, 'descriptors for 100,000 miners')
  t.equal(one('NoNewPrivileges'), 'yes')
  t.equal(one('ProtectSystem'), 'strict')
  t.equal(one('ProtectHome'), 'yes')
  t.equal(one('PrivateTmp'), 'yes')
  t.equal(one('RestrictAddressFamilies'), 'AF_INET AF_INET6 AF_UNIX')
  t.equal(one('CapabilityBoundingSet'), '', 'no capability at all')
  t.equal(one('Restart'), 'on-failure')
  t.equal(one('StandardOutput'), 'journal')
  t.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID', 'reload is SIGHUP')
  t.ok(Number(one('TimeoutStopSec')) > 10, 'systemd waits longer than the 10 s drain')
  t.match(one('ExecStart'), /dist\/src\/cli\/main\.js run --config \/etc\/headframe\/headframe\.toml$/)
})

t.test('install into a prefix twice: the second run changes nothing', async (t) => {
  const prefix = t.testdir()
  const first = install('--prefix', prefix)
  t.equal(first.code, 0, first.err)
  const unitPath = join(prefix, 'etc', 'systemd', 'system', 'headframe.service')
  const configPath = join(prefix, 'etc', 'headframe', 'headframe.toml')
  t.match(first.out, `unit ${unitPath}: installed`)
  t.match(first.out, `config ${configPath}: created`)
  t.match(first.out, 'user headframe: not created (staged install')
  t.notMatch(first.out, /daemon reloaded/, 'no systemctl for a staged install')
  const unit = readFileSync(unitPath, 'utf8')
  t.match(unit, `ExecStart=${process.execPath} ${PACKAGE_ROOT}/dist/src/cli/main.js run --config /etc/headframe/headframe.toml`)
  t.equal(readFileSync(configPath, 'utf8'), readFileSync(join(PACKAGE_ROOT, 'headframe.example.toml'), 'utf8'))

  const second = install('--prefix', prefix)
  t.equal(second.code, 0)
  t.match(second.out, `unit ${unitPath}: unchanged`)
  t.match(second.out, `config ${configPath}: kept (exists)`)
  t.equal(readFileSync(unitPath, 'utf8'), unit)

  // An edited config is never overwritten; a changed unit is put back.
  writeFileSync(configPath, '[stratum]\nport = 4444\n')
  writeFileSync(unitPath, 'edited')
  const third = install('--prefix', prefix)
  t.match(third.out, `unit ${unitPath}: updated`)
  t.equal(readFileSync(configPath, 'utf8'), '[stratum]\nport = 4444\n')
  t.equal(readFileSync(unitPath, 'utf8'), unit)
})

t.test('dry run, options and refusals', async (t) => {
  const prefix = t.testdir()
  const dry = install('--dry-run', `--prefix=${join(prefix, 'staged')}`)
  t.equal(dry.code, 0)
  t.match(dry.out, /would be installed/)
  t.match(dry.out, /dry run: nothing changed/)
  t.same(readdirSync(prefix), [], 'nothing written')

  const node = install('--prefix', prefix, '--node', '/usr/bin/env', '--app-dir', PACKAGE_ROOT)
  t.equal(node.code, 0)
  t.match(readFileSync(join(prefix, 'etc', 'systemd', 'system', 'headframe.service'), 'utf8'), /^ExecStart=\/usr\/bin\/env /m)

  t.match(install('--bogus'), { code: 2, err: /unknown argument: --bogus/ })
  t.match(install('--help'), { code: 0, out: /usage: install-systemd\.sh/ })
  t.match(install('--prefix', prefix, '--app-dir', t.testdir()), { code: 1, err: /main\.js is missing: run npm ci/ })
  t.match(install('--prefix', prefix, '--node', '/nonexistent/node'), { code: 1, err: /no node binary/ })
})

t.test('systemd-analyze verify accepts the installed unit', { skip: existsSync(ANALYZE) ? false : `${ANALYZE} missing (Debian package "systemd")` }, async (t) => {
  const prefix = t.testdir()
  t.equal(install('--prefix', prefix).code, 0)
  const unitPath = join(prefix, 'etc', 'systemd', 'system', 'headframe.service')
  const r = spawnSync(ANALYZE, ['verify', unitPath], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  // Bad values are only warnings (exit 0): none may name this unit.
  t.same(r.stderr.split('\n').filter((l) => l.includes('headframe.service')), [], 'no warning about the unit')

  // The check can fail: a broken copy is reported.
  const broken = join(prefix, 'broken.service')
  writeFileSync(broken, readFileSync(unitPath, 'utf8').replace(/^LimitNOFILE=.*$/m, 'LimitNOFILE=lots'))
  const bad = spawnSync(ANALYZE, ['verify', broken], { encoding: 'utf8' })
  t.match(bad.stderr, /broken\.service:\d+: Failed to parse resource value/)
})
