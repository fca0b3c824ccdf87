import type { FastifyRequest } from 'fastify'
import type { Authenticator } from '../auth/authenticator.js'
import type { IdentityTokenSigner } from '../auth/jwt-sign.js'
import type { UserDirectory } from '../auth/users.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import type { Identity } from '../identity.js'
import type { HeaderRewriter } from '../proxy/identity-headers.js'
import type { Router } from '../proxy/rules.js'
import type { SessionManager } from '../session/manager.js'
import type { Session } from '../session/session.js'
import type { StoreHealth } from './error-handler.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'

/** Everything the route modules share; built once by app.ts. */
export interface GatewayContext {
  readonly config: Config
  readonly clock: Clock
  readonly log: Logger
  readonly manager: SessionManager
  readonly users: UserDirectory
  readonly authenticators: readonly Authenticator[]
  readonly router: Router
  readonly headers: HeaderRewriter
  readonly metrics: Metrics
  readonly storeHealth: StoreHealth
  /** `endpoints.prefix`, e.g. `/_gatehouse`. */
  readonly prefix: string
  /** Set when `identity_headers.jwt` is on. */
  readonly identityTokens: IdentityTokenSigner | null
}

/** Who is calling, as established for this request. */
export interface Caller {
  readonly identity: Identity
  readonly session: Session | null
  /** Set when the credential asks for a 302 instead of proxying (a JWT moved from the URL into a session). */
  readonly redirectTo?: string | undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null
  }
}

export function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept
  return typeof accept === 'string' && accept.includes('text/html')
}

/** Path without the query string: what logs may show (queries can carry tokens). */
export function pathOf(url: string): string {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}
