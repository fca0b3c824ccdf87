import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { GatehouseError, StoreUnavailable } from '../errors.js'
import type { Logger } from './logger.js'

const ERROR_NAMES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  501: 'not_implemented',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
}

export interface ErrorBody {
  error: string
  code: string
  reason?: string | undefined
  message: string
}

/** The one map from an error to an HTTP answer. Known codes never become a 500. */
export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof GatehouseError) {
    return { status: error.status, body: { error: ERROR_NAMES[error.status] ?? 'error', code: error.code, reason: error.reason, message: error.message } }
  }
  const fastifyError = error as Partial<FastifyError>
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own 4xx (bad JSON, body too large, unsupported media type): keep status, tidy body.
    return { status, body: { error: ERROR_NAMES[status] ?? 'bad_request', code: fastifyError.code ?? 'ERR_BAD_REQUEST', message: fastifyError.message ?? 'bad request' } }
  }
  return { status: 500, body: { error: 'internal_error', code: 'ERR_INTERNAL', message: 'internal error' } }
}

/** Logs a store outage once when it starts and once when it ends, not per request. */
export class StoreHealth {
  #down = false
  readonly #log: Logger
  constructor(log: Logger) {
    this.#log = log
  }
  get down(): boolean {
    return this.#down
  }
  failed(error: unknown): void {
    if (this.#down) return
    this.#down = true
    const cause = (error as { cause?: unknown }).cause
    this.#log.error({ event: 'store_unavailable', err: cause instanceof Error ? cause.message : String(error) }, 'session store unavailable; failing closed with 503')
  }
  ok(): void {
    if (!this.#down) return
    this.#down = false
    this.#log.info({ event: 'store_recovered' }, 'session store reachable again')
  }
}

export function installErrorHandler(app: FastifyInstance, log: Logger, storeHealth: StoreHealth, basicChallenge?: string): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = errorResponse(error)
    if (status === 401 && basicChallenge) reply.header('www-authenticate', basicChallenge)
    if (error instanceof StoreUnavailable) storeHealth.failed(error)
    else if (status >= 500) log.error({ err: error, method: request.method, path: request.url.split('?')[0] }, 'unexpected error')
    if (reply.sent) return
    void reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body)
  })
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send({ error: 'not_found', code: 'ERR_ROUTE_NOT_FOUND', message: 'not found' })
  })
}
