/**
 * Who may connect: the allowed address blocks, per-address and total
 * connection limits, and bans with an expiry. Trusted blocks (a NAT in
 * front of a farm's miners) are exempt from per-address limits and bans.
 *
 * Time comes from the caller (`now` in ms) so tests move it instead of
 * sleeping. Memory is bounded by the live connections plus live bans.
 */
import { BlockList } from 'node:net'
import { parseCidr } from '../config/fields.js'

export interface AccessLimits {
  readonly max_connections: number
  readonly max_connections_per_ip: number
  readonly allowed_cidrs: readonly string[]
  readonly trusted_cidrs: readonly string[]
  readonly ban_seconds: number
}

/** Why a connection was refused (logged once per refusal). */
export type RefusalReason = 'not-allowed' | 'banned' | 'too-many-connections' | 'too-many-from-address'

/** The most bans remembered; past it the oldest is forgotten first. */
const MAX_BANS = 100_000

export class AccessControl {
  private allowed: BlockList | undefined
  private trusted = new BlockList()
  private readonly perAddress = new Map<string, number>()
  private readonly bans = new Map<string, number>()
  private total = 0

  constructor(private limits: AccessLimits) {
    this.allowed = limits.allowed_cidrs.length > 0 ? blockList(limits.allowed_cidrs) : undefined
    this.trusted = blockList(limits.trusted_cidrs)
  }

  /**
   * New limits and address lists (SIGHUP), keeping the live connection
   * counts and the bans. Connections already open stay open even if their
   * address is no longer allowed; new ones are judged by the new lists.
   */
  reconfigure(limits: AccessLimits): void {
    this.allowed = limits.allowed_cidrs.length > 0 ? blockList(limits.allowed_cidrs) : undefined
    this.trusted = blockList(limits.trusted_cidrs)
    this.limits = limits
  }

  /** Live connections counted. */
  get connections(): number {
    return this.total
  }

  /** Addresses banned now. */
  bannedAddresses(now: number): { address: string; until: number }[] {
    this.expireBans(now)
    return [...this.bans].map(([address, until]) => ({ address, until }))
  }

  isTrusted(address: string): boolean {
    return this.trusted.check(probe(address), family(address))
  }

  /**
   * Admits a connection (counting it) or says why not. Call `release`
   * exactly once for every admitted connection.
   */
  admit(address: string, now: number): RefusalReason | undefined {
    const refusal = this.check(address, now)
    if (refusal !== undefined) return refusal
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1)
    this.total++
    return undefined
  }

  /** Why `address` would be refused now, without counting it (e.g. before a TLS handshake). */
  check(address: string, now: number): RefusalReason | undefined {
    if (this.allowed !== undefined && !this.allowed.check(probe(address), family(address))) return 'not-allowed'
    const trusted = this.isTrusted(address)
    if (!trusted && this.isBanned(address, now)) return 'banned'
    if (this.limits.max_connections > 0 && this.total >= this.limits.max_connections) return 'too-many-connections'
    const mine = this.perAddress.get(address) ?? 0
    if (!trusted && this.limits.max_connections_per_ip > 0 && mine >= this.limits.max_connections_per_ip) return 'too-many-from-address'
    return undefined
  }

  release(address: string): void {
    const mine = this.perAddress.get(address)
    if (mine === undefined) return
    if (mine <= 1) this.perAddress.delete(address)
    else this.perAddress.set(address, mine - 1)
    this.total--
  }

  /** Bans an address for `ban_seconds` (or `seconds`). Trusted addresses are never banned: returns false. */
  ban(address: string, now: number, seconds = this.limits.ban_seconds): boolean {
    if (this.isTrusted(address)) return false
    this.bans.delete(address)
    this.bans.set(address, now + seconds * 1000)
    if (this.bans.size > MAX_BANS) this.bans.delete(this.bans.keys().next().value as string)
    return true
  }

  unban(address: string): boolean {
    return this.bans.delete(address)
  }

  isBanned(address: string, now: number): boolean {
    const until = this.bans.get(address)
    if (until === undefined) return false
    if (until > now) return true
    this.bans.delete(address)
    return false
  }

  private expireBans(now: number): void {
    for (const [address, until] of this.bans) if (until <= now) this.bans.delete(address)
  }
}

function family(address: string): 'ipv4' | 'ipv6' {
  return address.includes(':') ? 'ipv6' : 'ipv4'
}

/** The address to test against CIDR lists: a /64 key stands for its first address. */
function probe(address: string): string {
  return address.endsWith('::/64') ? address.slice(0, -3) : address
}

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList()
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr)
    if (parsed === undefined) throw new RangeError(`not a CIDR block: ${cidr}`)
    const [address, prefix, fam] = parsed
    list.addSubnet(address, prefix, fam)
  }
  return list
}

/**
 * The address limits and bans apply to: IPv4 as it is (IPv4-mapped IPv6
 * from a dual-stack listener, `::ffff:10.0.0.1`, turned into plain IPv4),
 * IPv6 by its /64 — one host usually holds a whole /64, so counting single
 * IPv6 addresses would be trivially bypassed.
 */
export function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown'
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7)
  if (!address.includes(':')) return address
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address, as lowercase hex without leading zeros. */
function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.split('%', 1)[0]?.split('::') ?? ['']
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = tail === undefined ? [] : Array.from({ length: Math.max(0, 8 - left.length - right.length) }, () => '0')
  return [...left, ...zeros, ...right].map((g) => Number.parseInt(g, 16).toString(16))
}
