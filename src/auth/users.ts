import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import type { Config, UserConfig } from '../config/schema.js'
import { ConfigInvalid } from '../errors.js'
import { isSafeName, isSafeRole } from '../http/request-parts.js'
import { hashPassword, hashScheme, verifyPassword } from './password.js'

export interface User {
  readonly username: string
  readonly roles: readonly string[]
  readonly email?: string | undefined
  readonly passwordHash?: string | undefined
}

/** The internal users, from `users:` inline or `users.file`. */
export interface UserDirectory {
  find(username: string): User | undefined
  /** The user when the password matches; null otherwise, in about the same time whether the user exists or not. */
  verify(username: string, password: string): Promise<User | null>
  readonly size: number
  /** Every user name (to tell whether a new directory removed anyone). */
  names(): Iterable<string>
}

const fileSchema = z.array(
  z.strictObject({
    username: z.string().min(1),
    password_hash: z.string().min(1).optional(),
    roles: z.array(z.string()).default([]),
    email: z.string().optional(),
  }),
)

/** Reads `users.file` (YAML or JSON); problems come back as `users.file[0].roles: …` lines. */
export function loadUserList(config: Config): UserConfig[] {
  if (Array.isArray(config.users)) return config.users as UserConfig[]
  const file = (config.users as { file: string }).file
  let document: unknown
  try {
    document = parseYaml(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ConfigInvalid([`users.file: cannot read ${file}: ${(error as Error).message.split('\n')[0]}`])
  }
  const parsed = fileSchema.safeParse(document ?? [])
  if (!parsed.success) {
    throw new ConfigInvalid(parsed.error.issues.map((issue) => `users.file${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${issue.message}`))
  }
  return parsed.data
}

/** Why isSafeName refused a configured value (the value itself is not repeated: it may hold a CR/LF). */
function unsafeBecause(value: string): string {
  if (value.length === 0 || value.length > 256) return 'must be 1 to 256 characters long'
  if (/[\0-\x1f\x7f-\x9f\u2028\u2029]/.test(value)) return 'must not contain control characters'
  if (/^\s|\s$/.test(value)) return 'must not begin or end with whitespace'
  return 'must be well-formed Unicode'
}

export async function createUserDirectory(config: Config): Promise<UserDirectory> {
  const list = loadUserList(config)
  const where = Array.isArray(config.users) ? 'users' : 'users.file'
  const problems: string[] = []
  const users = new Map<string, User>()
  list.forEach((user, index) => {
    // Names, roles and e-mails reach upstream headers and logs: see isSafeName.
    if (!isSafeName(user.username)) problems.push(`${where}[${index}].username: ${unsafeBecause(user.username as string)}`)
    user.roles.forEach((role, r) => {
      if (!isSafeRole(role)) problems.push(`${where}[${index}].roles[${r}]: ${(role as string).includes(',') ? 'must not contain commas' : unsafeBecause(role as string)}`)
    })
    if (user.email !== undefined && !isSafeName(user.email)) problems.push(`${where}[${index}].email: ${unsafeBecause(user.email as string)}`)
    if (users.has(user.username)) problems.push(`${where}[${index}].username: duplicate user ${JSON.stringify(user.username)}`)
    if (user.password_hash !== undefined && hashScheme(user.password_hash) === null) {
      problems.push(`${where}[${index}].password_hash: not an argon2id, scrypt or bcrypt hash (make one with \`gatehouse hash-password\`)`)
    }
    users.set(user.username, { username: user.username, roles: user.roles, email: user.email, passwordHash: user.password_hash })
  })
  if (problems.length > 0) throw new ConfigInvalid(problems)

  // Unknown users are checked against this hash so a miss costs what a hit costs.
  const decoy = await hashPassword('gatehouse-decoy-password')
  return {
    size: users.size,
    names: () => users.keys(),
    find: (username) => users.get(username),
    async verify(username, password) {
      const user = users.get(username)
      const ok = await verifyPassword(user?.passwordHash ?? decoy, password)
      return ok && user?.passwordHash ? user : null
    },
  }
}
