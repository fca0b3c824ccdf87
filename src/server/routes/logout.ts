import type { FastifyInstance } from 'fastify'
import { Forbidden } from '../../errors.js'
import type { GatewayContext } from '../context.js'
import type { Logout } from '../logout.js'
import { originAllowed } from '../origin.js'

/**
 * The logout endpoint (`session.logout.path`, default `<prefix>/logout`) with the configured
 * methods, plus the CORS preflight that lets an embedding app on another origin call it.
 */
export function registerLogoutRoutes(app: FastifyInstance, ctx: GatewayContext, logout: Logout): void {
  const settings = ctx.config.session.logout
  const path = settings.path ?? `${ctx.prefix}/logout`

  app.route({
    method: [...settings.methods],
    url: path,
    bodyLimit: 16 * 1024,
    handler: async (request, reply) => {
      if (request.method !== 'GET' && !originAllowed(request, ctx) && !logout.cors(request, reply)) {
        throw new Forbidden('cross-origin logout refused', { reason: 'bad_origin' })
      }
      return logout.handle(request, reply)
    },
  })

  app.options(path, async (request, reply) => {
    if (!logout.cors(request, reply)) return reply.code(204).send()
    return reply
      .code(204)
      .header('access-control-allow-methods', settings.methods.join(', '))
      .header('access-control-allow-headers', 'authorization, content-type')
      .header('access-control-max-age', '600')
      .send()
  })
}
