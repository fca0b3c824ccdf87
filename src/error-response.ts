import { GatehouseError, StoreUnavailable, TooManyAttempts } from './errors.js'

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

/**
 * The one map from an error to an HTTP answer, used by the gateway's endpoints and the proxy
 * alike. Known codes never become a 500. `status` overrides the error's own (a route's
 * `deny_anonymous.status`).
 */
export function errorResponse(error: unknown, status?: number): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  if (error instanceof GatehouseError) {
    const answered = status ?? error.status
    const body = { error: ERROR_NAMES[answered] ?? 'error', code: error.code, reason: error.reason, message: error.message }
    // The one error that tells the client when to come back (RFC 9110 §10.2.3).
    if (error instanceof TooManyAttempts) return { status: answered, body, headers: { 'retry-after': String(error.retryAfterSeconds) } }
    return { status: answered, body }
  }
  const httpError = error as { statusCode?: unknown; code?: unknown; message?: unknown }
  if (typeof httpError.statusCode === 'number' && httpError.statusCode >= 400 && httpError.statusCode < 500) {
    // A framework's own 4xx (bad JSON, body too large, unsupported media type): keep status, tidy body.
    const code = typeof httpError.code === 'string' ? httpError.code : 'ERR_BAD_REQUEST'
    const message = typeof httpError.message === 'string' ? httpError.message : 'bad request'
    return { status: httpError.statusCode, body: { error: ERROR_NAMES[httpError.statusCode] ?? 'bad_request', code, message } }
  }
  return { status: 500, body: { error: 'internal_error', code: 'ERR_INTERNAL', message: 'internal error' } }
}

/** Whether an error means the session store is out of reach (logged once per outage, not per request). */
export function isStoreOutage(error: unknown): boolean {
  return error instanceof StoreUnavailable
}
