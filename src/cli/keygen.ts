import { generateKeyPairSync } from 'node:crypto'
import { EXIT_OK, EXIT_USAGE } from './output.js'

export const KEYGEN_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const
export type KeygenAlgorithm = (typeof KEYGEN_ALGORITHMS)[number]

/** A PEM key pair (PKCS#8 private, then SPKI public) for signing and verifying JWTs. */
export function generatePemPair(alg: KeygenAlgorithm): { privateKey: string; publicKey: string } {
  const pair =
    alg === 'EdDSA' ? generateKeyPairSync('ed25519') : alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  }
}

/** `gatehouse keygen [--alg EdDSA|ES256|RS256]`: prints the private key, then the public key. */
export function runKeygen(alg: string | undefined): number {
  const chosen = (alg ?? 'EdDSA') as KeygenAlgorithm
  if (!KEYGEN_ALGORITHMS.includes(chosen)) {
    process.stderr.write(`gatehouse keygen: --alg must be one of ${KEYGEN_ALGORITHMS.join(', ')}, got ${JSON.stringify(alg)}\n`)
    return EXIT_USAGE
  }
  const { privateKey, publicKey } = generatePemPair(chosen)
  process.stdout.write(privateKey + publicKey)
  return EXIT_OK
}
