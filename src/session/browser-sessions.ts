import type { Identity } from '../identity.js'
import type { EndReason } from './ends.js'
import type { ResolveOptions, SessionManager } from './manager.js'
import type { ClientInfo, Session } from './session.js'
import { SessionCookie, type CookieSettings } from './session-cookie.js'

/** A session found behind the request's cookie, with the Set-Cookie lines its renewal needs (often none). */
export type Resumed =
  | { readonly status: 'valid'; readonly session: Session; readonly setCookie: readonly string[] }
  /** No session cookie came with the request. */
  | { readonly status: 'none'; readonly setCookie: readonly string[] }
  /** A cookie came, but its session is unknown, forged or over (`reason`): the lines delete it. */
  | { readonly status: 'ended'; readonly reason: EndReason; readonly setCookie: readonly string[] }

const NONE: Resumed = { status: 'none', setCookie: [] }

/**
 * Browser sessions as the HTTP edge sees them: the session manager (policy, store) joined to the
 * one session cookie. Everything that starts, resumes, renews or ends a browser session goes
 * through here, so the cookie is written in exactly one way.
 */
export class BrowserSessions {
  readonly #manager: SessionManager
  readonly #cookie: SessionCookie

  constructor(manager: SessionManager, settings: CookieSettings) {
    this.#manager = manager
    this.#cookie = new SessionCookie(settings)
  }

  /** The cookie's name check, for the list of what is never forwarded upstream. */
  ownsCookie(name: string): boolean {
    return this.#cookie.owns(name)
  }

  /** Whether the request carries a session cookie at all (cheap: no store access). */
  presented(cookieHeader: string | undefined): boolean {
    return this.#cookie.read(cookieHeader) !== undefined
  }

  /**
   * The session behind the request's cookie; renews or re-signs it when due. Throws StoreUnavailable.
   * `rotate: false`: the answer may never reach the browser (forward-auth), so a due rolling
   * renewal is deferred to the next request that reaches the gateway; the session is only extended.
   * `readOnly: true`: nothing is written at all (`GET /session`).
   */
  async resume(cookieHeader: string | undefined, options: ResolveOptions = {}): Promise<Resumed> {
    const token = this.#cookie.read(cookieHeader)
    if (token === undefined) return NONE
    const resolution = await this.#manager.resolve(token, options)
    if (resolution.status === 'valid') {
      const setCookie = resolution.setToken ? this.#cookie.issue(resolution.setToken, this.#manager.cookieMaxAge(resolution.session), cookieHeader) : []
      return { status: 'valid', session: resolution.session, setCookie }
    }
    // Unknown, forged or expired: drop the cookie so the browser stops sending it.
    if (resolution.status === 'none') return NONE
    return { status: 'ended', reason: resolution.reason, setCookie: this.#cookie.expire(cookieHeader) }
  }

  /**
   * A fresh session (fresh id: never one the client sent) for a verified identity. Whatever
   * session came with the request is ended, never adopted (no fixation).
   */
  async begin(identity: Identity, client: ClientInfo, cookieHeader: string | undefined): Promise<{ session: Session; setCookie: readonly string[] }> {
    const started = await this.#manager.start(identity, client, this.#cookie.read(cookieHeader))
    return { session: started.session, setCookie: this.#cookie.issue(started.token, this.#manager.cookieMaxAge(started.session), cookieHeader) }
  }

  /** Ends the cookie's session (if any) and deletes the cookie. */
  async end(cookieHeader: string | undefined): Promise<{ session: Session | null; setCookie: readonly string[] }> {
    const session = await this.#manager.end(this.#cookie.read(cookieHeader))
    return { session, setCookie: this.#cookie.expire(cookieHeader) }
  }
}
