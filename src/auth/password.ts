import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2'
import bcrypt from 'bcryptjs'

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>

export type HashAlgorithm = 'argon2id' | 'scrypt'

/** Password hashes for the users file: argon2id (default) or scrypt; bcrypt accepted for htpasswd users. */
export async function hashPassword(password: string, algorithm: HashAlgorithm = 'argon2id'): Promise<string> {
  if (algorithm === 'scrypt') {
    const salt = randomBytes(16)
    const derived = await scrypt(password, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
    return `$scrypt$ln=15,r=8,p=1$${salt.toString('base64url')}$${derived.toString('base64url')}`
  }
  return argon2Hash(password) // @node-rs/argon2 defaults to argon2id with OWASP's parameters
}

/** Which scheme a stored hash uses, or null when Gatehouse cannot verify it. */
export function hashScheme(stored: string): 'argon2' | 'scrypt' | 'bcrypt' | null {
  if (/^\$argon2(id|i|d)\$/.test(stored)) return 'argon2'
  if (SCRYPT.test(stored)) return 'scrypt'
  if (/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(stored)) return 'bcrypt'
  return null
}

const SCRYPT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/

/** Constant-time verification; false for a wrong password or an unusable hash, never a throw. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    switch (hashScheme(stored)) {
      case 'argon2':
        return await argon2Verify(stored, password)
      case 'bcrypt':
        return await bcrypt.compare(password, stored)
      case 'scrypt': {
        const [, ln, r, p, salt, expected] = SCRYPT.exec(stored)!
        const want = Buffer.from(expected!, 'base64url')
        const N = 2 ** Number(ln)
        const got = await scrypt(password, Buffer.from(salt!, 'base64url'), want.length, { N, r: Number(r), p: Number(p), maxmem: 256 * N * Number(r) + 1024 * 1024 })
        return got.length === want.length && timingSafeEqual(got, want)
      }
      default:
        return false
    }
  } catch {
    return false
  }
}
