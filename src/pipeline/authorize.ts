import { AnonymousDenied, Forbidden, Unauthenticated, type GatehouseError } from '../errors.js'
import type { Caller } from './identify.js'
import type { Route } from './router.js'

/** Why a caller may not pass, and with which status (a route's `deny_anonymous` chooses its own). */
export interface Refusal {
  readonly error: GatehouseError
  readonly status: number
}

/**
 * Pure: may this caller use this route? Null when it may.
 * The anonymous identity is nobody: `deny_anonymous` answers it first (Kong's request
 * termination), `auth: required` treats it as a caller without credentials (login redirect or
 * 401), and only `auth: optional` lets it through.
 */
export function authorize(route: Route, caller: Caller | null): Refusal | null {
  if (route.auth === 'none') return null
  const anonymous = isAnonymous(caller)
  if (anonymous && route.deny_anonymous) {
    const { status, message } = route.deny_anonymous
    return { error: new AnonymousDenied(message, { reason: 'anonymous_denied' }), status }
  }
  if (!caller || anonymous) {
    if (route.auth === 'required') return refuse(new Unauthenticated('authentication required', { reason: 'no_credentials' }))
    if (!caller) return null
  }
  if (route.roles && !route.roles.some((role) => caller.identity.roles.includes(role))) {
    return refuse(new Forbidden('your roles do not allow this route', { reason: 'role_not_allowed' }))
  }
  return null
}

/** Whether the caller is only the `auth.anonymous` identity (no credential at all). */
export function isAnonymous(caller: Caller | null): boolean {
  return caller !== null && caller.identity.provider.type === 'anonymous'
}

function refuse(error: GatehouseError): Refusal {
  return { error, status: error.status }
}
