import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import type { Identity } from '../identity.js'
import type { EndReason, SessionEnds } from './ends.js'
import { evaluate, initialExpiries, nextIdleExpiry, type SessionPolicy } from './policy.js'
import type { Revocations } from './revocations.js'
import { newLoginId, sameLoginAs, type ClientInfo, type Session } from './session.js'
import { encodeCursor } from './store/query.js'
import type { SessionAdmin, SessionStore } from './store/store.js'

export type Resolution =
  | { readonly status: 'none' }
  /** A cookie came, but its session is over (or never existed): why, for the 401 and `Gatehouse-Session-End`. */
  | { readonly status: 'ended'; readonly reason: EndReason }
  | { readonly status: 'valid'; readonly session: Session; readonly token: string; readonly setToken?: string | undefined }

export interface ResolveOptions {
  /** false: a due rolling renewal is deferred (forward-auth); the session is only extended. */
  readonly rotate?: boolean | undefined
  /** true: nothing is written (no touch, no renewal, no re-signing): `GET /session`, which a page may poll. */
  readonly readOnly?: boolean | undefined
}

/**
 * Sessions that follow the user directory (see follow-users.ts): the session as it applies now
 * (roles and e-mail from the directory), or null when its user is gone.
 */
export type FollowUsers = (session: Session) => Session | null

/** What a session ending leaves behind, so a later replay of its cookie is told why. */
export interface EndingDeps {
  /** Tombstones (server-side stores). */
  readonly ends?: SessionEnds | undefined
  /** Revocations of cookie-storage sessions (absent for server-side stores). */
  readonly revocations?: Revocations | undefined
  readonly follow?: FollowUsers | undefined
}

export interface SessionEvents {
  evicted?(session: Session, by: Session): void
  renewed?(previous: Session, next: Session): void
  expired?(session: Session, reason: string): void
}

export function policyFromConfig(config: Config): SessionPolicy {
  return {
    idleTimeout: config.session.idle_timeout,
    lifespan: config.session.lifespan,
    rollingTimeout: config.session.rolling_timeout,
    touchInterval: config.session.touch_interval,
    rotationGrace: config.session.rotation_grace,
  }
}

/**
 * The only session API the server calls: resolve a cookie, start a session at login, end it at
 * logout. It applies the policy (idle, lifespan, rolling renewal) the same way for every store.
 */
export class SessionManager {
  readonly store: SessionStore
  readonly policy: SessionPolicy
  readonly #clock: Clock
  readonly #maxSessions: number | undefined
  /** `session.remember_me.lifespan` when remember-me is enabled; null otherwise. */
  readonly #rememberLifespan: number | null
  readonly #events: SessionEvents
  readonly #ending: EndingDeps
  /** Renewals in flight, by session id: parallel requests of one page share one new id. */
  readonly #renewing = new Map<string, Promise<{ session: Session; token: string } | null>>()

  constructor(options: { store: SessionStore; policy: SessionPolicy; clock: Clock; maxSessions?: number | undefined; rememberLifespan?: number | null | undefined; events?: SessionEvents; ending?: EndingDeps }) {
    this.store = options.store
    this.policy = options.policy
    this.#clock = options.clock
    this.#maxSessions = options.maxSessions
    this.#rememberLifespan = options.rememberLifespan ?? null
    this.#events = options.events ?? {}
    this.#ending = options.ending ?? {}
  }

