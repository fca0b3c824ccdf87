import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Forbidden, Unauthenticated } from '../errors.js'
import { authorizationValue } from '../http/request-parts.js'
import type { Identify } from '../pipeline/identify.js'
import { SESSION_END_HEADER, sessionEnded } from '../pipeline/pipeline.js'
import type { EndReason } from '../session/ends.js'
import type { RedirectPolicy } from '../pipeline/redirect-policy.js'

export interface AdminActor {
  /** Who acts, for the audit log: `token` or the session's user. */
  readonly name: string
  /** The admin's own session id, so the page can mark it. */
  readonly sessionId: string | null
}

export interface AdminAccessDeps {
  /** `admin.token`: a bearer token for scripts. */
  readonly token?: string | undefined
  /** `admin.roles`: session roles that may administer. */
  readonly roles: readonly string[]
  readonly identify: Identify
  readonly redirects: RedirectPolicy
}

/** Sent by the admin page's automatic refresh: the read is not activity of the admin. */
export const POLL_HEADER = 'x-gatehouse-poll'

/**
 * Admin access: `Authorization: Bearer <admin.token>` (compared in constant time), or a
 * session whose roles include one of `admin.roles`. Writes by cookie must come from this origin.
 * A read marked with POLL_HEADER resolves the session read-only (no touch, no renewal), so a
 * page left open on auto-refresh does not keep its admin signed in; the header can only shorten
 * the sender's own session.
 */
export function createAdminAccess(deps: AdminAccessDeps) {
  const tokenDigest = deps.token ? createHash('sha256').update(deps.token).digest() : undefined

  return async function requireAdmin(request: FastifyRequest, reply: FastifyReply, write: boolean): Promise<AdminActor> {
    const presented = authorizationValue(request.headers, 'Bearer')
    if (presented !== undefined && tokenDigest) {
      const digest = createHash('sha256').update(presented).digest()
      if (timingSafeEqual(digest, tokenDigest)) return { name: 'token', sessionId: null }
      throw new Unauthenticated('invalid admin token', { reason: 'bad_admin_token' })
    }
    const setCookie: string[] = []
    const readOnly = !write && request.headers[POLL_HEADER] === '1'
    let ended: EndReason | undefined
    const caller = await deps.identify({ method: request.method, url: request.url, headers: request.headers, ip: request.ip }, setCookie, ['session'], { readOnly, onSessionEnded: (reason) => (ended = reason) }).finally(() => {
      if (setCookie.length > 0) reply.header('set-cookie', setCookie)
    })
    if (!caller?.session) {
      if (!ended) throw new Unauthenticated('admin authentication required', { reason: 'no_credentials' })
      // The admin's session is over: say why, as every other 401 of an ended session does.
      reply.header(SESSION_END_HEADER, ended)
      throw sessionEnded(ended)
    }
    if (!caller.identity.roles.some((role) => deps.roles.includes(role))) throw new Forbidden('admin role required', { reason: 'not_admin' })
    if (write && !deps.redirects.originAllowed(request.headers)) throw new Forbidden('cross-origin admin write refused', { reason: 'bad_origin' })
    return { name: caller.identity.user, sessionId: caller.session.id }
  }
}
