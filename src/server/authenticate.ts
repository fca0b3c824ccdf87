import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthRequest } from '../auth/authenticator.js'
import { GatehouseError } from '../errors.js'
import { expiredSessionCookieLines, readSessionToken, sessionCookieLines } from '../session/cookie.js'
import { sessionIdentity } from '../session/session.js'
import { audit } from './audit.js'
import type { Caller, GatewayContext } from './context.js'

export interface Authentication {
  /**
   * The caller from the session cookie, then from the configured authenticators (only those the
   * route's `methods` allow); null when nobody is identified. A presented but bad credential throws.
   */
  identify(request: FastifyRequest, reply: FastifyReply, methods?: readonly string[]): Promise<Caller | null>
}

/**
 * Session first, then credentials (logical OR, as Kong's session plugin does). A store that
 * cannot answer throws StoreUnavailable (503): never a pass as anonymous.
 */
export function createAuthentication(ctx: GatewayContext): Authentication {
  const cookie = ctx.config.session.cookie

  const fromSession = async (request: FastifyRequest, reply: FastifyReply): Promise<Caller | null> => {
    const token = readSessionToken(request.headers.cookie, cookie)
    if (token === undefined) return null
    // Stores already report their failures as StoreUnavailable (503); anything else is a bug and stays a logged 500.
    const resolution = await ctx.manager.resolve(token)
    ctx.storeHealth.ok()
    if (resolution.status === 'valid') {
      if (resolution.setToken) {
        reply.header('set-cookie', sessionCookieLines(cookie, resolution.setToken, ctx.manager.cookieMaxAge(resolution.session), request.headers.cookie))
      }
      return { identity: sessionIdentity(resolution.session), session: resolution.session }
    }
    // Unknown, forged or expired: drop the cookie so the browser stops sending it.
    reply.header('set-cookie', expiredSessionCookieLines(cookie, request.headers.cookie))
    return null
  }

  // Logical OR over the authenticators: the first success wins. A rejected credential is
  // remembered and thrown only if nothing else succeeds, and it rules out the anonymous fallback.
  const fromCredentials = async (request: FastifyRequest, reply: FastifyReply, methods?: readonly string[]): Promise<Caller | null> => {
    if (ctx.authenticators.length === 0) return null
    const view: AuthRequest = { method: request.method, url: request.url, headers: request.headers, ip: request.ip }
    let rejection: GatehouseError | undefined
    for (const authenticator of ctx.authenticators) {
      if (methods && !methods.includes(authenticator.name)) continue
      if (rejection && authenticator.type === 'anonymous') continue
      let result
      try {
        result = await authenticator.authenticate(view)
      } catch (error) {
        if (!(error instanceof GatehouseError)) throw error
        ctx.log.info({ event: 'auth_rejected', authenticator: authenticator.name, reason: error.reason ?? error.code, ip: request.ip }, 'credential rejected')
        rejection ??= error
        continue
      }
      if (!result) continue
      if (!result.startSession) return { identity: result.identity, session: null }
      const started = await ctx.manager.start(result.identity, { ip: request.ip, userAgent: request.headers['user-agent'] })
      ctx.metrics.sessionEvents.inc({ event: 'created' })
      audit(ctx.log, 'login_success', { provider: result.identity.provider.type, user: result.identity.user, session: started.session.id.slice(0, 12), ip: request.ip }, 'login')
      reply.header('set-cookie', sessionCookieLines(cookie, started.token, ctx.manager.cookieMaxAge(started.session), request.headers.cookie))
      return { identity: result.identity, session: started.session, redirectTo: result.redirectTo }
    }
    if (rejection) throw rejection
    return null
  }

  return {
    async identify(request, reply, methods) {
      const sessionAllowed = !methods || methods.includes('session')
      const caller = (sessionAllowed ? await fromSession(request, reply) : null) ?? (await fromCredentials(request, reply, methods))
      request.caller = caller
      return caller
    },
  }
}
