import type { FastifyInstance } from 'fastify'
import { Forbidden } from '../../errors.js'
import { expiredSessionCookieLines, readSessionToken } from '../../session/cookie.js'
import { wantsHtml, type GatewayContext } from '../context.js'
import { originAllowed, ownHosts } from '../origin.js'
import { safeRedirect } from '../redirect.js'

/** Ends the server-side session and expires the cookie; replaying it afterwards gets 401. */
export function registerLogoutRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const logout = ctx.config.session.logout
  const cookie = ctx.config.session.cookie
  const path = logout.path ?? `${ctx.prefix}/logout`

  app.route({
    method: [...logout.methods],
    url: path,
    bodyLimit: 16 * 1024,
    handler: async (request, reply) => {
      if (request.method !== 'GET' && !originAllowed(request, ctx)) throw new Forbidden('cross-origin logout refused', { reason: 'bad_origin' })
      const ended = await ctx.manager.end(readSessionToken(request.headers.cookie, cookie))
      if (ended) {
        ctx.metrics.sessionEvents.inc({ event: 'logout' })
        ctx.log.info({ event: 'logout', user: ended.user, session: ended.id.slice(0, 12), ip: request.ip }, 'logout')
      }
      reply.header('set-cookie', expiredSessionCookieLines(cookie, request.headers.cookie)).header('cache-control', 'no-store')
      if (wantsHtml(request)) {
        const rd = safeRedirect((request.query as Record<string, unknown>).rd, ownHosts(request, ctx), ctx.config.session.allowed_redirect_hosts)
        return reply.redirect(logout.redirect_url ?? rd ?? `${ctx.prefix}/login`, 302)
      }
      return reply.send({ logged_out: true, user: ended?.user ?? null })
    },
  })
}
