import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BadRequest, RouteNotFound, StorageNotListable } from '../errors.js'
import type { Revocations } from '../session/revocations.js'
import type { Session } from '../session/session.js'
import type { SessionAdmin, SessionFilter } from '../session/store/store.js'
import { audit } from '../telemetry/audit.js'
import type { Logger } from '../telemetry/logger.js'
import { createAdminAccess, type AdminAccessDeps } from './access.js'
import { registerAdminPage } from './page/serve.js'

const invalidateBody = z.discriminatedUnion('match', [
  z.strictObject({ match: z.literal('all') }),
  z.strictObject({
    match: z.literal('query'),
    query: z
      .strictObject({
        provider: z.strictObject({ type: z.string().min(1), name: z.string().min(1).optional() }).optional(),
        username: z.string().min(1).optional(),
      })
      .refine((q) => q.provider !== undefined || q.username !== undefined, { message: 'give provider, username or both' }),
  }),
])

/** The admin view of a session: a non-secret handle, never anything that works as a cookie. */
export function describeForAdmin(session: Session, currentId: string | null) {
  const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString())
  return {
    id: session.id,
    user: session.user,
    roles: session.roles,
    provider: session.provider,
    created_at: iso(session.createdAt),
    last_seen: iso(session.lastSeen),
    idle_expires_at: iso(session.idleExpiresAt),
    lifespan_expires_at: iso(session.lifespanExpiresAt),
    client: { ip: session.client.ip ?? null, user_agent: session.client.userAgent ?? null },
    current: session.id === currentId,
  }
}

/** Kibana's session management API under `<prefix>/admin/`, plus the admin page. */
export interface AdminDeps extends AdminAccessDeps {
  /** `<prefix>/admin`. */
  readonly base: string
  /** Absent on cookie storage. */
  readonly sessions: SessionAdmin | undefined
  /** Cookie storage: `_invalidate` revokes by filter (listing and deleting one stay 501). */
  readonly revocations?: Pick<Revocations, 'revokeMatching'> | undefined
  readonly log: Logger
  readonly pageHeaders: Record<string, string>
  /** The gateway's clock: the listing leaves out sessions expired by then. */
  readonly now: () => number
}

export async function registerAdmin(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { base, log } = deps
  const requireAdmin = createAdminAccess(deps)
  const store = (): SessionAdmin => {
    const admin = deps.sessions
    if (!admin) {
      throw new StorageNotListable('session.storage is "cookie": sessions live only in browsers, so they cannot be listed or revoked one by one (POST _invalidate revokes by user or all)', { reason: 'cookie_storage' })
    }
    return admin
  }

  app.get(`${base}/sessions`, async (request, reply) => {
    const actor = await requireAdmin(request, reply, false)
    const query = request.query as Record<string, string | undefined>
    const limit = query.limit === undefined ? 100 : Number(query.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BadRequest('limit must be an integer from 1 to 1000', { reason: 'bad_limit' })
    const filter = parseProvider(query.provider)
    const page = await store().list({ user: query.username || undefined, provider: filter, limit, cursor: query.cursor || undefined, now: deps.now() })
    audit(log, 'admin_list_sessions', { actor: actor.name, username: query.username ?? null, count: page.sessions.length })
    return reply.header('cache-control', 'no-store').send({ sessions: page.sessions.map((s) => describeForAdmin(s, actor.sessionId)), next_cursor: page.nextCursor })
  })

  app.post(`${base}/sessions/_invalidate`, { bodyLimit: 16 * 1024 }, async (request, reply) => {
    const actor = await requireAdmin(request, reply, true)
    const parsed = invalidateBody.safeParse(request.body)
    if (!parsed.success) {
      throw new BadRequest(`expected {"match":"all"} or {"match":"query","query":{"provider":{"type","name"},"username"}}: ${parsed.error.issues[0]?.message ?? ''}`, { reason: 'bad_invalidate_body' })
    }
    const filter: SessionFilter = parsed.data.match === 'all' ? {} : { user: parsed.data.query.username, provider: parsed.data.query.provider }
    if (!deps.sessions && deps.revocations) {
      // Cookie storage: every matching cookie issued until now is refused from now on; how many exist is unknown.
      const at = deps.now()
      await deps.revocations.revokeMatching(filter, at)
      audit(log, 'admin_invalidate_sessions', { actor: actor.name, match: parsed.data.match, filter, total: null })
      return reply.send({ total: null, revoked_before: new Date(at).toISOString() })
    }
    const total = await store().removeMatching(filter)
    audit(log, 'admin_invalidate_sessions', { actor: actor.name, match: parsed.data.match, filter, total })
    return reply.send({ total })
  })

  app.delete(`${base}/sessions/:id`, async (request, reply) => {
    const actor = await requireAdmin(request, reply, true)
    const { id } = request.params as { id: string }
    if (!/^[0-9a-f]{64}$/.test(id)) throw new RouteNotFound('no such session', { reason: 'unknown_session' })
    const total = await store().remove([id])
    if (total === 0) throw new RouteNotFound('no such session', { reason: 'unknown_session' })
    audit(log, 'admin_delete_session', { actor: actor.name, session: id.slice(0, 12) })
    return reply.send({ total })
  })

  registerAdminPage(app, base, deps.pageHeaders)
}

/** `provider=jwt` or `provider=jwt:issuer-name`. */
function parseProvider(value: string | undefined): SessionFilter['provider'] {
  if (!value) return undefined
  const colon = value.indexOf(':')
  return colon === -1 ? { type: value } : { type: value.slice(0, colon), name: value.slice(colon + 1) }
}
