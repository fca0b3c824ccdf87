import type { SessionConfig } from '../config/schema.js'
import { createMemorySharedState } from './memory.js'
import { createPostgresSharedState } from './postgres.js'
import { createRedisSharedState } from './redis.js'
import type { SharedState, SharedStateKind } from './shared-state.js'
import { createSqliteSharedState } from './sqlite.js'

/**
 * The shared state beside the sessions: in the session store's backend, so that every gateway
 * and worker sharing the sessions shares it too. Cookie storage keeps no sessions server side;
 * it uses `kind` (from `session.revocation.storage`, sqlite by default) with the same settings.
 */
export async function createSharedState(session: SessionConfig, kind?: SharedStateKind): Promise<SharedState> {
  const backend: SharedStateKind = kind ?? (session.storage === 'cookie' ? 'sqlite' : session.storage)
  switch (backend) {
    case 'memory':
      return createMemorySharedState()
    case 'sqlite':
      return createSqliteSharedState(session.sqlite.path)
    case 'redis':
      return createRedisSharedState(session.redis)
    case 'postgres':
      return createPostgresSharedState(session.postgres)
  }
}

export type { Counter, SharedState, SharedStateKind } from './shared-state.js'
