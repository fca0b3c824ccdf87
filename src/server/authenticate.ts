import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthRequest } from '../auth/authenticator.js'
import { StoreUnavailable } from '../errors.js'
import { expiredSessionCookieLines, readSessionToken, sessionCookieLines } from '../session/cookie.js'
import { sessionIdentity } from '../session/session.js'
import type { Caller, GatewayContext } from './context.js'

export interface Authentication {
  /** The caller from the session cookie, then from the configured authenticators; null when anonymous. */
  identify(request: FastifyRequest, reply: FastifyReply): Promise<Caller | null>
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
    let resolution
    try {
      resolution = await ctx.manager.resolve(token)
    } catch (error) {
      if (error instanceof StoreUnavailable) throw error
      throw new StoreUnavailable('session store failed', { cause: error })
    }
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

  const fromCredentials = async (request: FastifyRequest, reply: FastifyReply): Promise<Caller | null> => {
    if (ctx.authenticators.length === 0) return null
    const view: AuthRequest = { method: request.method, url: request.url, headers: request.headers, ip: request.ip }
    for (const authenticator of ctx.authenticators) {
      const result = await authenticator.authenticate(view)
      if (!result) continue
      if (!result.startSession) return { identity: result.identity, session: null }
      const started = await ctx.manager.start(result.identity, { ip: request.ip, userAgent: request.headers['user-agent'] })
      reply.header('set-cookie', sessionCookieLines(cookie, started.token, ctx.manager.cookieMaxAge(started.session), request.headers.cookie))
      return { identity: result.identity, session: started.session }
    }
    return null
  }

  return {
    async identify(request, reply) {
      const caller = (await fromSession(request, reply)) ?? (await fromCredentials(request, reply))
      request.caller = caller
      return caller
    },
  }
}
