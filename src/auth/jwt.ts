import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import { AuthServiceUnavailable, CredentialsRejected } from '../errors.js'
import type { Identity } from '../identity.js'
import { readCookie } from '../session/cookie.js'
import type { Authenticator } from './authenticator.js'
import { CredentialCache } from './credential-cache.js'
import { algorithmsFor, loadVerificationKey } from './jwt-keys.js'
import { authorizationValue, isSafeName, isSafeRole, queryOf, withoutQueryParams } from './request-parts.js'
import type { UserDirectory } from './users.js'

const MAX_TOKEN_BYTES = 16 * 1024
/** Header parameters by which a token names its own key: never trusted (CVE class of `jwk`/`jku` confusion). */
const SELF_KEYED = ['jwk', 'jku', 'x5u', 'x5c']

type Source = { kind: 'header' } | { kind: 'cookie'; name: string } | { kind: 'query'; name: string }

export function parseSources(sources: readonly string[]): Source[] {
  return sources.map((source) => {
    if (source === 'header') return { kind: 'header' }
    const [kind, name] = [source.slice(0, source.indexOf(':')), source.slice(source.indexOf(':') + 1)]
    return { kind: kind as 'cookie' | 'query', name }
  })
}

/**
 * JWTs from a header, a named cookie or a query parameter, verified with jose against an explicit
 * algorithm list, a trusted issuer and audience. A verified token is cached until its `exp`
 * (at most a minute) so a busy client does not pay a signature check per request.
 */
export function createJwtAuthenticator(config: Config, users: UserDirectory, clock: Clock): Authenticator {
  const jwt = config.auth.jwt!
  const key = loadVerificationKey(jwt)
  const algorithms = algorithmsFor(key, jwt.algorithms)
  const sources = parseSources(jwt.sources)
  const verifyKey: Uint8Array | JWTVerifyGetKey | import('node:crypto').KeyObject =
    key.kind === 'jwks' ? createRemoteJWKSet(key.url, { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 }) : key.key
  const cache = new CredentialCache(60_000, () => clock.now())
  const queryNames = sources.filter((s) => s.kind === 'query').map((s) => s.name)

  const verify = async (token: string): Promise<Identity> => {
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) throw reject('token_too_large')
    const cacheKey = cache.keyOf(token)
    const cached = cache.get(cacheKey)
    if (cached) return cached
    let header
    try {
      header = decodeProtectedHeader(token)
    } catch {
      throw reject('malformed_token')
    }
    if (SELF_KEYED.some((name) => name in header)) throw reject('embedded_key_not_allowed')
    let payload: JWTPayload
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
      throw translate(error, key.kind === 'jwks')
    }
    const identity = toIdentity(payload)
    cache.set(cacheKey, identity, identity.notAfter)
    return identity
  }

  const toIdentity = (payload: JWTPayload): Identity => {
    const user = claim(payload, jwt.user_claim)
    if (!isSafeName(user)) throw reject('missing_user_claim')
    let roles = toRoles(claim(payload, jwt.roles_claim))
    let email = typeof payload.email === 'string' ? payload.email : undefined
    if (jwt.validate_against_users) {
      // ClusterCockpit's forceJWTValidationViaDatabase: the directory decides who exists and their roles.
      const known = users.find(user)
      if (!known) throw reject('unknown_user')
      roles = [...known.roles]
      email = known.email
    }
    const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined
    return {
      user,
      roles,
      email,
      provider: { type: 'jwt', name: jwt.issuer ?? 'jwt' },
      data: { jti: payload.jti, exp: payload.exp, iss: payload.iss },
      notAfter: config.session.outlive_token ? undefined : exp,
    }
  }

  return {
    name: 'jwt',
    type: 'jwt',
    async authenticate(request) {
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

/** Query parameter names that carry JWTs: they never reach the upstream. */
export function jwtQueryParams(config: Config): string[] {
  return config.auth.jwt ? parseSources(config.auth.jwt.sources).flatMap((s) => (s.kind === 'query' ? [s.name] : [])) : []
}

/** Cookie names that carry JWTs: credentials, so they never reach the upstream either. */
export function jwtCookieNames(config: Config): string[] {
  return config.auth.jwt ? parseSources(config.auth.jwt.sources).flatMap((s) => (s.kind === 'cookie' ? [s.name] : [])) : []
}

function claim(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload
  for (const part of path.split('.')) {
    if (!value || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

function toRoles(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter(isSafeRole)
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(isSafeRole)
  return []
}

function reject(reason: string): CredentialsRejected {
  return new CredentialsRejected('token rejected', { reason })
}

function translate(error: unknown, remoteKeys: boolean): Error {
  if (error instanceof errors.JWTExpired) return reject(error.claim === 'iat' ? 'token_too_old' : 'token_expired')
  if (error instanceof errors.JWTClaimValidationFailed) {
    const byClaim: Record<string, string> = { iss: 'untrusted_issuer', aud: 'bad_audience', nbf: 'token_not_yet_valid', iat: 'token_too_old' }
    return reject(byClaim[error.claim] ?? 'invalid_claims')
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return reject('bad_signature')
  if (error instanceof errors.JOSEAlgNotAllowed) return reject('alg_not_allowed')
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return reject('unknown_kid')
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return new AuthServiceUnavailable('JWKS unavailable', { reason: 'jwks_unavailable' })
  if (error instanceof errors.JOSEError) return reject('malformed_token')
  // A failed JWKS fetch surfaces as a plain network error; with a local key anything else is a bad token.
  return remoteKeys ? new AuthServiceUnavailable('JWKS unavailable', { reason: 'jwks_unavailable', cause: error }) : reject('malformed_token')
}
