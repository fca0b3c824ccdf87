import type { Clock } from '../../clock.js'
import type { SessionConfig } from '../../config/schema.js'
import { sealKeys } from '../codec.js'
import { deriveKeys } from '../keys.js'
import { createCookieStore } from './cookie.js'
import { createMemoryStore } from './memory.js'
import { createPostgresStore } from './postgres.js'
import { createRedisStore } from './redis.js'
import { createServerSideStore } from './server-side.js'
import { createSqliteStore } from './sqlite.js'
import type { RecordStore, SessionStore } from './store.js'

/** The one place that picks a backend from `session.storage`. */
export async function createSessionStore(session: SessionConfig, secrets: readonly string[], clock: Clock): Promise<SessionStore> {
  if (session.storage === 'cookie') return createCookieStore(sealKeys(deriveKeys(secrets, 'session-cookie-seal')))
  const records = await createRecordStore(session)
  // Memory and SQLite answer in microseconds in-process; only network stores get a read cache.
  const cacheTtlMs = records.kind === 'redis' || records.kind === 'postgres' ? session.cache_ttl : 0
  return createServerSideStore(records, deriveKeys(secrets, 'session-cookie-mac'), clock, { cacheTtlMs })
}

export async function createRecordStore(session: SessionConfig): Promise<RecordStore> {
  switch (session.storage) {
    case 'memory':
      return createMemoryStore()
    case 'sqlite':
      return createSqliteStore(session.sqlite.path)
    case 'redis':
      return createRedisStore(session.redis)
    case 'postgres':
      return createPostgresStore(session.postgres)
    case 'cookie':
      throw new Error('cookie storage keeps no records; use createSessionStore')
  }
}
