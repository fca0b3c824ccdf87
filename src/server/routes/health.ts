import type { FastifyInstance } from 'fastify'
import type { IdentityTokenSigner } from '../../auth/jwt-sign.js'
import type { SessionStore } from '../../session/store/store.js'
import type { Metrics } from '../../telemetry/metrics.js'
import type { StoreHealth } from '../../telemetry/store-health.js'

/** Liveness (the process answers), readiness (the store answers) and Prometheus metrics. */
export function registerHealthRoutes(
  app: FastifyInstance,
  deps: { prefix: string; store: Pick<SessionStore, 'ping' | 'kind'>; storeHealth: StoreHealth; metrics: Metrics; identityTokens: IdentityTokenSigner | null },
): void {
  const { prefix, store, storeHealth, metrics } = deps
  app.get(`${prefix}/healthz`, async () => ({ status: 'ok' }))

  app.get(`${prefix}/readyz`, async (_request, reply) => {
    try {
      await store.ping()
      storeHealth.ok()
      return { status: 'ready', store: store.kind }
    } catch (error) {
      storeHealth.failed(error)
      return reply.code(503).send({ status: 'unavailable', store: store.kind, error: 'store_unreachable' })
    }
  })

  // The public key upstreams verify `identity_headers.jwt` tokens with.
  if (deps.identityTokens) {
    const jwks = deps.identityTokens.jwks
    app.get(`${prefix}/jwks.json`, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(jwks))
  }

  app.get(`${prefix}/metrics`, async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()))
}
