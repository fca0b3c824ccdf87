import { systemClock } from '../clock.js'
import { loadConfigFile } from '../config/load.js'
import { createSessionStore } from '../session/store/index.js'
import type { Session } from '../session/session.js'
import { resolveConfigPath } from './config-file.js'
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, reportFailure } from './output.js'

export interface SessionsOptions {
  action: string | undefined
  config?: string | undefined
  user?: string | undefined
  all?: boolean | undefined
  json?: boolean | undefined
}

/** `gatehouse sessions list|revoke [--user NAME] [--all] -c FILE`: straight on the configured store. */
export async function runSessions(options: SessionsOptions): Promise<number> {
  if (options.action !== 'list' && options.action !== 'revoke') {
    process.stderr.write('gatehouse sessions: expected "list" or "revoke"\n')
    return EXIT_USAGE
  }
  if (options.action === 'revoke' && !options.user && !options.all) {
    process.stderr.write('gatehouse sessions revoke: give --user NAME or --all\n')
    return EXIT_USAGE
  }
  const file = resolveConfigPath(options.config)
  try {
    const config = loadConfigFile(file)
    const store = await createSessionStore(config.session, config.secrets, systemClock)
    try {
      if (!store.admin) {
        process.stderr.write('gatehouse sessions: session.storage is "cookie": sessions live only in browsers and cannot be listed or revoked\n')
        return EXIT_RUNTIME
      }
      if (options.action === 'revoke') {
        const total = await store.admin.removeMatching(options.all ? {} : { user: options.user })
        process.stdout.write(`revoked ${total} session${total === 1 ? '' : 's'}\n`)
        return EXIT_OK
      }
      const sessions: Session[] = []
      let cursor: string | undefined
      do {
        const page = await store.admin.list({ user: options.user, limit: 1000, cursor, now: Date.now() })
        sessions.push(...page.sessions)
        cursor = page.nextCursor ?? undefined
      } while (cursor)
      const live = sessions.filter((s) => (s.idleExpiresAt ?? Infinity) > Date.now() && (s.lifespanExpiresAt ?? Infinity) > Date.now())
      process.stdout.write(options.json ? `${JSON.stringify(live, null, 2)}\n` : table(live))
      return EXIT_OK
    } finally {
      await store.close()
    }
  } catch (error) {
    return reportFailure(error, file)
  }
}

function table(sessions: Session[]): string {
  const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'))
  const rows = [['ID', 'USER', 'PROVIDER', 'CREATED', 'LAST SEEN', 'IP'], ...sessions.map((s) => [s.id.slice(0, 12), s.user, s.provider.type, iso(s.createdAt), iso(s.lastSeen), s.client.ip ?? '-'])]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + `\n${sessions.length} session${sessions.length === 1 ? '' : 's'}\n`
}
