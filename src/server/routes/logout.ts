import type { FastifyInstance } from 'fastify'
import type { RequestView } from '../../http/request-view.js'
import type { Logout } from '../../pipeline/logout.js'

/**
 * The logout endpoint (`session.logout.path`, default `<prefix>/logout`) with the configured
 * methods, plus the CORS preflight that lets an embedding app on another origin call it.
 */
export function registerLogoutRoutes(app: FastifyInstance, deps: { path: string; methods: readonly string[]; logout: Logout }): void {
  const { path, methods, logout } = deps

  app.route({
    method: [...methods] as ('GET' | 'POST' | 'DELETE')[],
    url: path,
    bodyLimit: 16 * 1024,
    handler: async (request, reply) => {
      const view: RequestView = { method: request.method, url: request.url, headers: request.headers, ip: request.ip }
      // Cross-site requests (any method) are refused inside perform, as for the logout argument.
      const answer = await logout.perform(view)
      reply.code(answer.status).headers(answer.headers)
      return answer.body ? reply.send(answer.body) : reply.send()
    },
  })

  app.options(path, async (request, reply) => {
    const cors = logout.cors({ method: request.method, url: request.url, headers: request.headers, ip: request.ip })
    if (!cors) return reply.code(204).send()
    return reply
      .code(204)
      .headers(cors)
      .header('access-control-allow-methods', methods.join(', '))
      .header('access-control-allow-headers', 'authorization, content-type')
      .header('access-control-max-age', '600')
      .send()
  })
}
