import type { Authenticator } from '../auth/authenticator.js'
import type { Config } from '../config/schema.js'
import { Forbidden, GatehouseError } from '../errors.js'
import { queryOf } from '../http/request-parts.js'
import { wantsHtml, type RequestView } from '../http/request-view.js'
import type { Identity } from '../identity.js'
import type { Session } from '../session/session.js'
import type { BrowserSessions } from '../session/browser-sessions.js'
import type { SessionAdmin } from '../session/store/store.js'
import type { RedirectPolicy } from './redirect-policy.js'

/** The answer to a logout, whatever carried it (the endpoint, or the logout argument on any path). */
export interface LogoutAnswer {
  readonly status: 200 | 302
  readonly headers: Record<string, string | string[]>
  /** JSON body for API clients; absent on the browser redirect. */
  readonly body?: { logged_out: true; user: string | null; total: number } | undefined
}

export interface LogoutDeps {
  readonly settings: Config['session']['logout']
  readonly sessions: BrowserSessions
  /** Present when JWTs are configured: logout by token ends the sessions that token started. */
  readonly jwt?: Authenticator | undefined
  /** Absent on cookie storage (nothing server side to find by token). */
  readonly admin?: SessionAdmin | undefined
  readonly redirects: RedirectPolicy
  /** Where browsers go after logout when neither `redirect_url` nor a valid `rd` says otherwise. */
  readonly loginPath: string
  onLogout?(event: { user: string; sessions: number; by: 'token' | 'cookie'; ip: string }): void
  /**
   * OIDC: called with an ended session of an OIDC provider and where the browser would go next;
   * returns the provider's end-session URL (RP-initiated logout) when the browser goes there instead.
   */
  providerLogout?(session: Session, next: string, request: RequestView): Promise<string | null>
}

export interface Logout {
  /** Kong style: does this request carry the logout argument (query on any method listed, or a form/JSON body field)? */
  isTriggeredBy(request: RequestView, body?: Buffer): boolean
  /** CORS headers for an allowed embedding origin (`session.logout.allowed_origins`); null otherwise. */
  cors(request: RequestView): Record<string, string> | null
  /**
   * Ends the cookie's session and the sessions of a presented JWT, expires every cookie.
   * A cross-site request is refused first (403 `bad_origin`), whatever carried it.
   */
  perform(request: RequestView): Promise<LogoutAnswer>
}

export function createLogout(deps: LogoutDeps): Logout {
  const { settings, sessions, jwt, admin } = deps
  const allowedOrigins = new Set(settings.allowed_origins.map((o) => o.toLowerCase()))
  const methods: readonly string[] = settings.methods

  /** Logout by token: every session started from this token's subject (and jti, when it has one). */
  const endByToken = async (identity: Identity): Promise<number> => {
    if (!admin) return 0
    const jti = identity.data?.jti
    const doomed: string[] = []
    let cursor: string | undefined
    do {
      // now: 0 lists expired records too: they go as well.
      const page = await admin.list({ user: identity.user, provider: { type: 'jwt' }, limit: 500, cursor, now: 0 })
      for (const session of page.sessions) if (jti === undefined || session.data?.jti === jti) doomed.push(session.id)
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    return doomed.length > 0 ? admin.remove(doomed) : 0
  }

  const cors = (request: RequestView): Record<string, string> | null => {
    const origin = request.headers.origin
    if (typeof origin !== 'string' || !allowedOrigins.has(origin.toLowerCase())) return null
    return { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' }
  }

  /**
   * Logout CSRF: another site's page must not sign the browser out — with a link, an image, an
   * iframe, a form, or the logout argument on any path. Refused: `Sec-Fetch-Site: cross-site`,
   * and any Origin that is neither this gateway (`public_url` when set) nor listed in
   * `allowed_origins` (`Origin: null` included). A listed origin passes even cross-site (its CORS
   * fetch). No Origin and no Sec-Fetch-Site (curl, older browsers, same-site GET navigations) pass.
   */
  const crossSite = (request: RequestView): boolean => {
    const origin = request.headers.origin
    if (typeof origin === 'string' && allowedOrigins.has(origin.toLowerCase())) return false
    const site = request.headers['sec-fetch-site']
    if (typeof site === 'string' && site.toLowerCase() === 'cross-site') return true
    return !deps.redirects.ownOrigin(request.headers)
  }

  return {
    cors,

    isTriggeredBy(request, body) {
      if (!methods.includes(request.method)) return false
      if (settings.query_arg && request.url.includes('?') && queryOf(request.url)?.has(settings.query_arg)) return true
      return !!settings.post_arg && request.method === 'POST' && body !== undefined && bodyHasArg(body, request.headers['content-type'], settings.post_arg)
    },

    async perform(request) {
      if (crossSite(request)) throw new Forbidden('cross-site logout refused', { reason: 'bad_origin' })
      const ended = await sessions.end(request.headers)
      let total = ended.session ? 1 : 0
      let byToken: Identity | null = null
      try {
        byToken = jwt ? ((await jwt.authenticate(request))?.identity ?? null) : null
      } catch (error) {
        // A bad token with a valid cookie still logs the cookie out; alone it is a 401.
        if (!ended.session || !(error instanceof GatehouseError)) throw error
      }
      if (byToken) total += await endByToken(byToken)
      const user = ended.session?.user ?? byToken?.user ?? null
      if (user) deps.onLogout?.({ user, sessions: total, by: byToken ? 'token' : 'cookie', ip: request.ip })
      const headers = { ...cors(request), 'set-cookie': [...ended.setCookie], 'cache-control': 'no-store' }
      const oidcSession = ended.session?.provider.type === 'oidc' ? ended.session : null
      if (wantsHtml(request.headers)) {
        const rd = deps.redirects.safe(queryOf(request.url)?.get('rd') ?? undefined, request.headers)
        const next = settings.redirect_url ?? rd ?? deps.loginPath
        const atProvider = oidcSession && deps.providerLogout ? await deps.providerLogout(oidcSession, next, request) : null
        return { status: 302, headers: { ...headers, location: atProvider ?? next } }
      }
      // An API client's logout still forgets the login's tokens (no redirect to follow).
      if (oidcSession && deps.providerLogout) await deps.providerLogout(oidcSession, deps.loginPath, request)
      return { status: 200, headers, body: { logged_out: true, user, total } }
    },
  }
}

/** Kong's logout_post_arg: does this form or JSON body carry the argument? */
export function bodyHasArg(body: Buffer, contentType: string | undefined, arg: string): boolean {
  const text = body.toString('utf8')
  if (contentType?.includes('json')) {
    try {
      const parsed = JSON.parse(text) as unknown
      return !!parsed && typeof parsed === 'object' && !Array.isArray(parsed) && arg in parsed
    } catch {
      return false
    }
  }
  return new URLSearchParams(text).has(arg)
}
