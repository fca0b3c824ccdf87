import { generateKeyPairSync, type KeyObject } from 'node:crypto'

export interface TestKeyPair {
  alg: string
  privateKey: KeyObject
  publicKey: KeyObject
  publicPem: string
  privatePem: string
}

function pair(alg: string, generated: { privateKey: KeyObject; publicKey: KeyObject }): TestKeyPair {
  return {
    alg,
    ...generated,
    publicPem: generated.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    privatePem: generated.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  }
}

let cached: Record<string, TestKeyPair> | undefined

/** One key pair per algorithm family, generated once per test process (RSA is slow). */
export function testKeys(): Record<'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA', TestKeyPair> {
  cached ??= (() => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
    return {
      RS256: pair('RS256', rsa),
      PS256: pair('PS256', rsa),
      ES256: pair('ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' })),
      ES384: pair('ES384', generateKeyPairSync('ec', { namedCurve: 'P-384' })),
      EdDSA: pair('EdDSA', generateKeyPairSync('ed25519')),
    }
  })()
  return cached as ReturnType<typeof testKeys>
}
