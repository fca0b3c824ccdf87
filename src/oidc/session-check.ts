import type { Identify } from '../pipeline/identify.js'
import type { BrowserSessions } from '../session/browser-sessions.js'
import type { Logger } from '../telemetry/logger.js'
import type { OidcLogins } from './logins.js'

/**
 * Wraps the pipeline's identify step: an OIDC session is checked against its login (refreshed
 * when due; see OidcLogins.check) and, with `pass_access_token`, carries the current access
 * token for the upstream. A login that ended at the provider or whose refresh was refused ends
 * the session here — the cookie is deleted, and the caller is nobody (401, or the login page).
 */
export function withOidcSessions(identify: Identify, logins: OidcLogins, sessions: BrowserSessions, log: Logger): Identify {
  return async (request, setCookie, methods, options) => {
    const caller = await identify(request, setCookie, methods, options)
    if (!caller?.session || caller.session.provider.type !== 'oidc') return caller
    const freshness = await logins.check(caller.session)
    if (freshness.live) return freshness.accessToken === undefined ? caller : { ...caller, accessToken: freshness.accessToken }
    log.info({ event: 'session_ended', provider: caller.session.provider.name, user: caller.session.user, why: freshness.why, session: caller.session.id.slice(0, 12) }, 'OIDC session ended')
    const ended = await sessions.end(request.headers.cookie)
    setCookie.length = 0
    setCookie.push(...ended.setCookie)
    return null
  }
}
