import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import { ConfigInvalid } from '../errors.js'
import type { Identity } from '../identity.js'
import { publicJwk, signJwt } from './jwt.js'

/** A public key as published in a JWKS (RFC 7517); only the members Gatehouse sets. */
export interface PublicJwk {
  readonly [member: string]: string | undefined
}

export interface IdentityTokenSigner {
  /** The header the token goes into (`Authorization` gets a `Bearer ` prefix). */
  readonly header: string
  tokenFor(identity: Identity): Promise<string>
  /** The public key, published at `<prefix>/jwks.json` for upstreams to verify with. */
  readonly jwks: { keys: PublicJwk[] }
  /** The key when none is configured (generated at start, kept across reloads); null with `private_key_file`. */
  readonly generatedKey: KeyObject | null
}

const KID = 'gatehouse-1'

/**
 * `identity_headers.jwt`: a short-lived EdDSA token, signed by the gateway, telling the upstream
 * who the caller is. Tokens are reused while more than half their lifetime remains, so signing
 * is not on every request.
 */
export async function createIdentityTokenSigner(config: Config, clock: Clock, options: { generatedKey?: KeyObject | undefined } = {}): Promise<IdentityTokenSigner | null> {
  const settings = config.identity_headers.jwt
  if (!settings?.enabled) return null
  const generatedKey = settings.private_key_file ? null : (options.generatedKey ?? generateKeyPairSync('ed25519').privateKey)
  const privateKey = generatedKey ?? loadSigningKey(settings.private_key_file!)
  const jwk = { ...((await publicJwk(privateKey)) as PublicJwk), kid: KID, alg: 'EdDSA', use: 'sig' }
  const cache = new Map<string, { token: string; refreshAt: number }>()

  return {
    header: settings.header.toLowerCase(),
    jwks: { keys: [jwk] },
    generatedKey,
    async tokenFor(identity) {
      const now = clock.now()
      const key = `${identity.user}\n${identity.roles.join(',')}\n${identity.email ?? ''}`
      const hit = cache.get(key)
      if (hit && hit.refreshAt > now) return hit.token
      const token = await signJwt(privateKey, { alg: 'EdDSA', kid: KID }, {
        sub: identity.user,
        roles: [...identity.roles],
        ...(identity.email ? { email: identity.email } : {}),
        provider: identity.provider.type,
        iss: settings.issuer,
        ...(settings.audience ? { aud: settings.audience } : {}),
        iat: Math.floor(now / 1000),
        exp: Math.floor((now + settings.ttl) / 1000),
      })
      if (cache.size > 10_000) cache.clear()
      cache.set(key, { token, refreshAt: now + settings.ttl / 2 })
      return token
    },
  }
}

function loadSigningKey(file: string): KeyObject {
  try {
    const key = createPrivateKey(readFileSync(file, 'utf8'))
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('expected an Ed25519 private key (gatehouse keygen --alg EdDSA)')
    return key
  } catch (error) {
    throw new ConfigInvalid([`identity_headers.jwt.private_key_file: ${(error as Error).message}`])
  }
}

/** Mints a token the way `gatehouse token` does: for the CLI and for tests. */
export async function mintToken(privateKey: KeyObject, alg: string, claims: { sub: string; roles?: string[]; iss?: string; aud?: string; ttlSeconds: number; now?: number }): Promise<string> {
  const now = Math.floor((claims.now ?? Date.now()) / 1000)
  return signJwt(privateKey, { alg }, {
    sub: claims.sub,
    ...(claims.roles ? { roles: claims.roles } : {}),
    ...(claims.iss ? { iss: claims.iss } : {}),
    ...(claims.aud ? { aud: claims.aud } : {}),
    iat: now,
    exp: now + claims.ttlSeconds,
  })
}
