import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { hashPassword } from '../auth/password.js'
import { parseConfig } from '../config/load.js'
import { startEchoUpstream } from '../demo/echo-upstream.js'
import { startGateway } from '../server/start.js'
import { EXIT_OK, reportFailure } from './output.js'

export const DEMO_USER = 'demo'
export const DEMO_PASSWORD = 'gatehouse-demo'

/**
 * `gatehouse demo`: the echo upstream, the gateway in front of it on the embedded SQLite store,
 * and one user. The secret is kept in .data/ so sessions survive a restart of the demo.
 */
export async function runDemo(options: { port: number; host: string; dataDir: string }): Promise<number> {
  try {
    mkdirSync(options.dataDir, { recursive: true })
    const secretFile = join(options.dataDir, 'demo-secret')
    if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 })
    const upstream = await startEchoUpstream()
    const config = parseConfig({
      listen: `${options.host}:${options.port}`,
      upstream: upstream.url,
      secrets: [readFileSync(secretFile, 'utf8').trim()],
      session: {
        storage: 'sqlite',
        sqlite: { path: join(options.dataDir, 'demo-sessions.db') },
        // The demo is plain http on localhost; anywhere else keep the Secure default.
        cookie: { secure: false },
      },
      users: [{ username: DEMO_USER, password_hash: await hashPassword(DEMO_PASSWORD), roles: ['admin', 'viewer'], email: 'demo@example.com' }],
      log: { level: process.env.GATEHOUSE_LOG_LEVEL ?? 'info' },
    })
    await startGateway(config, {}, { handleSignals: true })
    const url = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${options.port}/`
    process.stderr.write(
      [
        '',
        'Gatehouse demo is running.',
        `  Open:      ${url}`,
        `  Username:  ${DEMO_USER}`,
        `  Password:  ${DEMO_PASSWORD}`,
        `  Upstream:  ${upstream.url} (echo page showing the headers it receives)`,
        `  Sessions:  SQLite at ${join(options.dataDir, 'demo-sessions.db')}`,
        `  Log out:   ${url}_gatehouse/logout`,
        'Press Ctrl+C to stop.',
        '',
      ].join('\n') + '\n',
    )
    await new Promise(() => {})
    return EXIT_OK
  } catch (error) {
    return reportFailure(error)
  }
}
