import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import type { Identity } from '../identity.js'
import { evaluate, initialExpiries, nextIdleExpiry, type SessionPolicy } from './policy.js'
import type { ClientInfo, Session } from './session.js'
import type { SessionStore } from './store/store.js'

export type Resolution =
  | { readonly status: 'none' }
  | { readonly status: 'expired'; readonly reason: string }
  | { readonly status: 'valid'; readonly session: Session; readonly token: string; readonly setToken?: string | undefined }

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
  /** Renewals in flight, by session id: parallel requests of one page share one new id. */
  readonly #renewing = new Map<string, Promise<{ session: Session; token: string }>>()

  constructor(options: { store: SessionStore; policy: SessionPolicy; clock: Clock; maxSessions?: number | undefined; rememberLifespan?: number | null | undefined; events?: SessionEvents }) {
    this.store = options.store
    this.policy = options.policy
    this.#clock = options.clock
    this.#maxSessions = options.maxSessions
    this.#rememberLifespan = options.rememberLifespan ?? null
    this.#events = options.events ?? {}
  }

  /**
   * Cookie value → live session. Throws StoreUnavailable when the store cannot answer.
   * `rotate: false` (forward-auth checks, whose Set-Cookie no proxy reliably passes to the
   * browser): a due rolling renewal is deferred — the session is extended server side as on a
   * touch, and the id is replaced on the next request that reaches the gateway itself.
   */
  async resolve(token: string | undefined, options: { readonly rotate?: boolean } = {}): Promise<Resolution> {
    if (!token) return { status: 'none' }
    const loaded = await this.store.load(token)
    if (!loaded) return { status: 'none' }
    const { session } = loaded
    const now = this.#clock.now()
    const verdict = evaluate(session, now, this.policy)
    if (!verdict.valid) {
      if (verdict.reason !== 'replaced') this.#events.expired?.(session, verdict.reason)
      await this.store.destroy(token, session)
      return { status: 'expired', reason: verdict.reason }
    }
    if (verdict.rotate && options.rotate !== false) {
      const rotated = await this.#renew(token, session, now)
      return { status: 'valid', session: { ...rotated.session }, token: rotated.token, setToken: rotated.token }
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

  #renew(token: string, session: Session, now: number): Promise<{ session: Session; token: string }> {
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
        this.#events.renewed?.(session, rotated.session)
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
      },
      { maxSessions: this.#maxSessions, now },
    )
    for (const old of created.evicted) this.#events.evicted?.(old, created.session)
    return { session: created.session, token: created.token }
  }

  /** Destroys the session behind a cookie, if any. Returns the ended session. */
  async end(token: string | undefined): Promise<Session | null> {
    if (!token) return null
    const loaded = await this.store.load(token)
    if (!loaded) return null
    await this.store.destroy(token, loaded.session)
    return loaded.session
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

function withoutId(session: Session): Omit<Session, 'id'> {
  const { id: _id, graceUntil: _grace, ...rest } = session
  return rest
}
