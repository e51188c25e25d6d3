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
  private readonly allowed: BlockList | undefined
  private readonly trusted = new BlockList()
  private readonly perAddress = new Map<string, number>()
  private readonly bans = new Map<string, number>()
  private total = 0

  constructor(private readonly limits: AccessLimits) {
    this.allowed = limits.allowed_cidrs.length > 0 ? blockList(limits.allowed_cidrs) : undefined
    this.trusted = blockList(limits.trusted_cidrs)
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
    return this.trusted.check(address, family(address))
  }

  /**
   * Admits a connection (counting it) or says why not. Call `release`
   * exactly once for every admitted connection.
   */
  admit(address: string, now: number): RefusalReason | undefined {
    if (this.allowed !== undefined && !this.allowed.check(address, family(address))) return 'not-allowed'
    const trusted = this.isTrusted(address)
    if (!trusted && this.isBanned(address, now)) return 'banned'
    if (this.limits.max_connections > 0 && this.total >= this.limits.max_connections) return 'too-many-connections'
    const mine = this.perAddress.get(address) ?? 0
    if (!trusted && this.limits.max_connections_per_ip > 0 && mine >= this.limits.max_connections_per_ip) return 'too-many-from-address'
    this.perAddress.set(address, mine + 1)
    this.total++
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

/** A socket's remote address with IPv4-mapped IPv6 (`::ffff:10.0.0.1`, dual-stack listeners) turned into plain IPv4. */
export function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown'
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}
