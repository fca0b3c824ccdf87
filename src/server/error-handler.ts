import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorResponse, isStoreOutage } from '../error-response.js'
import { errorPage } from '../http/error-page.js'
import { pathOf, wantsHtml } from '../http/request-view.js'
import type { Logger } from '../telemetry/logger.js'
import type { StoreHealth } from '../telemetry/store-health.js'

/** What browsers get instead of JSON: the page security headers and where to sign in. */
export interface ErrorPages {
  readonly headers: Record<string, string>
  /** The login page, linked from a 401 page (with `rd` = the refused page); null when the form is off. */
  readonly loginPath: string | null
}

/** Fastify's side of the one error map (src/error-response.ts) for the gateway's own endpoints. */
export function installErrorHandler(app: FastifyInstance, log: Logger, storeHealth: StoreHealth, basicChallenge?: string, pages?: ErrorPages): void {
  const page = (request: FastifyRequest, reply: FastifyReply, status: number, message: string, code: string): boolean => {
    if (!pages || !wantsHtml(request.headers)) return false
    const signIn = status === 401 && pages.loginPath && request.method === 'GET' ? `${pages.loginPath}?rd=${encodeURIComponent(request.url)}` : undefined
    void reply.code(status).headers(pages.headers).type('text/html; charset=utf-8').send(errorPage(status, message, { code, signIn }))
    return true
  }
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, headers } = errorResponse(error)
    if (status === 401 && basicChallenge) reply.header('www-authenticate', basicChallenge)
    if (headers) reply.headers(headers)
    if (isStoreOutage(error)) storeHealth.failed(error)
    else if (status >= 500) log.error({ err: error, method: request.method, path: pathOf(request.url) }, 'unexpected error')
    if (reply.sent) return
    if (page(request, reply, status, body.message, body.reason ?? body.code)) return
    void reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    if (page(request, reply, 404, 'not found', 'ERR_ROUTE_NOT_FOUND')) return
    void reply.code(404).send({ error: 'not_found', code: 'ERR_ROUTE_NOT_FOUND', message: 'not found' })
  })
}
