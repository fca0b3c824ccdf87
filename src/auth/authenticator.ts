import type { RequestView } from '../http/request-view.js'
import type { Identity } from '../identity.js'

/** What an authenticator may look at: the request line and headers, nothing it could consume. */
export type AuthRequest = RequestView

export interface AuthSuccess {
  readonly identity: Identity
  /** Whether to start a browser session from this credential, or authenticate this request only. */
  readonly startSession: boolean
  /** Answer with a 302 here instead of proxying (a token in the URL is moved into a session cookie). */
  readonly redirectTo?: string | undefined
}

/**
 * Where a method reads its credential. The gateway derives from these what it never forwards
 * upstream, so a new method cannot leak its credential by forgetting to strip it.
 */
export interface CredentialLocations {
  /** Request headers (any case); dropped from every proxied request. */
  readonly headers?: readonly string[]
  /** Cookies; dropped from every proxied request. */
  readonly cookies?: readonly string[]
  /** Query parameters; removed from the URL the upstream, logs and `rd` see. */
  readonly queryParams?: readonly string[]
  /**
   * `Authorization` schemes (lower case) the method verifies; such a header is dropped once the
   * gateway identified the caller (on `auth: none` routes it stays the upstream's business).
   */
  readonly authorizationSchemes?: readonly string[]
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
  /** Where its credential travels; see CredentialLocations. */
  readonly credentials: CredentialLocations
  authenticate(request: AuthRequest): Promise<AuthSuccess | null>
}
