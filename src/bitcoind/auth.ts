/**
 * RPC credentials: a cookie file or a user and password, as an HTTP Basic
 * `Authorization` header.
 *
 * bitcoind writes `<datadir>[/<network>]/.cookie` (`__cookie__:<random>`) at
 * every start and deletes it at exit, so the cookie is read lazily (bitcoind
 * may start after Headframe) and re-read when a call gets HTTP 401 (bitcoind
 * restarted with a new cookie). Nothing here logs or prints the secret: the
 * description names the cookie file or the user, never the password.
 */
import { readFile } from 'node:fs/promises'
import { BitcoindError } from '../errors.js'

/** How to authenticate to one node. */
export type RpcAuth =
  | { readonly cookieFile: string }
  | { readonly user: string; readonly password: string }

/** The credentials of one node, with the cookie cached between calls. */
export class RpcCredentials {
  private cached: string | undefined

  constructor(
    private readonly auth: RpcAuth,
    private readonly url: string,
  ) {
    if ('user' in auth) this.cached = basic(auth.user, auth.password)
  }

  /** For messages: which credentials, never their secret. */
  describe(): string {
    return 'cookieFile' in this.auth ? `cookie file ${this.auth.cookieFile}` : 'the configured user and password'
  }

  /** The `Authorization` header value; reads the cookie file the first time. */
  async header(): Promise<string> {
    if (this.cached === undefined) this.cached = await this.readCookie()
    return this.cached
  }

  /**
   * After a 401: re-reads the cookie file. True when it changed (one more
   * try is worth it); false for user/password or an unchanged cookie.
   */
  async refresh(): Promise<boolean> {
    if (!('cookieFile' in this.auth)) return false
    const before = this.cached
    this.cached = undefined
    let fresh: string
    try {
      fresh = await this.readCookie()
    } catch {
      // No readable cookie now: the 401 stands; the next call tries again.
      return false
    }
    this.cached = fresh
    return fresh !== before
  }

  private async readCookie(): Promise<string> {
    const file = (this.auth as { cookieFile: string }).cookieFile
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const hint = code === 'ENOENT' ? ' (is bitcoind running, with this datadir and network?)' : ''
      throw new BitcoindError('HF_BITCOIND_COOKIE', `cannot read the bitcoind cookie file ${file}: ${code ?? (err as Error).message}${hint}`, {
        url: this.url,
        transport: true,
        retryable: true,
      }, { cause: err })
    }
    const line = text.split(/\r?\n/, 1)[0]?.trim() ?? ''
    const colon = line.indexOf(':')
    if (colon <= 0) {
      throw new BitcoindError('HF_BITCOIND_COOKIE', `the bitcoind cookie file ${file} holds no user:password line`, { url: this.url, retryable: true })
    }
    return basic(line.slice(0, colon), line.slice(colon + 1))
  }
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`
}
