import type { Authenticator } from '../auth/authenticator.js'
import { GatehouseError } from '../errors.js'
import type { RequestView } from '../http/request-view.js'
import type { Identity } from '../identity.js'
import type { BrowserSessions } from '../session/browser-sessions.js'
import type { EndReason } from '../session/ends.js'
import type { Session } from '../session/session.js'
import { sessionIdentity } from '../session/session.js'

/** Who is calling, as established for this request. */
export interface Caller {
  readonly identity: Identity
  readonly session: Session | null
  /** Set when the credential asks for a 302 instead of proxying (a JWT moved from the URL into a session). */
  readonly redirectTo?: string | undefined
  /** OIDC with `pass_access_token`: the provider's current access token, for `X-Forwarded-Access-Token`. */
  readonly accessToken?: string | undefined
}

export interface IdentifyDeps {
  readonly sessions: BrowserSessions
  readonly authenticators: readonly Authenticator[]
  /** A credential started a session (audit, metrics). */
  onSessionStarted?(identity: Identity, session: Session, request: RequestView): void
  /** A presented credential was refused (logged with its reason; the credential never is). */
  onRejected?(authenticator: Authenticator, error: GatehouseError, request: RequestView): void
}

/**
 * The caller from the session cookie, then from the configured authenticators (only those the
 * route's `methods` allow); null when nobody is identified. A presented but bad credential throws.
 * Set-Cookie lines the answer must carry (renewal, deletion, new session) are appended to `setCookie`,
 * also when it throws.
 */
export type Identify = (request: RequestView, setCookie: string[], methods?: readonly string[], options?: IdentifyOptions) => Promise<Caller | null>

export interface IdentifyOptions {
  /** false: a due rolling renewal of the session id is deferred (forward-auth; see BrowserSessions.resume). */
  readonly rotate?: boolean | undefined
  /** true: the session is only read, never touched or renewed (`GET /session`). */
  readonly readOnly?: boolean | undefined
  /** A session cookie came whose session is over: why (the 401's reason, `Gatehouse-Session-End`). */
  onSessionEnded?(reason: EndReason): void
}

/**
 * Session first, then credentials (logical OR, as Kong's session plugin does). A store that
 * cannot answer throws StoreUnavailable (503): never a pass as anonymous.
 */
export function createIdentify(deps: IdentifyDeps): Identify {
  const { sessions, authenticators } = deps

  const fromSession = async (request: RequestView, setCookie: string[], options?: IdentifyOptions): Promise<Caller | null> => {
    const resumed = await sessions.resume(request.headers, { rotate: options?.rotate, readOnly: options?.readOnly })
    setCookie.push(...resumed.setCookie)
    if (resumed.status === 'ended') options?.onSessionEnded?.(resumed.reason)
    return resumed.status === 'valid' ? { identity: sessionIdentity(resumed.session), session: resumed.session } : null
  }

  // Logical OR over the authenticators: the first success wins. A rejected credential is
  // remembered and thrown only if nothing else succeeds, and it rules out the anonymous fallback.
  const fromCredentials = async (request: RequestView, setCookie: string[], methods?: readonly string[]): Promise<Caller | null> => {
    let rejection: GatehouseError | undefined
    for (const authenticator of authenticators) {
      if (methods && !methods.includes(authenticator.name)) continue
      if (rejection && authenticator.type === 'anonymous') continue
      let result
      try {
        result = await authenticator.authenticate(request)
      } catch (error) {
        if (!(error instanceof GatehouseError)) throw error
        deps.onRejected?.(authenticator, error, request)
        rejection = graver(rejection, error)
        continue
      }
      if (!result) continue
      if (!result.startSession) return { identity: result.identity, session: null }
      const started = await sessions.begin(result.identity, { ip: request.ip, userAgent: request.headers['user-agent'] }, request.headers)
      // The new cookie replaces whatever renewal or deletion lines came before it.
      setCookie.length = 0
      setCookie.push(...started.setCookie)
      deps.onSessionStarted?.(result.identity, started.session, request)
      return { identity: result.identity, session: started.session, redirectTo: result.redirectTo }
    }
    if (rejection) throw rejection
    return null
  }

  return async (request, setCookie, methods, options) => {
    const sessionAllowed = !methods || methods.includes('session')
    return (sessionAllowed ? await fromSession(request, setCookie, options) : null) ?? (authenticators.length > 0 ? await fromCredentials(request, setCookie, methods) : null)
  }
}

/**
 * Which refusal the caller hears when several methods refused the same request: a method that
 * could not decide (its service or store down: 503) outranks a refusal, since the credential may
 * be good — with internal and external Basic on, an external outage must not read as "wrong
 * password" — and a login limit (429) outranks a plain 401. Otherwise the first one stands.
 */
function graver(current: GatehouseError | undefined, next: GatehouseError): GatehouseError {
  if (!current) return next
  const rank = (error: GatehouseError) => (error.status === 503 ? 2 : error.status === 429 ? 1 : 0)
  return rank(next) > rank(current) ? next : current
}
