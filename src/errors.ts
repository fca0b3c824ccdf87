import type { Reason } from './reasons.js'

export type { Reason } from './reasons.js'

/**
 * Every failure Gatehouse reports on purpose is a GatehouseError with a stable `code`
 * and the HTTP status it maps to. `error-response.ts` is the only place that turns
 * them into responses; docs/errors.md lists them (test/errors.test.ts keeps both in sync).
 */
export class GatehouseError extends Error {
  static readonly code: string = 'ERR_GATEHOUSE'
  static readonly status: number = 500
  readonly code: string
  readonly status: number
  /** Machine-readable detail for the response body (`reason`), never a secret; one of REASONS (src/reasons.ts). */
  readonly reason: Reason | undefined

  constructor(message: string, options?: { reason?: Reason; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    const ctor = new.target as typeof GatehouseError
    this.name = ctor.name
    this.code = ctor.code
    this.status = ctor.status
    this.reason = options?.reason
  }
}

/** The configuration file is missing, unreadable or invalid; `problems` are `key.path: message` lines. */
export class ConfigInvalid extends GatehouseError {
  static override readonly code = 'ERR_CONFIG_INVALID'
  static override readonly status = 500
  readonly problems: readonly string[]
  constructor(problems: readonly string[], message = 'invalid configuration') {
    super(message)
    this.problems = problems
  }
}

/** No usable credentials or session came with the request. */
export class Unauthenticated extends GatehouseError {
  static override readonly code = 'ERR_UNAUTHENTICATED'
  static override readonly status = 401
}

/** Username or password is wrong; the message never says which. */
export class InvalidCredentials extends GatehouseError {
  static override readonly code = 'ERR_INVALID_CREDENTIALS'
  static override readonly status = 401
}

/** Authenticated, but the route's roles do not include any of the caller's. */
export class Forbidden extends GatehouseError {
  static override readonly code = 'ERR_FORBIDDEN'
  static override readonly status = 403
}

/** The request itself is malformed (bad JSON, missing field, oversized value). */
export class BadRequest extends GatehouseError {
  static override readonly code = 'ERR_BAD_REQUEST'
  static override readonly status = 400
}

/** The session store cannot be reached; requests fail closed. */
export class StoreUnavailable extends GatehouseError {
  static override readonly code = 'ERR_STORE_UNAVAILABLE'
  static override readonly status = 503
}

/** The upstream refused the connection or reset it. */
export class UpstreamUnavailable extends GatehouseError {
  static override readonly code = 'ERR_UPSTREAM_UNAVAILABLE'
  static override readonly status = 502
}

/** The upstream did not answer within the configured timeout. */
export class UpstreamTimeout extends GatehouseError {
  static override readonly code = 'ERR_UPSTREAM_TIMEOUT'
  static override readonly status = 504
}

/** No route matches the request path. */
export class RouteNotFound extends GatehouseError {
  static override readonly code = 'ERR_ROUTE_NOT_FOUND'
  static override readonly status = 404
}

/** A cookie-stored session too big for the browser's cookie limits (too many roles or claims). */
export class SessionTooLarge extends GatehouseError {
  static override readonly code = 'ERR_SESSION_TOO_LARGE'
  static override readonly status = 500
}

/** The identity provider answered with something the gateway cannot keep or use (an OIDC token over the shared state's entry size). */
export class ProviderAnswerUnusable extends GatehouseError {
  static override readonly code = 'ERR_PROVIDER_ANSWER_UNUSABLE'
  static override readonly status = 502
}

/**
 * A credential was presented and refused (bad signature, expired token, unknown API key…).
 * `reason` is the stable machine-readable cause; the credential itself is never included.
 */
export class CredentialsRejected extends GatehouseError {
  static override readonly code = 'ERR_CREDENTIALS_REJECTED'
  static override readonly status = 401
}

/** A service needed to check credentials (external Basic endpoint, JWKS URL) cannot be reached. */
export class AuthServiceUnavailable extends GatehouseError {
  static override readonly code = 'ERR_AUTH_SERVICE_UNAVAILABLE'
  static override readonly status = 503
}

/** The anonymous identity reached a route that terminates it (Kong's request termination); status is the route's. */
export class AnonymousDenied extends GatehouseError {
  static override readonly code = 'ERR_ANONYMOUS_DENIED'
  static override readonly status = 403
}

/**
 * `auth.login_limit`: the user name or the client IP is blocked after too many failed logins, or
 * so many attempts are in flight that checking this one would pass the limit. The password is
 * not checked. `retryAfterSeconds` goes into `Retry-After`.
 */
export class TooManyAttempts extends GatehouseError {
  static override readonly code = 'ERR_TOO_MANY_ATTEMPTS'
  static override readonly status = 429
  readonly retryAfterSeconds: number
  constructor(message: string, options?: { reason?: Reason; cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options)
    this.retryAfterSeconds = Math.max(1, Math.ceil(options?.retryAfterSeconds ?? 1))
  }
}

/** Listing and revocation are impossible when sessions live only in browsers' cookies. */
export class StorageNotListable extends GatehouseError {
  static override readonly code = 'ERR_STORAGE_NOT_LISTABLE'
  static override readonly status = 501
}

/** Every error class above, for the docs test and the error handler. */
export const errorClasses: readonly { readonly name: string; readonly code: string; readonly status: number }[] = [
  ConfigInvalid,
  Unauthenticated,
  InvalidCredentials,
  Forbidden,
  BadRequest,
  StoreUnavailable,
  UpstreamUnavailable,
  UpstreamTimeout,
  ProviderAnswerUnusable,
  RouteNotFound,
  SessionTooLarge,
  CredentialsRejected,
  AuthServiceUnavailable,
  AnonymousDenied,
  TooManyAttempts,
  StorageNotListable,
]
