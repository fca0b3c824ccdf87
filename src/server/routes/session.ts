import type { FastifyInstance } from 'fastify'
import { Unauthenticated } from '../../errors.js'
import type { Identify } from '../../pipeline/identify.js'
import { describeSession } from './login.js'

/** Whoami for the current session (forward-auth lives on the plain node:http path: proxy/forward-auth.ts). */
export function registerSessionRoutes(app: FastifyInstance, deps: { prefix: string; identify: Identify }): void {
  const { prefix, identify } = deps
  app.get(`${prefix}/session`, async (request, reply) => {
    const setCookie: string[] = []
    const caller = await identify({ method: request.method, url: request.url, headers: request.headers, ip: request.ip }, setCookie).finally(() => {
      if (setCookie.length > 0) reply.header('set-cookie', setCookie)
    })
    if (!caller?.session) throw new Unauthenticated('no session', { reason: 'no_session' })
    return reply.header('cache-control', 'no-store').send(describeSession(caller.session))
  })
}
