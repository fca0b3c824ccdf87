import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose'
import { BadRequest } from '../errors.js'
import { SIGNING_ALGORITHMS } from './client.js'

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout'
/** A logout token issued longer ago than this is refused (the spec asks for a short window). */
export const LOGOUT_TOKEN_MAX_AGE_S = 120
const CLOCK_TOLERANCE_S = 30

export interface LogoutClaims {
  readonly jti: string
  readonly sid: string | undefined
  readonly sub: string | undefined
  /** When the jti may be forgotten: past this, the token is refused as too old anyway. */
  readonly replayWindowMs: number
}

/**
 * OpenID Connect Back-Channel Logout 1.0, section 2.6: a signed JWT from the provider (JWKS,
 * allow-listed asymmetric algorithms, so `alg: none` never verifies), with our client as
 * audience, the provider as issuer, a recent `iat`, a `jti`, the logout event, `sid` and/or
 * `sub`, and no `nonce` (which would make it an ID token). jose caches the JWKS and refetches
 * it, at most once per cooldown, when a token names an unknown key (rotation).
 */
export class LogoutTokenVerifier {
  readonly #issuer: string
  readonly #audience: string
  readonly #jwks: ReturnType<typeof createRemoteJWKSet>

  constructor(issuer: string, audience: string, jwksUri: string) {
    this.#issuer = issuer
    this.#audience = audience
    this.#jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5_000, cooldownDuration: 30_000 })
  }

  async verify(token: unknown): Promise<LogoutClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 16 * 1024) throw bad('logout_token missing')
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, this.#jwks, {
        issuer: this.#issuer,
        audience: this.#audience,
        algorithms: [...SIGNING_ALGORITHMS],
        maxTokenAge: LOGOUT_TOKEN_MAX_AGE_S,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['iat', 'jti'],
      }))
    } catch (error) {
      throw bad('logout_token does not verify', error)
    }
    const events = payload.events as Record<string, unknown> | undefined
    const event = events && typeof events === 'object' ? events[BACKCHANNEL_EVENT] : undefined
    if (!event || typeof event !== 'object' || Array.isArray(event)) throw bad('logout_token has no back-channel logout event')
    if ('nonce' in payload) throw bad('logout_token must not carry a nonce')
    const sid = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined
    const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined
    if (sid === undefined && sub === undefined) throw bad('logout_token has neither sid nor sub')
    if (typeof payload.jti !== 'string' || payload.jti === '') throw bad('logout_token has no jti')
    return { jti: payload.jti, sid, sub, replayWindowMs: (LOGOUT_TOKEN_MAX_AGE_S + 2 * CLOCK_TOLERANCE_S) * 1000 }
  }
}

function bad(message: string, cause?: unknown): BadRequest {
  return new BadRequest(message, { reason: 'bad_logout_token', cause })
}