  /**
   * Cookie value → live session. Throws StoreUnavailable when the store cannot answer.
   * `rotate: false` (forward-auth checks, whose Set-Cookie no proxy reliably passes to the
   * browser): a due rolling renewal is deferred — the session is extended server side as on a
   * touch, and the id is replaced on the next request that reaches the gateway itself.
   */
  async resolve(token: string | undefined, options: ResolveOptions = {}): Promise<Resolution> {
    if (!token) return { status: 'none' }
    const loaded = await this.store.load(token)
    const now = this.#clock.now()
    if (!loaded) return { status: 'ended', reason: await this.#whyGone(token, now) }
    const verdict = evaluate(loaded.session, now, this.policy)
    if (!verdict.valid) {
      if (verdict.reason !== 'replaced') this.#events.expired?.(loaded.session, verdict.reason)
      await this.store.destroy(token, loaded.session)
      return { status: 'ended', reason: 'session_expired' }
    }
    // Cookie storage: the session lives in the cookie, so a revocation is looked up (cached, see revocations.ts).
    if (this.#ending.revocations && (await this.#ending.revocations.isRevoked(loaded.session, now))) {
      await this.store.destroy(token, loaded.session)
      return { status: 'ended', reason: 'session_revoked' }
    }
    const session = this.#ending.follow ? this.#ending.follow(loaded.session) : loaded.session
    if (!session) {
      // Its user was removed from the directory.
      await this.#endLogin(token, loaded.session, now)
      return { status: 'ended', reason: 'session_revoked' }
    }
    if (options.readOnly) return { status: 'valid', session, token }
    if (verdict.rotate && options.rotate !== false) {
      const rotated = await this.#renew(token, session, now)
      if (rotated) return { status: 'valid', session: { ...rotated.session }, token: rotated.token, setToken: rotated.token }
      // Ended (logout racing this renewal) or renewed by another process meanwhile.
      if (!(await this.store.load(token))) return { status: 'ended', reason: await this.#whyGone(token, now) }
      return { status: 'valid', session, token }
    }
    // A deferred renewal still extends the idle expiry, at most once per touch interval.
    if (verdict.touch || loaded.reissue) {
      session.lastSeen = now
      session.idleExpiresAt = nextIdleExpiry(now, this.policy)
      const reissued = await this.store.touch(token, session)
      return { status: 'valid', session, token: reissued ?? token, setToken: reissued ?? undefined }
    }
    return { status: 'valid', session, token }
  }

  /** Why a cookie finds no record: a tombstone, else expired if the gateway issued it (cleanup or a TTL removed it), else unknown. */
  async #whyGone(token: string, now: number): Promise<EndReason> {
    const id = this.store.recordId(token)
    if (id === null) return 'unknown_session'
    return (await this.#ending.ends?.recorded(id, now)) ?? 'session_expired'
  }

  #renew(token: string, session: Session, now: number): Promise<{ session: Session; token: string } | null> {
    const inFlight = this.#renewing.get(session.id)
    if (inFlight) return inFlight
    const next: Omit<Session, 'id'> = {
      ...withoutId(session),
      lastSeen: now,
      idleExpiresAt: nextIdleExpiry(now, this.policy),
      renewedAt: now,
    }
    const renewal = this.store
      .rotate(token, session, next, now + this.policy.rotationGrace)
      .then((rotated) => {
        if (rotated) this.#events.renewed?.(session, rotated.session)
        return rotated
      })
      .finally(() => this.#renewing.delete(session.id))
    this.#renewing.set(session.id, renewal)
    return renewal
  }

  /**
   * A fresh session (fresh id, never one the client sent) for a verified identity. `remember`
   * (with remember-me enabled) is recorded in the session, so every renewal keeps its choice.
   */
  async start(identity: Identity, client: ClientInfo, replacing?: string, options: { readonly remember?: boolean | undefined } = {}): Promise<{ session: Session; token: string }> {
    const now = this.#clock.now()
    if (replacing) await this.end(replacing).catch(() => undefined)
    const created = await this.store.create(
      {
        user: identity.user,
        roles: [...identity.roles],
        email: identity.email,
        provider: { ...identity.provider },
        createdAt: now,
        lastSeen: now,
        renewedAt: now,
        ...initialExpiries(now, this.policy, identity.notAfter),
        client: { ip: client.ip, userAgent: client.userAgent?.slice(0, 512) },
        data: identity.data,
        ...(options.remember && this.#rememberLifespan !== null ? { remember: true } : {}),
        login: newLoginId(),
      },
      { maxSessions: this.#maxSessions, now },
    )
    for (const old of created.evicted) this.#events.evicted?.(old, created.session)
    if (created.evicted.length > 0) await this.#ending.ends?.record(created.evicted, 'session_evicted', now)
    return { session: created.session, token: created.token }
  }

  /** Ends the login behind a cookie, if any (logout): see #endLogin. Returns the ended session. */
  async end(token: string | undefined): Promise<Session | null> {
    if (!token) return null
    const loaded = await this.store.load(token)
    if (!loaded) return null
    await this.#endLogin(token, loaded.session, this.#clock.now())
    return loaded.session
  }

  /**
   * Ends a login for good: the session, the other id of its rotation pair (the id it replaced,
   * still in its grace, or its successor), tombstones saying `session_revoked`, and on cookie
   * storage a revocation of every cookie of that login. A renewal racing this cannot leave a
   * successor behind: the store refuses to replace a removed record.
   */
  async #endLogin(token: string, session: Session, now: number): Promise<void> {
    await this.store.destroy(token, session)
    const admin = this.store.admin
    const pair = admin ? await sameLogin(admin, session, now) : []
    if (pair.length > 0) await admin!.remove(pair.map((s) => s.id))
    await this.#ending.ends?.record([session, ...pair], 'session_revoked', now)
    await this.#ending.revocations?.revokeLogins([session], now)
  }

  /**
   * Max-Age for the cookie; null = a browser-session cookie (no Max-Age: it ends with the browser).
   * Only a remembered session's cookie persists: until its lifespan ends or `remember_me.lifespan`
   * after sign-in, whichever comes first (remember-me never outlives the session; idle expiry is
   * enforced server side either way). A session remembered before remember-me was turned off
   * gets browser-session cookies from then on.
   */
  cookieMaxAge(session: Session): number | null {
    if (!session.remember || this.#rememberLifespan === null) return null
    const remembered = session.createdAt + this.#rememberLifespan
    const until = session.lifespanExpiresAt === null ? remembered : Math.min(session.lifespanExpiresAt, remembered)
    return until - this.#clock.now()
  }
}

/**
 * The other records of the login behind `session`: rolling renewal copies user, provider and
 * creation time to the new id, so they are the user's sessions created at that same instant.
 */
export async function sameLogin(admin: SessionAdmin, session: Session, now: number): Promise<Session[]> {
  // Listing is ordered by (createdAt, id): start just before this creation time.
  const cursor = encodeCursor({ createdAt: Math.max(0, session.createdAt - 1), id: 'f'.repeat(64) })
  const page = await admin.list({ user: session.user, provider: session.provider, limit: 20, cursor, now })
  return page.sessions.filter((s) => s.createdAt === session.createdAt && s.id !== session.id && sameLoginAs(s, session))
}

function withoutId(session: Session): Omit<Session, 'id'> {
  const { id: _id, graceUntil: _grace, ...rest } = session
  return rest
}
