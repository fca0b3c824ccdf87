import type { FastifyInstance } from 'fastify'
import { Unauthenticated } from '../../errors.js'
import type { Authentication } from '../authenticate.js'
import type { GatewayContext } from '../context.js'
import { describeSession } from './login.js'

/** Whoami for the current session, and forward-auth for nginx/Traefik/Caddy. */
export function registerSessionRoutes(app: FastifyInstance, ctx: GatewayContext, auth: Authentication): void {
  app.get(`${ctx.prefix}/session`, async (request, reply) => {
    const caller = await auth.identify(request, reply)
    if (!caller?.session) throw new Unauthenticated('no session', { reason: 'no_session' })
    return reply.header('cache-control', 'no-store').send(describeSession(caller.session))
  })

  app.get(`${ctx.prefix}/auth`, async (request, reply) => {
    const caller = await auth.identify(request, reply)
    if (!caller) throw new Unauthenticated('authentication required', { reason: 'no_credentials' })
    const names = ctx.config.identity_headers
    reply.header(names.user, caller.identity.user)
    if (caller.identity.roles.length > 0) reply.header(names.groups, caller.identity.roles.join(','))
    if (caller.identity.email) reply.header(names.email, caller.identity.email)
    return reply.header('cache-control', 'no-store').code(200).send({ user: caller.identity.user, roles: caller.identity.roles })
  })
}
