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

commands (gatehouse <command> --help for each):
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

/** `gatehouse <command> --help` (or `-h`): what the command does and takes, on stdout. */
const COMMAND_USAGE: Record<string, string> = {
  start: `usage: gatehouse start [-c FILE]

Runs the gateway until SIGTERM or SIGINT (in-flight requests finish first).
SIGHUP reloads FILE: users, keys and TLS files are re-read; an invalid new
configuration is refused (every problem is logged) and the running one stays.

options:
  -c, --config FILE   configuration file (default: $GATEHOUSE_CONFIG, then ./gatehouse.yaml)
  -h, --help          show this help
`,
  demo: `usage: gatehouse demo [--port N] [--host ADDRESS] [--data DIR]

Runs the gateway in front of a built-in echo upstream with a demo user, on the
embedded store; prints the user name, password and URL.

options:
  -p, --port N        port to listen on (default: $PORT, then 4180)
      --host ADDRESS  address to listen on (default: 127.0.0.1)
      --data DIR      where the demo keeps its secret and sessions (default: .data)
  -h, --help          show this help
`,
  'check-config': `usage: gatehouse check-config [-c FILE]

Validates a configuration and the files it names (users, keys, TLS), then
connects to the session store. Exit 0 when valid; 2 with the problems listed
by key path; 1 when the store cannot be reached.

options:
  -c, --config FILE   configuration file (default: $GATEHOUSE_CONFIG, then ./gatehouse.yaml)
  -h, --help          show this help
`,
  'hash-password': `usage: gatehouse hash-password [--scrypt] < password

Reads a password on stdin and prints its hash for users[].password_hash.

options:
      --scrypt        scrypt instead of argon2id
  -h, --help          show this help
`,
  keygen: `usage: gatehouse keygen [--alg EdDSA|ES256|RS256]

Prints a new PEM key pair: the private key, then the public key.

options:
      --alg ALG       EdDSA (default), ES256 or RS256
  -h, --help          show this help
`,
  token: `usage: gatehouse token --key FILE --sub NAME [--roles a,b] [--iss X] [--aud Y] [--ttl 1h]

Prints a JWT signed with the private key in FILE (for auth.jwt tests and scripts).

options:
      --key FILE      PEM private key (gatehouse keygen)
      --sub NAME      the user (subject)
      --roles a,b     roles claim
      --iss X         issuer
      --aud Y         audience
      --ttl DURATION  lifetime (default 1h)
  -h, --help          show this help
`,
  sessions: `usage: gatehouse sessions list|revoke [--user NAME] [--all] [--json] [-c FILE]

Lists or revokes sessions in the configured store.

options:
  -c, --config FILE   configuration file (default: $GATEHOUSE_CONFIG, then ./gatehouse.yaml)
      --user NAME     only this user's sessions
      --all           revoke every session
      --json          machine-readable output (list)
  -h, --help          show this help
`,
}

function wantsHelp(args: string[]): boolean {
  // Up to a `--`, so that a value after it is never read as the flag.
  const end = args.indexOf('--')
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')
}

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
  if (wantsHelp(rest)) {
    process.stdout.write(COMMAND_USAGE[name] ?? USAGE)
    return 0
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
