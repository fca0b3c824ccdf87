import type { FastifyInstance } from 'fastify'
import type { GatewayContext } from '../context.js'

/** Liveness (the process answers), readiness (the store answers) and Prometheus metrics. */
export function registerHealthRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(`${ctx.prefix}/healthz`, async () => ({ status: 'ok' }))

  app.get(`${ctx.prefix}/readyz`, async (_request, reply) => {
    try {
      await ctx.manager.store.ping()
      ctx.storeHealth.ok()
      return { status: 'ready', store: ctx.manager.store.kind }
    } catch (error) {
      ctx.storeHealth.failed(error)
      return reply.code(503).send({ status: 'unavailable', store: ctx.manager.store.kind, error: 'store_unreachable' })
    }
  })

  // The public key upstreams verify `identity_headers.jwt` tokens with.
  if (ctx.identityTokens) {
    const jwks = ctx.identityTokens.jwks
    app.get(`${ctx.prefix}/jwks.json`, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(jwks))
  }

  app.get(`${ctx.prefix}/metrics`, async (_request, reply) => {
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics())
  })
}
