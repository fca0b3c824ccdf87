import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorResponse, isStoreOutage } from '../error-response.js'
import type { Logger } from '../telemetry/logger.js'
import type { StoreHealth } from '../telemetry/store-health.js'

/** Fastify's side of the one error map (src/error-response.ts) for the gateway's own endpoints. */
export function installErrorHandler(app: FastifyInstance, log: Logger, storeHealth: StoreHealth, basicChallenge?: string): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = errorResponse(error)
    if (status === 401 && basicChallenge) reply.header('www-authenticate', basicChallenge)
    if (isStoreOutage(error)) storeHealth.failed(error)
    else if (status >= 500) log.error({ err: error, method: request.method, path: request.url.split('?')[0] }, 'unexpected error')
    if (reply.sent) return
    void reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body)
  })
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send({ error: 'not_found', code: 'ERR_ROUTE_NOT_FOUND', message: 'not found' })
  })
}
