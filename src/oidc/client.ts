import * as oidc from 'openid-client'
import type { OidcProviderConfig } from '../config/schema.js'
import { AuthServiceUnavailable, CredentialsRejected, type Reason } from '../errors.js'
import type { Claims } from '../auth/jwt-claims.js'

/**
 * ID tokens and logout tokens must be signed with one of these: asymmetric only, so neither
 * `none` nor an HMAC keyed with the client secret is ever accepted.
 */
export const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const

/** After a failed discovery, the next login tries again only after this (a down provider is not hammered). */
const RETRY_DISCOVERY_MS = 5_000
const TIMEOUT_S = 10

export interface TokenSet {
  readonly idToken: string | undefined
  readonly accessToken: string
  readonly refreshToken: string | undefined
  /** Seconds the access token lives, from the token response; undefined when the provider did not say. */
  readonly expiresIn: number | undefined
  /** The validated ID token's claims (on a refresh: of the new ID token, when one came). */
  readonly claims: Claims | undefined
}

export interface LoginChecks {
  readonly state: string
  readonly nonce: string
  readonly verifier: string
}

/**
 * One OpenID provider through openid-client (a certified relying party): discovery on first
 * use and again after a failure, authorization code + PKCE, refresh, RP-initiated logout.
 * openid-client validates the ID token (iss, aud, exp, iat, nonce, azp) and, with
 * non-repudiation checks on, its signature against the provider's JWKS, which it caches and
 * refetches when an unknown `kid` appears (key rotation).
 */
export class OidcClient {
  readonly settings: OidcProviderConfig
  readonly #secret: string
  #configuration: Promise<oidc.Configuration> | undefined
  #failedAt = 0

  constructor(settings: OidcProviderConfig, clientSecret: string) {
    this.settings = settings
    this.#secret = clientSecret
  }

  /** The discovered configuration; throws AuthServiceUnavailable (503) while the provider is down. */
  configuration(): Promise<oidc.Configuration> {
    if (!this.#configuration) {
      if (Date.now() - this.#failedAt < RETRY_DISCOVERY_MS) return Promise.reject(unavailable(this.settings.name))
      const issuer = new URL(this.settings.issuer)
      this.#configuration = oidc
        .discovery(issuer, this.settings.client_id, { client_secret: this.#secret }, oidc.ClientSecretPost(this.#secret), {
          timeout: TIMEOUT_S,
          // Plain http only when the configuration says so (a provider on localhost or inside a cluster).
          execute: issuer.protocol === 'http:' ? [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks] : [oidc.enableNonRepudiationChecks],
        })
        .catch((error: unknown) => {
          this.#configuration = undefined
          this.#failedAt = Date.now()
          throw unavailable(this.settings.name, error)
        })
    }
    return this.#configuration
  }

  /** The provider's metadata (issuer, jwks_uri, end_session_endpoint). */
  async metadata(): Promise<oidc.ServerMetadata> {
    return (await this.configuration()).serverMetadata()
  }

  async authorizationUrl(redirectUri: string, checks: LoginChecks): Promise<URL> {
    const configuration = await this.configuration()
    return oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: this.settings.scopes.join(' '),
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(checks.verifier),
      code_challenge_method: 'S256',
    })
  }

  /** Exchanges the callback's code; every failure is a CredentialsRejected or AuthServiceUnavailable with its reason. */
  async redeem(callbackUrl: URL, checks: LoginChecks): Promise<TokenSet & { claims: Claims; idToken: string }> {
    const configuration = await this.configuration()
    let response
    try {
      response = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: checks.verifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      })
    } catch (error) {
      throw classify(error, this.settings.name, 'oidc_code_rejected')
    }
    const idToken = response.id_token
    const claims = response.claims()
    if (!idToken || !claims) throw rejected('oidc_bad_id_token')
    checkAlgorithm(idToken)
    return { ...tokenSet(response), idToken, claims: claims as Claims }
  }

  /** Uses a refresh token; a refusal (invalid_grant: revoked, expired, user disabled) is CredentialsRejected. */
  async refresh(refreshToken: string): Promise<TokenSet> {
    const configuration = await this.configuration()
    try {
      const response = await oidc.refreshTokenGrant(configuration, refreshToken)
      if (response.id_token) checkAlgorithm(response.id_token)
      return tokenSet(response)
    } catch (error) {
      throw classify(error, this.settings.name, 'oidc_code_rejected')
    }
  }

  /** The provider's RP-initiated logout URL, or null when it has no end_session_endpoint (or is down). */
  async endSessionUrl(idTokenHint: string | undefined, postLogoutRedirectUri: string): Promise<string | null> {
    let configuration
    try {
      configuration = await this.configuration()
    } catch {
      return null
    }
    if (!configuration.serverMetadata().end_session_endpoint) return null
    const parameters: Record<string, string> = { post_logout_redirect_uri: postLogoutRedirectUri, client_id: this.settings.client_id }
    if (idTokenHint) parameters.id_token_hint = idTokenHint
    return oidc.buildEndSessionUrl(configuration, parameters).href
  }
}

function tokenSet(response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): TokenSet {
  return {
    idToken: response.id_token,
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    expiresIn: response.expiresIn(),
    claims: response.claims() as Claims | undefined,
  }
}

function checkAlgorithm(jwt: string): void {
  // openid-client verified the signature already; this only reads which algorithm the header names.
  let alg: unknown
  try {
    alg = (JSON.parse(Buffer.from(jwt.split('.', 1)[0]!, 'base64url').toString('utf8')) as { alg?: unknown }).alg
  } catch {
    throw rejected('oidc_bad_id_token')
  }
  if (!(SIGNING_ALGORITHMS as readonly unknown[]).includes(alg)) throw rejected('oidc_bad_id_token')
}

function rejected(reason: Reason): CredentialsRejected {
  return new CredentialsRejected('sign-in with the identity provider failed', { reason })
}

function unavailable(name: string, cause?: unknown): AuthServiceUnavailable {
  return new AuthServiceUnavailable(`the identity provider "${name}" cannot be reached`, { reason: 'oidc_unavailable', cause })
}

/**
 * openid-client's errors → ours. The provider answering with an OAuth error (4xx body) is a
 * refusal; no answer, a 5xx or a non-JSON answer is the provider being down; anything else
 * is a response that failed validation (ID token signature, claims, state, PKCE…).
 */
function classify(error: unknown, name: string, refusal: Reason): Error {
  if (error instanceof oidc.AuthorizationResponseError) return rejected('oidc_denied')
  if (error instanceof oidc.ResponseBodyError) return error.status >= 500 ? unavailable(name, error) : rejected(refusal)
  const code = (error as { code?: unknown }).code
  const name_ = (error as { name?: unknown }).name
  if (error instanceof TypeError || name_ === 'AbortError' || name_ === 'TimeoutError') return unavailable(name, error)
  if (code === 'OAUTH_RESPONSE_IS_NOT_JSON' || code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_HTTP_REQUEST_FORBIDDEN') return unavailable(name, error)
  return new CredentialsRejected('sign-in with the identity provider failed', { reason: 'oidc_bad_id_token', cause: error })
}
