import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthRequest } from '../auth/authenticator.js'
import { GatehouseError } from '../errors.js'
import type { Identity } from '../identity.js'
import { expiredSessionCookieLines, readSessionToken } from '../session/cookie.js'
import type { Session } from '../session/session.js'
import { audit } from './audit.js'
import { wantsHtml, type GatewayContext } from './context.js'
import { ownHosts } from './origin.js'
import { safeRedirect } from './redirect.js'

export interface Logout {
  /** Ends the cookie's session and the sessions of a presented JWT, expires every cookie, answers. */
  handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>
  /** CORS headers for an allowed embedding origin (`session.logout.allowed_origins`); none otherwise. */
  cors(request: FastifyRequest, reply: FastifyReply): boolean
}

export function createLogout(ctx: GatewayContext): Logout {
  const settings = ctx.config.session.logout
  const cookie = ctx.config.session.cookie
  const jwt = ctx.authenticators.find((a) => a.name === 'jwt')
  const allowedOrigins = new Set(settings.allowed_origins.map((o) => o.toLowerCase()))

  /** Logout by token: every session started from this token's subject (and jti, when it has one). */
  const endByToken = async (identity: Identity): Promise<number> => {
    const admin = ctx.manager.store.admin
    if (!admin) return 0
    const jti = identity.data?.jti
    const doomed: string[] = []
    let cursor: string | undefined
    do {
      const page = await admin.list({ user: identity.user, provider: { type: 'jwt' }, limit: 500, cursor })
      for (const session of page.sessions) if (jti === undefined || session.data?.jti === jti) doomed.push(session.id)
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    return doomed.length > 0 ? admin.remove(doomed) : 0
  }

  const tokenIdentity = async (request: FastifyRequest): Promise<Identity | null> => {
    if (!jwt) return null
    const view: AuthRequest = { method: request.method, url: request.url, headers: request.headers, ip: request.ip }
    return (await jwt.authenticate(view))?.identity ?? null
  }

  return {
    cors(request, reply) {
      const origin = request.headers.origin
      if (typeof origin !== 'string' || !allowedOrigins.has(origin.toLowerCase())) return false
      reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin')
      return true
    },

    async handle(request, reply) {
      const ended: Session | null = await ctx.manager.end(readSessionToken(request.headers.cookie, cookie))
      let total = ended ? 1 : 0
      let byToken: Identity | null = null
      try {
        byToken = await tokenIdentity(request)
      } catch (error) {
        // A bad token with a valid cookie still logs the cookie out; alone it is a 401.
        if (!ended || !(error instanceof GatehouseError)) throw error
      }
      if (byToken) total += await endByToken(byToken)
      const user = ended?.user ?? byToken?.user ?? null
      if (user) {
        ctx.metrics.sessionEvents.inc({ event: 'logout' })
        audit(ctx.log, 'logout', { user, sessions: total, by: byToken ? 'token' : 'cookie', ip: request.ip }, 'logout')
      }
      this.cors(request, reply)
      reply.header('set-cookie', expiredSessionCookieLines(cookie, request.headers.cookie)).header('cache-control', 'no-store')
      if (wantsHtml(request)) {
        const rd = safeRedirect((request.query as Record<string, unknown> | undefined)?.rd, ownHosts(request, ctx), ctx.config.session.allowed_redirect_hosts)
        return reply.redirect(settings.redirect_url ?? rd ?? `${ctx.prefix}/login`, 302)
      }
      return reply.send({ logged_out: true, user, total })
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
