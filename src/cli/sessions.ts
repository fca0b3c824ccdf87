import { systemClock } from '../clock.js'
import { loadConfigFile } from '../config/load.js'
import { createEndingAdmin } from '../session/ending-admin.js'
import { createSessionEnds } from '../session/ends.js'
import { createChangeSignal } from '../session/revocation-signal.js'
import { createRevocations } from '../session/revocations.js'
import { createSessionStore } from '../session/store/index.js'
import type { Session } from '../session/session.js'
import { createSharedState } from '../state/index.js'
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
    // Where the gateways look for why a session ended (tombstones) or whether a cookie is revoked.
    const state = await createSharedState(config.session, config.session.storage === 'cookie' ? config.session.revocation.storage : undefined)
    try {
      if (options.action === 'revoke' && !store.admin) {
        const revocations = createRevocations(state, await createChangeSignal(config.session, state.kind), { maxLifetimeMs: config.session.lifespan })
        try {
          await revocations.revokeMatching(options.all ? {} : { user: options.user }, Date.now())
        } finally {
          await revocations.close()
        }
        process.stdout.write(`revoked every cookie session${options.all ? '' : ` of ${options.user}`} issued until now\n`)
        return EXIT_OK
      }
      if (!store.admin) {
        process.stderr.write('gatehouse sessions: session.storage is "cookie": sessions live only in browsers and cannot be listed (revoke works)\n')
        return EXIT_RUNTIME
      }
      if (options.action === 'revoke') {
        const admin = createEndingAdmin(store.admin, createSessionEnds(state), Date.now)
        const total = await admin.removeMatching(options.all ? {} : { user: options.user })
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
      await state.close()
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
