import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance } from 'fastify'
import { createAuthenticators } from '../auth/index.js'
import { createIdentityTokenSigner } from '../auth/jwt-sign.js'
import type { Authenticator } from '../auth/authenticator.js'
import { createUserDirectory, type UserDirectory } from '../auth/users.js'
import { systemClock, type Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import { createHeaderRewriter } from '../proxy/identity-headers.js'
import { registerProxy } from '../proxy/forward.js'
import { createRouter } from '../proxy/rules.js'
import { startCleanup } from '../session/cleanup.js'
import { SessionManager, policyFromConfig } from '../session/manager.js'
import { createSessionStore } from '../session/store/index.js'
import type { SessionStore } from '../session/store/store.js'
import { audit } from './audit.js'
import { createAuthentication } from './authenticate.js'
import { pathOf, type GatewayContext } from './context.js'
import { StoreHealth, installErrorHandler } from './error-handler.js'
import { createLogger, type Logger } from './logger.js'
import { createMetrics } from './metrics.js'
import { registerHealthRoutes } from './routes/health.js'
import { registerLoginRoutes } from './routes/login.js'
import { createLogout } from './logout.js'
import { registerLogoutRoutes } from './routes/logout.js'
import { registerAdmin } from '../admin/routes.js'
import { registerSessionRoutes } from './routes/session.js'

export interface GatewayDeps {
  clock?: Clock
  logger?: Logger
  /** Injected by tests (e.g. a store that fails); otherwise built from `session.storage`. */
  store?: SessionStore
  users?: UserDirectory
  authenticators?: Authenticator[]
}

export interface Gateway {
  readonly app: FastifyInstance
  readonly context: GatewayContext
  /** Stops timers, the HTTP server and the store. */
  close(): Promise<void>
}

/** Builds the whole gateway without listening: config in, Fastify instance out. */
export async function buildGateway(config: Config, deps: GatewayDeps = {}): Promise<Gateway> {
  const clock = deps.clock ?? systemClock
  const log = deps.logger ?? createLogger(config.log.level)
  const users = deps.users ?? (await createUserDirectory(config))
  const store = deps.store ?? (await createSessionStore(config.session, config.secrets, clock))
  const metrics = createMetrics()
  const manager = new SessionManager({
    store,
    policy: policyFromConfig(config),
    clock,
    maxSessions: config.session.max_sessions,
    events: {
      evicted: (old) => (metrics.sessionEvents.inc({ event: 'evicted' }), audit(log, 'session_evicted', { user: old.user, session: old.id.slice(0, 12) }, 'oldest session evicted by max_sessions')),
      renewed: (previous, next) => (metrics.sessionEvents.inc({ event: 'renewed' }), audit(log, 'session_renewed', { user: previous.user, session: previous.id.slice(0, 12), new_session: next.id.slice(0, 12) }, 'session id renewed')),
      expired: (session, reason) => (metrics.sessionEvents.inc({ event: 'expired' }), log.debug({ event: 'session_expired', user: session.user, reason }, 'session expired')),
    },
  })
  const context: GatewayContext = {
    config,
    clock,
    log,
    manager,
    users,
    authenticators: deps.authenticators ?? createAuthenticators(config, users, clock),
    router: createRouter(config),
    headers: createHeaderRewriter(config),
    metrics,
    storeHealth: new StoreHealth(log),
    prefix: config.endpoints.prefix,
    identityTokens: await createIdentityTokenSigner(config, clock),
  }

  const app = Fastify({
    // Gatehouse writes its own one-line-per-request log (installRequestLog) with its own pino.
    logger: false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    requestIdHeader: false,
  })
  app.decorateRequest('caller', null)
  installErrorHandler(app, log, context.storeHealth, basicChallenge(config))
  installRequestLog(app, context)
  await app.register(formbody, { bodyLimit: 16 * 1024 })

  const auth = createAuthentication(context)
  const logout = createLogout(context)
  registerLoginRoutes(app, context)
  registerLogoutRoutes(app, context, logout)
  registerSessionRoutes(app, context, auth)
  registerHealthRoutes(app, context)
  await registerAdmin(app, context, auth)
  await registerProxy(app, context, auth, logout)

  const cleanup = startCleanup(store, config.session.cleanup_interval, clock, log)
  let closed = false
  return {
    app,
    context,
    async close() {
      if (closed) return
      closed = true
      cleanup.stop()
      await app.close()
      await store.close()
    },
  }
}

/** `WWW-Authenticate` for 401 answers when Basic (internal or external) is on. */
function basicChallenge(config: Config): string | undefined {
  return config.auth.basic.enabled || config.auth.external_basic ? `Basic realm="${config.auth.basic.realm}", charset="UTF-8"` : undefined
}

/** One line per request: method, path (never the query), status, duration, user. */
function installRequestLog(app: FastifyInstance, ctx: GatewayContext): void {
  app.addHook('onResponse', async (request, reply) => {
    const path = pathOf(request.url)
    const kind = path.startsWith(ctx.prefix) ? 'gateway' : 'proxy'
    const seconds = reply.elapsedTime / 1000
    ctx.metrics.requests.inc({ kind, status: `${Math.floor(reply.statusCode / 100)}xx` })
    ctx.metrics.duration.observe({ kind }, seconds)
    ctx.log.info(
      { method: request.method, path: path.slice(0, 512), status: reply.statusCode, duration_ms: Math.round(reply.elapsedTime * 100) / 100, user: request.caller?.identity.user ?? null },
      'request',
    )
  })
}
