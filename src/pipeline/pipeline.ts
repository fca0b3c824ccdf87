import { GatehouseError, Unauthenticated } from '../errors.js'
import type { RequestView } from '../http/request-view.js'
import type { EndReason } from '../session/ends.js'
import { authorize, isAnonymous } from './authorize.js'
import type { Caller, Identify } from './identify.js'
import type { Route, Router } from './router.js'

/** What to do with a request; the caller (built-in proxy, forward-auth endpoint) turns it into an answer. */
export type Verdict =
  /** Let it through to `route`'s upstream as `caller` (null on `auth: none`, or `optional` without credentials). */
  | { readonly kind: 'pass'; readonly route: Route; readonly caller: Caller | null }
  /** A credential in the URL became a session: send the browser to the same URL without it. */
  | { readonly kind: 'redirect'; readonly location: string }
  /** The logout argument came on this request (Kong's logout on any path). */
  | { readonly kind: 'logout' }
  /**
   * Refused with `status`. `signIn`: the caller is unidentified and a browser may be sent to the
   * login page with this `rd` (the URL without credential parameters).
   */
  | { readonly kind: 'deny'; readonly error: GatehouseError; readonly status: number; readonly signIn?: { readonly rd: string } | undefined }

export interface Decision {
  readonly verdict: Verdict
  /** Set-Cookie lines the answer must carry, whatever the verdict (renewal, deletion, new session). */
  readonly setCookie: readonly string[]
  /** A session cookie came whose session is over: a refusal carries it as `Gatehouse-Session-End`. */
  readonly sessionEnd?: EndReason | undefined
}

/** The response header naming why the presented session ended (on refusals and the login redirect). */
export const SESSION_END_HEADER = 'gatehouse-session-end'

export interface PipelineDeps {
  readonly router: Router
  readonly identify: Identify
  /** Whether this request carries the logout argument (query, or the already-read `body`). */
  isLogout(request: RequestView, body?: Buffer): boolean
  /** The URL as the upstream may see it: credential query parameters removed. */
  withoutQueryCredentials(url: string): string
}

export interface DecideOptions {
  /** A small body already read (form/JSON POSTs when `session.logout.post_arg` is set). */
  readonly body?: Buffer | undefined
  /** Used when no route matches (forward-auth guards URLs the gateway does not route itself). */
  readonly fallbackRoute?: Route | undefined
  /**
   * false: the answer's Set-Cookie may never reach the browser (forward-auth: Caddy drops it on a
   * 2xx, nginx unless configured), so a due rolling renewal is deferred, the session only extended.
   */
  readonly rotate?: boolean | undefined
}

/**
 * One request pipeline for every way Gatehouse guards a request:
 * path guard → route → logout argument → identify → authorize.
 */
export interface Pipeline {
  decide(request: RequestView, options?: DecideOptions): Promise<Decision>
}

const NO_COOKIES: readonly string[] = []

export const ENDED: Record<EndReason, string> = {
  session_expired: 'your session expired; sign in again',
  session_revoked: 'your session was ended (logout or revocation); sign in again',
  session_evicted: 'your session was ended by a newer sign-in (session limit); sign in again',
  unknown_session: 'the session cookie is not one this gateway issued; sign in again',
}

/** The 401 for a cookie whose session is over: why it ended, in words and as the `reason`. */
export function sessionEnded(reason: EndReason): Unauthenticated {
  return new Unauthenticated(ENDED[reason], { reason })
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  const { router, identify } = deps
  return {
    async decide(request, options = {}) {
      const setCookie: string[] = []
      let sessionEnd: EndReason | undefined
      try {
        // Path guard and route: refuses path tricks (dot segments, %2f/\ readings that disagree).
        const route = options.fallbackRoute ? (router.find(request.url) ?? options.fallbackRoute) : router.match(request.url)
        if (deps.isLogout(request, options.body)) return { verdict: { kind: 'logout' }, setCookie: NO_COOKIES }
        if (route.auth === 'none') return { verdict: { kind: 'pass', route, caller: null }, setCookie: NO_COOKIES }
        const caller = await identify(request, setCookie, route.methods, { rotate: options.rotate, onSessionEnded: (reason) => (sessionEnd = reason) })
        if (caller?.redirectTo) return { verdict: { kind: 'redirect', location: caller.redirectTo }, setCookie }
        const refusal = authorize(route, caller)
        if (!refusal) return { verdict: { kind: 'pass', route, caller }, setCookie }
        const signIn = (!caller || isAnonymous(caller)) && refusal.error instanceof Unauthenticated ? { rd: deps.withoutQueryCredentials(request.url) } : undefined
        // Nobody identified, and the cookie's session is over: say why rather than "no credentials".
        const error = signIn && sessionEnd ? sessionEnded(sessionEnd) : refusal.error
        return { verdict: { kind: 'deny', error, status: refusal.status, signIn }, setCookie, sessionEnd }
      } catch (error) {
        if (!(error instanceof GatehouseError)) throw error
        return { verdict: { kind: 'deny', error, status: error.status }, setCookie, sessionEnd }
      }
    },
  }
}
