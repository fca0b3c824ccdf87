import { createPrivateKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mintToken } from '../auth/jwt-sign.js'
import { parseDuration } from '../config/duration.js'
import { EXIT_OK, EXIT_USAGE } from './output.js'

export interface TokenOptions {
  key?: string | undefined
  sub?: string | undefined
  roles?: string | undefined
  iss?: string | undefined
  aud?: string | undefined
  ttl?: string | undefined
}

/** The JWS algorithm for a private key: EdDSA for Ed25519, ES256/384/512 by curve, RS256 for RSA. */
export function algorithmOf(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'EdDSA'
    case 'ec':
      return { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'ES256'
    case 'rsa':
      return 'RS256'
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`)
  }
}

/** `gatehouse token --key FILE --sub NAME [--roles a,b] [--iss X] [--aud Y] [--ttl 1h]`: prints a signed JWT. */
export async function runToken(options: TokenOptions): Promise<number> {
  if (!options.key || !options.sub) {
    process.stderr.write('gatehouse token: --key FILE and --sub NAME are required\n')
    return EXIT_USAGE
  }
  const ttl = parseDuration(options.ttl ?? '1h')
  if (ttl === undefined || ttl <= 0) {
    process.stderr.write(`gatehouse token: --ttl: expected a duration like "1h", got ${JSON.stringify(options.ttl)}\n`)
    return EXIT_USAGE
  }
  let key: KeyObject
  try {
    key = createPrivateKey(readFileSync(options.key, 'utf8'))
  } catch (error) {
    process.stderr.write(`gatehouse token: --key: cannot read a PEM private key from ${options.key}: ${(error as Error).message}\n`)
    return EXIT_USAGE
  }
  let alg: string
  try {
    alg = algorithmOf(key)
  } catch (error) {
    process.stderr.write(`gatehouse token: --key: ${(error as Error).message} (use gatehouse keygen --alg EdDSA|ES256|RS256)\n`)
    return EXIT_USAGE
  }
  const roles = options.roles?.split(',').map((r) => r.trim()).filter(Boolean)
  const token = await mintToken(key, alg, { sub: options.sub, roles, iss: options.iss, aud: options.aud, ttlSeconds: Math.round(ttl / 1000) })
  process.stdout.write(`${token}\n`)
  return EXIT_OK
}
