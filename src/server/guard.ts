import type { Authenticator } from '../auth/authenticator.js'
import { createAuthenticators } from '../auth/index.js'
import type { LoginLimiter } from '../auth/login-limit.js'
import type { Oidc } from '../oidc/index.js'
import { withOidcSessions } from '../oidc/session-check.js'
import { absolute, gatewayOrigin } from '../oidc/urls.js'
import type { UserDirectory } from '../auth/users.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import { consumedCredentials, type ConsumedCredentials } from '../pipeline/credentials.js'
import { createIdentify, type Identify } from '../pipeline/identify.js'
import { createLogout, type Logout } from '../pipeline/logout.js'
import { createPipeline, type Pipeline } from '../pipeline/pipeline.js'
import { createRedirectPolicy, type RedirectPolicy } from '../pipeline/redirect-policy.js'
import { createRouter } from '../pipeline/router.js'
import { BrowserSessions } from '../session/browser-sessions.js'
import { SessionManager, policyFromConfig, type EndingDeps } from '../session/manager.js'
import type { SessionAdmin, SessionStore } from '../session/store/store.js'
import { audit } from '../telemetry/audit.js'
import type { Logger } from '../telemetry/logger.js'
import type { Metrics } from '../telemetry/metrics.js'

/** Everything that decides about a request, wired from the config; no HTTP server involved. */
export interface Guard {
  readonly sessions: BrowserSessions
  readonly authenticators: readonly Authenticator[]
  readonly consumed: ConsumedCredentials
  readonly redirects: RedirectPolicy
  readonly identify: Identify
  readonly logout: Logout
  readonly pipeline: Pipeline
}

export interface GuardDeps {
  readonly store: SessionStore
  readonly users: UserDirectory
  readonly clock: Clock
  readonly log: Logger
  readonly metrics: Metrics
  /** Injected by tests; otherwise built from `auth`. */
  readonly authenticators?: readonly Authenticator[] | undefined
  /** `auth.login_limit`, for the Basic and external Basic authenticators built here. */
  readonly loginLimiter?: LoginLimiter | undefined
  /** Session ends: tombstones, cookie-storage revocations, following the user directory. */
  readonly ending?: EndingDeps | undefined
  /** The store's admin operations leaving tombstones (logout by token); default `store.admin`. */
  readonly sessionAdmin?: SessionAdmin | undefined
  /** `auth.oidc` when configured: OIDC sessions are checked (refresh, provider logout) and logged out at the provider. */
  readonly oidc?: Oidc | null | undefined
}

/** Wires sessions, authenticators, logout and the pipeline from the config, with audit lines and metrics for their events. */
export function buildGuard(config: Config, deps: GuardDeps): Guard {
  const { store, clock, log, metrics } = deps
  const manager = new SessionManager({
    store,
    policy: policyFromConfig(config),
    clock,
    maxSessions: config.session.max_sessions,
    rememberLifespan: config.session.remember_me.enabled ? config.session.remember_me.lifespan : null,
    ending: deps.ending,
    events: {
      evicted: (old) => (metrics.sessionEvents.inc({ event: 'evicted' }), audit(log, 'session_evicted', { user: old.user, session: old.id.slice(0, 12) }, 'oldest session evicted by max_sessions')),
      renewed: (previous, next) => (metrics.sessionEvents.inc({ event: 'renewed' }), audit(log, 'session_renewed', { user: previous.user, session: previous.id.slice(0, 12), new_session: next.id.slice(0, 12) }, 'session id renewed')),
      expired: (session, reason) => (metrics.sessionEvents.inc({ event: 'expired' }), log.debug({ event: 'session_expired', user: session.user, reason }, 'session expired')),
    },
  })
  const sessions = new BrowserSessions(manager, config.session.cookie, { publicUrl: config.public_url })
  const authenticators = deps.authenticators ?? createAuthenticators(config, deps.users, clock, deps.loginLimiter)
  const consumed = consumedCredentials(authenticators, sessions)
  const redirects = createRedirectPolicy(config.public_url, config.session.allowed_redirect_hosts)
  const identifyAny = createIdentify({
    sessions,
    authenticators,
    onSessionStarted: (identity, session, request) => {
      metrics.sessionEvents.inc({ event: 'created' })
      audit(log, 'login_success', { provider: identity.provider.type, user: identity.user, session: session.id.slice(0, 12), ip: request.ip }, 'login')
    },
    onRejected: (authenticator, error, request) =>
      log.info({ event: 'auth_rejected', authenticator: authenticator.name, reason: error.reason ?? error.code, ip: request.ip }, 'credential rejected'),
  })
  const oidc = deps.oidc ?? null
  const identify = oidc ? withOidcSessions(identifyAny, oidc.logins, sessions, log) : identifyAny
  const logout = createLogout({
    settings: config.session.logout,
    sessions,
    jwt: authenticators.find((a) => a.name === 'jwt'),
    admin: deps.sessionAdmin ?? store.admin,
    redirects,
    loginPath: `${config.endpoints.prefix}/login`,
    onLogout: (event) => (metrics.sessionEvents.inc({ event: 'logout' }), audit(log, 'logout', event, 'logout')),
    providerLogout: oidc ? (session, next, request) => oidc.afterLogout(session, absolute(next, gatewayOrigin(config.public_url, request.headers))) : undefined,
  })
  const pipeline = createPipeline({ router: createRouter(config), identify, isLogout: logout.isTriggeredBy, withoutQueryCredentials: consumed.withoutQueryCredentials })
  return { sessions, authenticators, consumed, redirects, identify, logout, pipeline }
}
