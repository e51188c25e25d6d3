import t from 'tap'
import { AccessControl, normalizeAddress, type AccessLimits } from '../../src/server/access-control.js'

const limits = (over: Partial<AccessLimits> = {}): AccessLimits => ({
  max_connections: 0,
  max_connections_per_ip: 2,
  allowed_cidrs: [],
  trusted_cidrs: [],
  ban_seconds: 60,
  ...over,
})

t.test('per-address and total limits', async (t) => {
  const a = new AccessControl(limits({ max_connections: 3 }))
  t.equal(a.admit('10.0.0.1', 0), undefined)
  t.equal(a.admit('10.0.0.1', 0), undefined)
  t.equal(a.admit('10.0.0.1', 0), 'too-many-from-address')
  t.equal(a.admit('10.0.0.2', 0), undefined)
  t.equal(a.admit('10.0.0.3', 0), 'too-many-connections')
  t.equal(a.connections, 3)
  a.release('10.0.0.1')
  t.equal(a.admit('10.0.0.3', 0), undefined)
  a.release('10.9.9.9') // never admitted: ignored
  t.equal(a.connections, 3)
})

t.test('allowed and trusted blocks', async (t) => {
  const a = new AccessControl(limits({ allowed_cidrs: ['10.0.0.0/8', 'fd00::/8'], trusted_cidrs: ['10.1.0.0/16'], max_connections_per_ip: 1 }))
  t.equal(a.admit('192.168.1.1', 0), 'not-allowed')
  t.equal(a.admit(normalizeAddress('fd00::1'), 0), undefined)
  t.equal(a.admit('10.1.2.3', 0), undefined)
  t.equal(a.admit('10.1.2.3', 0), undefined, 'trusted: no per-address limit')
  t.equal(a.ban('10.1.2.3', 0), false, 'trusted: never banned')
  t.equal(a.admit('10.2.0.1', 0), undefined)
  t.equal(a.admit('10.2.0.1', 0), 'too-many-from-address')
})

t.test('bans expire', async (t) => {
  const a = new AccessControl(limits())
  t.equal(a.ban('10.0.0.9', 1000), true)
  t.equal(a.admit('10.0.0.9', 1000), 'banned')
  t.same(a.bannedAddresses(1000), [{ address: '10.0.0.9', until: 61000 }])
  t.equal(a.admit('10.0.0.9', 60999), 'banned')
  t.equal(a.admit('10.0.0.9', 61000), undefined, 'free after ban_seconds')
  a.ban('10.0.0.8', 0, 5)
  t.equal(a.unban('10.0.0.8'), true)
  t.equal(a.isBanned('10.0.0.8', 1), false)
  t.same(a.bannedAddresses(1e9), [])
})

t.test('address normalisation', async (t) => {
  t.equal(normalizeAddress('::ffff:10.0.0.1'), '10.0.0.1')
  t.equal(normalizeAddress('::1'), '0:0:0:0::/64')
  t.equal(normalizeAddress('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
  t.equal(normalizeAddress('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64', 'one /64, one key')
  t.equal(normalizeAddress('fe80::1%eth0'), 'fe80:0:0:0::/64')
  t.equal(normalizeAddress(undefined), 'unknown')
})
