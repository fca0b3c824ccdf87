import type { Identity } from '../identity.js'
import type { EndReason } from './ends.js'
import type { ResolveOptions, SessionManager } from './manager.js'
import type { ClientInfo, Session } from './session.js'
import { SessionCookie, type CookieRequest, type CookieSettings } from './session-cookie.js'

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

  /** `publicUrl`: with `cookie.domains`, its host picks the cookie's domain. */
  constructor(manager: SessionManager, settings: CookieSettings, options: { readonly publicUrl?: string | undefined } = {}) {
    this.#manager = manager
    this.#cookie = new SessionCookie(settings, options)
  }

  /** The cookie's name check, for the list of what is never forwarded upstream. */
  ownsCookie(name: string): boolean {
    return this.#cookie.owns(name)
  }

  /** Whether the request carries a session cookie at all (cheap: no store access). */
  presented(request: CookieRequest): boolean {
    return this.#cookie.readAll(request).length > 0
  }

  /**
   * The session behind the request's cookie; renews or re-signs it when due. Throws StoreUnavailable.
   * `rotate: false`: the answer may never reach the browser (forward-auth), so a due rolling
   * renewal is deferred to the next request that reaches the gateway; the session is only extended.
   * `request`: the request's headers (Cookie, Host); two different session cookies throw a 400.
   * `readOnly: true`: nothing is written at all (`GET /session`).
   */
  async resume(request: CookieRequest, options: ResolveOptions = {}): Promise<Resumed> {
    const token = this.#cookie.read(request)
    if (token === undefined) return NONE
    const resolution = await this.#manager.resolve(token, options)
    if (resolution.status === 'valid') {
      const setCookie = resolution.setToken ? this.#cookie.issue(resolution.setToken, this.#manager.cookieMaxAge(resolution.session), request) : []
      return { status: 'valid', session: resolution.session, setCookie }
    }
    // Unknown, forged or expired: drop the cookie so the browser stops sending it.
    if (resolution.status === 'none') return NONE
    return { status: 'ended', reason: resolution.reason, setCookie: this.#cookie.expire(request) }
  }

  /**
   * A fresh session (fresh id: never one the client sent) for a verified identity. Whatever
   * session came with the request is ended, never adopted (no fixation). `remember`: the user
   * ticked "Remember me" (honoured when `session.remember_me` is enabled): the cookie persists.
   */
  async begin(identity: Identity, client: ClientInfo, request: CookieRequest, options: { readonly remember?: boolean } = {}): Promise<{ session: Session; setCookie: readonly string[] }> {
    const started = await this.#manager.start(identity, client, this.#cookie.read(request), options)
    return { session: started.session, setCookie: this.#cookie.issue(started.token, this.#manager.cookieMaxAge(started.session), request) }
  }

  /**
   * Ends the cookie's session (if any) and deletes the cookie. With two different session cookies
   * (tossing), logout still works: every session presented ends.
   */
  async end(request: CookieRequest): Promise<{ session: Session | null; setCookie: readonly string[] }> {
    let session: Session | null = null
    for (const token of this.#cookie.readAll(request)) {
      const ended = await this.#manager.end(token)
      session ??= ended
    }
    return { session, setCookie: this.#cookie.expire(request) }
  }
}
