import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { authorizationValue } from '../auth/request-parts.js'
import { Forbidden, Unauthenticated } from '../errors.js'
import type { Authentication } from '../server/authenticate.js'
import type { GatewayContext } from '../server/context.js'
import { originAllowed } from '../server/origin.js'

export interface AdminActor {
  /** Who acts, for the audit log: `token` or the session's user. */
  readonly name: string
  /** The admin's own session id, so the page can mark it. */
  readonly sessionId: string | null
}

/**
 * Admin access: `Authorization: Bearer <admin.token>` (compared in constant time), or a
 * session whose roles include one of `admin.roles`. Writes by cookie must come from this origin.
 */
export function createAdminAccess(ctx: GatewayContext, auth: Authentication) {
  const token = ctx.config.admin.token
  const tokenDigest = token ? createHash('sha256').update(token).digest() : undefined
  const roles = ctx.config.admin.roles

  return async function requireAdmin(request: FastifyRequest, reply: FastifyReply, write: boolean): Promise<AdminActor> {
    const presented = authorizationValue(request.headers, 'Bearer')
    if (presented !== undefined && tokenDigest) {
      const digest = createHash('sha256').update(presented).digest()
      if (timingSafeEqual(digest, tokenDigest)) return { name: 'token', sessionId: null }
      throw new Unauthenticated('invalid admin token', { reason: 'bad_admin_token' })
    }
    const caller = await auth.identify(request, reply, ['session'])
    if (!caller?.session) throw new Unauthenticated('admin authentication required', { reason: 'no_credentials' })
    if (!caller.identity.roles.some((role) => roles.includes(role))) throw new Forbidden('admin role required', { reason: 'not_admin' })
    if (write && !originAllowed(request, ctx)) throw new Forbidden('cross-origin admin write refused', { reason: 'bad_origin' })
    return { name: caller.identity.user, sessionId: caller.session.id }
  }
}
