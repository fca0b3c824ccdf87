import { parseArgs, type ParseArgsConfig } from 'node:util'
import { runCheckConfig } from './check-config.js'
import { runDemo } from './demo.js'
import { runHashPassword } from './hash-password.js'
import { runKeygen } from './keygen.js'
import { runToken, type TokenOptions } from './token.js'
import { EXIT_USAGE } from './output.js'
import { runSessions } from './sessions.js'
import { runStart } from './start.js'

const USAGE = `usage: gatehouse <command> [options]

commands:
  start [-c FILE]             run the gateway (FILE: $GATEHOUSE_CONFIG, then ./gatehouse.yaml)
  demo [--port N]             gateway + echo upstream + demo user on the embedded store
  check-config -c FILE        validate a configuration; exit 2 when invalid
  hash-password [--scrypt]    read a password on stdin, print an argon2id (or scrypt) hash
  keygen [--alg EdDSA|ES256|RS256]
                              print a PEM key pair (private, then public)
  token --key FILE --sub NAME [--roles a,b] [--iss X] [--aud Y] [--ttl 1h]
                              print a JWT signed with the private key in FILE
  sessions list|revoke [--user NAME] [--all] [--json] -c FILE
                              list or revoke sessions in the configured store
`

type Command = (args: string[]) => Promise<number>

const commands: Record<string, Command> = {
  start: async (args) => runStart(parse(args, { config: { type: 'string', short: 'c' } }).config as string | undefined),
  'check-config': async (args) => runCheckConfig(parse(args, { config: { type: 'string', short: 'c' } }).config as string | undefined),
  'hash-password': async (args) => runHashPassword(parse(args, { scrypt: { type: 'boolean' } }).scrypt ? 'scrypt' : 'argon2id'),
  keygen: async (args) => runKeygen(parse(args, { alg: { type: 'string' } }).alg as string | undefined),
  token: async (args) =>
    runToken(parse(args, { key: { type: 'string' }, sub: { type: 'string' }, roles: { type: 'string' }, iss: { type: 'string' }, aud: { type: 'string' }, ttl: { type: 'string' } }) as TokenOptions),
  sessions: async (args) => {
    const [action, ...rest] = args
    const values = parse(rest, { config: { type: 'string', short: 'c' }, user: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } })
    return runSessions({ action, config: values.config as string | undefined, user: values.user as string | undefined, all: values.all as boolean | undefined, json: values.json as boolean | undefined })
  },
  demo: async (args) => {
    const values = parse(args, { port: { type: 'string', short: 'p' }, host: { type: 'string' }, data: { type: 'string' } })
    const port = Number(values.port ?? process.env.PORT ?? 4180)
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number, got ${JSON.stringify(values.port)}`)
    return runDemo({ port, host: (values.host as string | undefined) ?? '127.0.0.1', dataDir: (values.data as string | undefined) ?? '.data' })
  },
}

class UsageError extends Error {}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values as Record<string, string | boolean | undefined>
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

/** Dispatches argv to a command and returns the exit code (0 fine, 1 runtime failure, 2 usage/config). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE)
    return name ? 0 : EXIT_USAGE
  }
  const command = commands[name]
  if (!command) {
    process.stderr.write(`gatehouse: unknown command "${name}"\n\n${USAGE}`)
    return EXIT_USAGE
  }
  try {
    return await command(rest)
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`gatehouse ${name}: ${error.message}\n`)
      return EXIT_USAGE
    }
    throw error
  }
}
