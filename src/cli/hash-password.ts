import { hashPassword, type HashAlgorithm } from '../auth/password.js'
import { EXIT_OK, EXIT_USAGE } from './output.js'

/** `gatehouse hash-password [--scrypt]`: password on stdin (first line), hash on stdout. */
export async function runHashPassword(algorithm: HashAlgorithm): Promise<number> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? ''
  if (password === '') {
    process.stderr.write('gatehouse: no password on stdin (try: echo -n "secret" | gatehouse hash-password)\n')
    return EXIT_USAGE
  }
  process.stdout.write(`${await hashPassword(password, algorithm)}\n`)
  return EXIT_OK
}
