import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { JwtConfig } from '../config/schema.js'
import { ConfigInvalid } from '../errors.js'

export type VerificationKey = { kind: 'secret'; key: Uint8Array } | { kind: 'public'; key: KeyObject } | { kind: 'jwks'; url: URL }

const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const EC_BY_CURVE: Record<string, string> = { prime256v1: 'ES256', 'P-256': 'ES256', secp384r1: 'ES384', 'P-384': 'ES384', secp521r1: 'ES512', 'P-521': 'ES512' }

/**
 * Reads the configured verification key: a shared secret, a public key as PEM, as a JWK, or as
 * ClusterCockpit's raw base64 Ed25519 key, or a JWKS URL. A private key is refused: the gateway
 * only ever needs the public half.
 */
export function loadVerificationKey(jwt: JwtConfig): VerificationKey {
  if (jwt.secret !== undefined) return { kind: 'secret', key: new TextEncoder().encode(jwt.secret) }
  if (jwt.jwks_url !== undefined) return { kind: 'jwks', url: new URL(jwt.jwks_url) }
  let text = jwt.public_key
  let where = 'auth.jwt.public_key'
  if (jwt.public_key_file !== undefined) {
    where = 'auth.jwt.public_key_file'
    try {
      text = readFileSync(jwt.public_key_file, 'utf8')
    } catch (error) {
      throw new ConfigInvalid([`${where}: cannot read ${jwt.public_key_file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`])
    }
  }
  try {
    return { kind: 'public', key: parsePublicKey(text!.trim()) }
  } catch (error) {
    throw new ConfigInvalid([`${where}: ${(error as Error).message}`])
  }
}

function parsePublicKey(text: string): KeyObject {
  if (text.includes('PRIVATE KEY')) throw new Error('this is a private key; configure the public key only')
  if (text.startsWith('-----BEGIN')) return createPublicKey(text)
  if (text.startsWith('{')) {
    const jwk = JSON.parse(text) as Record<string, unknown>
    if ('d' in jwk) throw new Error('this JWK holds a private key; configure the public key only')
    return createPublicKey({ key: jwk as never, format: 'jwk' })
  }
  const raw = Buffer.from(text, 'base64')
  // ClusterCockpit keeps its private key in the same format, 64 bytes (seed + public half).
  if (raw.length === 64) throw new Error('this looks like a raw Ed25519 private key (64 bytes); configure the public key only')
  if (raw.length === 32) return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
  throw new Error('expected a PEM public key, a JWK, or a base64 Ed25519 public key (32 bytes)')
}

/** The algorithms a key can verify, so `algorithms` may be omitted; never `none`, never HS for a public key. */
export function algorithmsFor(key: VerificationKey, configured: readonly string[] | undefined, where = 'auth.jwt.algorithms'): string[] {
  const possible = allowedFor(key)
  if (!configured) return possible
  const wrong = configured.filter((alg) => possible !== ANY_ASYMMETRIC && !possible.includes(alg))
  if (wrong.length > 0) throw new ConfigInvalid([`${where}: ${wrong.join(', ')} cannot be verified with the configured key (it supports ${possible.join(', ')})`])
  return [...configured]
}

const ANY_ASYMMETRIC = [...RSA, 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']

function allowedFor(key: VerificationKey): string[] {
  if (key.kind === 'secret') return ['HS256', 'HS384', 'HS512']
  if (key.kind === 'jwks') return ANY_ASYMMETRIC
  switch (key.key.asymmetricKeyType) {
    case 'rsa':
      return RSA
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512']
    case 'ec':
      return [EC_BY_CURVE[key.key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'ES256']
    case 'ed25519':
      return ['EdDSA', 'Ed25519']
    default:
      throw new ConfigInvalid([`auth.jwt: unsupported key type ${key.key.asymmetricKeyType}`])
  }
}
