import type { IncomingHttpHeaders } from 'node:http'
import type { Identity } from '../identity.js'

/** What an authenticator may look at: the request line and headers, nothing it could consume. */
export interface AuthRequest {
  readonly method: string
  /** Path and query as received. */
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly ip: string
}

export interface AuthSuccess {
  readonly identity: Identity
  /** Whether to start a browser session from this credential, or authenticate this request only. */
  readonly startSession: boolean
  /** Answer with a 302 here instead of proxying (a token in the URL is moved into a session cookie). */
  readonly redirectTo?: string | undefined
}

/**
 * One way to authenticate a request (Basic, API key, JWT, …).
 * Returns null when the request carries no credential of this kind, so the next one is tried;
 * throws a GatehouseError (401 family) when it carries a bad one.
 */
export interface Authenticator {
  /** One of the route `methods` names: jwt, apikey, basic, external_basic, anonymous. */
  readonly name: string
  readonly type: string
  authenticate(request: AuthRequest): Promise<AuthSuccess | null>
}
