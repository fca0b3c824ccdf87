import { createPublicKey, type KeyObject } from 'node:crypto'
import { createRemoteJWKSet, decodeProtectedHeader, errors, exportJWK, jwtVerify, SignJWT, type JWK, type JWTVerifyGetKey, type ProtectedHeaderParameters } from 'jose'
import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import { AuthServiceUnavailable, GatehouseError, type Reason } from '../errors.js'
import type { Identity } from '../identity.js'
import { readCookie } from '../http/cookies.js'
import type { Authenticator } from './authenticator.js'
import { CredentialCache } from './credential-cache.js'
import { identityFromClaims, parseSources, rejectToken, type Claims } from './jwt-claims.js'
import { algorithmsFor, loadVerificationKey } from './jwt-keys.js'
import { authorizationValue, queryOf, withoutQueryParams } from '../http/request-parts.js'
import type { UserDirectory } from './users.js'

// The only module that imports jose: every JOSE operation (verify, JWKS, sign, JWK export) is here.

/** Tokens above this are refused before any parsing (a decoder is attack surface, and memory). */
export const MAX_TOKEN_BYTES = 16 * 1024
/** Header parameters by which a token names its own key: never trusted (the `jwk`/`jku` confusion class). */
const SELF_KEYED = ['jwk', 'jku', 'x5u', 'x5c']

export interface JwtAuthenticatorOptions {
  /** How long after a JWKS fetch an unknown `kid` is refused without fetching again (default 30 s). */
  jwksCooldownMs?: number
}

/**
 * JWTs from a header, a named cookie or a query parameter, verified with jose against an explicit
 * algorithm list, a trusted issuer and audience. A verified token is cached until its `exp`
 * (at most a minute) so a busy client does not pay a signature check per request.
 */
export function createJwtAuthenticator(config: Config, users: UserDirectory, clock: Clock, options: JwtAuthenticatorOptions = {}): Authenticator {
  const jwt = config.auth.jwt!
  const key = loadVerificationKey(jwt)
  const algorithms = algorithmsFor(key, jwt.algorithms)
  const sources = parseSources(jwt.sources)
  const verifyKey = key.kind === 'jwks' ? remoteKeys(key.url, options.jwksCooldownMs ?? 30_000) : key.key
  const cache = new CredentialCache(60_000, () => clock.now())
  const queryNames = sources.flatMap((s) => (s.kind === 'query' ? [s.name] : []))

  const verify = async (token: string): Promise<Identity> => {
    if (token.length > MAX_TOKEN_BYTES || Buffer.byteLength(token) > MAX_TOKEN_BYTES) throw rejectToken('token_too_large')
    const cacheKey = cache.keyOf(token)
    const cached = cache.get(cacheKey)
    if (cached) return cached
    let header: ProtectedHeaderParameters
    try {
      header = decodeProtectedHeader(token)
    } catch {
      throw rejectToken('malformed_token')
    }
    if (SELF_KEYED.some((name) => Object.hasOwn(header, name))) throw rejectToken('embedded_key_not_allowed')
    let payload: Claims
    try {
      ;({ payload } = await jwtVerify(token, verifyKey as Uint8Array, {
        algorithms,
        issuer: jwt.issuer,
        audience: jwt.audience,
        clockTolerance: jwt.clock_tolerance / 1000,
        maxTokenAge: jwt.max_age === undefined ? undefined : jwt.max_age / 1000,
        currentDate: new Date(clock.now()),
      }))
    } catch (error) {
      throw translate(error, header)
    }
    const identity = identityFromClaims(payload, jwt, users, config.session.outlive_token)
    cache.set(cacheKey, identity, identity.notAfter)
    return identity
  }

  return {
    name: 'jwt',
    type: 'jwt',
    credentials: {
      cookies: sources.flatMap((s) => (s.kind === 'cookie' ? [s.name] : [])),
      queryParams: queryNames,
      authorizationSchemes: sources.some((s) => s.kind === 'header') ? ['bearer'] : [],
    },
    async authenticate(request) {
      // Sources in configured order; the first one that carries a token decides (one verify at most).
      for (const source of sources) {
        if (source.kind === 'header') {
          const token = authorizationValue(request.headers, 'Bearer')
          if (token) return { identity: await verify(token), startSession: jwt.create_session }
        } else if (source.kind === 'cookie') {
          const token = readCookie(request.headers.cookie, source.name)
          if (token) return { identity: await verify(token), startSession: jwt.create_session }
        } else {
          const token = queryOf(request.url)?.get(source.name)
          if (token) {
            // ROR's ?jwt=…: verify, start a session, and send the browser to the same URL without the token.
            return { identity: await verify(token), startSession: true, redirectTo: withoutQueryParams(request.url, queryNames) }
          }
        }
      }
      return null
    },
  }
}

/**
 * jose's remote key set (cached 10 min, refetched on an unknown `kid` at most once per cooldown).
 * A failure to fetch the set is the key service being down (503), not a bad token (401).
 */
function remoteKeys(url: URL, cooldownMs: number): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url, { cooldownDuration: cooldownMs, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 })
  return async (header, token) => {
    try {
      return await remote(header, token)
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JOSENotSupported) throw error
      throw new AuthServiceUnavailable('JWKS unavailable', { reason: 'jwks_unavailable', cause: error })
    }
  }
}

/** jose's error classes → our stable reason codes. */
function translate(error: unknown, header: ProtectedHeaderParameters): Error {
  if (error instanceof GatehouseError) return error
  if (error instanceof errors.JWTExpired) return rejectToken(error.claim === 'iat' ? 'token_too_old' : 'token_expired')
  if (error instanceof errors.JWTClaimValidationFailed) {
    const byClaim: Partial<Record<string, Reason>> = { iss: 'untrusted_issuer', aud: 'bad_audience', nbf: 'token_not_yet_valid', iat: 'token_too_old' }
    return rejectToken(byClaim[error.claim] ?? 'invalid_claims')
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return rejectToken('bad_signature')
  if (error instanceof errors.JOSEAlgNotAllowed) return rejectToken('alg_not_allowed')
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return rejectToken(header.kid === undefined ? 'missing_kid' : 'unknown_kid')
  }
  return rejectToken('malformed_token')
}

/**
 * Signs a compact JWS over `payload` as given (registered claims included), with `typ: JWT`.
 * Used by the identity token for upstreams and by `gatehouse token`.
 */
export function signJwt(privateKey: KeyObject, header: { alg: string; kid?: string }, payload: Record<string, unknown>): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ ...header, typ: 'JWT' }).sign(privateKey)
}

/** The public half of a key as a JWK (never `d`), for a published JWKS. */
export function publicJwk(key: KeyObject): Promise<JWK> {
  return exportJWK(key.type === 'private' ? createPublicKey(key) : key)
}
