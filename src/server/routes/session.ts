import type { FastifyInstance } from 'fastify'
import { Unauthenticated } from '../../errors.js'
import type { Identify } from '../../pipeline/identify.js'
import { SESSION_END_HEADER, sessionEnded } from '../../pipeline/pipeline.js'
import type { EndReason } from '../../session/ends.js'
import { describeSession } from './login.js'

/**
 * Whoami for the current session (forward-auth lives on the plain node:http path: proxy/forward-auth.ts).
 * Read-only: it never extends the idle timeout, renews the id or re-signs the cookie, so a page
 * polling it does not keep an unattended session alive.
 */
export function registerSessionRoutes(app: FastifyInstance, deps: { prefix: string; identify: Identify }): void {
  const { prefix, identify } = deps
  app.get(`${prefix}/session`, async (request, reply) => {
    const setCookie: string[] = []
    let ended: EndReason | undefined
    const caller = await identify({ method: request.method, url: request.url, headers: request.headers, ip: request.ip }, setCookie, undefined, { readOnly: true, onSessionEnded: (reason) => (ended = reason) }).finally(() => {
      if (setCookie.length > 0) reply.header('set-cookie', setCookie)
    })
    if (!caller?.session) {
      if (!ended) throw new Unauthenticated('no session', { reason: 'no_session' })
      reply.header(SESSION_END_HEADER, ended)
      throw sessionEnded(ended)
    }
    return reply.header('cache-control', 'no-store').send(describeSession(caller.session))
  })
}
