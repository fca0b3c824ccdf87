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

/** SQLite's cache is exact (invalidated synchronously), so its TTL only recycles memory. */
const SQLITE_CACHE_TTL_MS = 60_000

/** The one place that picks a backend from `session.storage`. */
export async function createSessionStore(session: SessionConfig, secrets: readonly string[], clock: Clock): Promise<SessionStore> {
  if (session.storage === 'cookie') return createCookieStore(sealKeys(deriveKeys(secrets, 'session-cookie-seal')), session.cookie.name, { reuseRenewalMs: session.touch_interval })
  const records = await createRecordStore(session)
  // Memory is a Map already. SQLite gets the read cache too, kept exact across processes by
  // `PRAGMA data_version` and its invalidation log (see sqlite.ts), so its entries may live
  // longer than a network store's; Redis and PostgreSQL keep `cache_ttl` as the bound on top of
  // their pub/sub and LISTEN/NOTIFY invalidations.
  const cacheTtlMs = records.kind === 'memory' ? 0 : records.kind === 'sqlite' && session.cache_ttl > 0 ? Math.max(session.cache_ttl, SQLITE_CACHE_TTL_MS) : session.cache_ttl
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
