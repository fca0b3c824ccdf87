import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance } from 'fastify'
import { registerAdmin } from '../admin/routes.js'
import type { Authenticator } from '../auth/authenticator.js'
import { createIdentityTokenSigner } from '../auth/jwt-sign.js'
import { createOidc } from '../oidc/index.js'
import { startStateCleanup } from '../oidc/state-cleanup.js'
import { createUserDirectory, type UserDirectory } from '../auth/users.js'
import { systemClock, type Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import { frameAncestorsDirective, pageSecurityHeaders } from '../http/page-headers.js'
import { underPrefix } from '../http/paths.js'
import { createTrustedProxies, FORWARDING_HEADERS } from '../http/trusted-proxies.js'
import { pathOf } from '../http/request-view.js'
import { createForwardAuthHandler } from '../proxy/forward-auth.js'
import { createProxyHandler } from '../proxy/handler.js'
import { createHeaderRewriter } from '../proxy/identity-headers.js'
import { createUpstreamPools } from '../proxy/upstream-pool.js'
import { createWebSockets } from '../proxy/websocket.js'
import { startCleanup } from '../session/cleanup.js'
import { createSessionLiveness } from '../session/liveness.js'
import { policyFromConfig } from '../session/manager.js'
import { createSessionStore } from '../session/store/index.js'
import { createSharedState } from '../state/index.js'
import type { SessionStore } from '../session/store/store.js'
import { createLogger, type Logger } from '../telemetry/logger.js'
import { createMetrics, type Metrics } from '../telemetry/metrics.js'
import { createRequestLog } from '../telemetry/request-log.js'
import { StoreHealth } from '../telemetry/store-health.js'
import { installErrorHandler } from './error-handler.js'
import { buildGuard } from './guard.js'
import { registerHealthRoutes } from './routes/health.js'
import { registerLoginRoutes } from './routes/login.js'
import { registerLogoutRoutes } from './routes/logout.js'
import { registerOidcRoutes } from './routes/oidc.js'
import { registerSessionRoutes } from './routes/session.js'

const KEEP_ALIVE_TIMEOUT_MS = 75_000

export interface GatewayDeps {
  clock?: Clock
  logger?: Logger
  /** Injected by tests (e.g. a store that fails); otherwise built from `session.storage`. */
  store?: SessionStore
  users?: UserDirectory
  authenticators?: Authenticator[]
  /** Whether this process deletes expired sessions (default true; with workers, only slot 0 does). */
  runCleanup?: boolean
}

export interface Gateway {
  /** Serves the gateway's own endpoints; its server also carries the proxy (see buildGateway). */
  readonly app: FastifyInstance
  readonly config: Config
  readonly log: Logger
  readonly store: SessionStore
  readonly metrics: Metrics
  /** Stops accepting, lets requests in flight finish, then stops timers, upstream pools and the store. */
  close(): Promise<void>
}

/**
 * Builds the whole gateway without listening: config in, one HTTP server out. The composition
 * root: every module gets only what it uses.
 *
 * Proxied requests — the hot path — go from node:http straight into the pipeline and an undici
 * pool; only the gateway's own endpoints (under `endpoints.prefix`, and the logout path) go
 * through Fastify, whose routing, hooks and reply objects the proxy does not pay for.
 */
export async function buildGateway(config: Config, deps: GatewayDeps = {}): Promise<Gateway> {
  const clock = deps.clock ?? systemClock
  const log = deps.logger ?? createLogger(config.log.level)
  const users = deps.users ?? (await createUserDirectory(config))
  const store = deps.store ?? (await createSessionStore(config.session, config.secrets, clock))
  const metrics = createMetrics()
  const storeHealth = new StoreHealth(log)
  const prefix = config.endpoints.prefix
  // OIDC (auth.oidc): tokens and replay checks in the shared state beside the sessions.
  const oidcState = config.auth.oidc.length > 0 ? await createSharedState(config.session) : null
  const oidc = oidcState ? await createOidc(config, { state: oidcState, admin: store.admin, clock, log }) : null
  const { sessions, consumed, redirects, identify, logout, pipeline } = buildGuard(config, { store, users, clock, log, metrics, authenticators: deps.authenticators, oidc })
  // Signed-out browsers go to the login page when it has something to offer: the form or a provider.
  const hasLoginPage = config.auth.form.enabled || config.auth.oidc.length > 0

  const identityTokens = await createIdentityTokenSigner(config, clock)
  const basicChallenge = config.auth.basic.enabled || config.auth.external_basic ? `Basic realm="${config.auth.basic.realm}", charset="UTF-8"` : undefined
  const frameAncestors = frameAncestorsDirective(config.endpoints.frame_ancestors)
  const loginPath = `${prefix}/login`
  const logoutPath = config.session.logout.path ?? `${prefix}/logout`
  const upstreams = createUpstreamPools()
  const requestLog = createRequestLog(log, metrics)
  const trusted = createTrustedProxies(config.trusted_proxies)
  const rewriter = createHeaderRewriter(config.identity_headers, consumed)
  const proxy = createProxyHandler({
    pipeline,
    logout,
    consumed,
    rewriter,
    upstreams,
    identityTokens,
    loginPath: hasLoginPage ? loginPath : null,
    basicChallenge,
    frameAncestors: config.endpoints.frame_ancestors_on_proxied ? frameAncestors : undefined,
    logoutPostArg: config.session.logout.post_arg,
    trusted,
    requestLog,
    storeHealth,
    log,
  })

  const forwardAuth = createForwardAuthHandler({
    pipeline,
    logout,
    identityHeaders: config.identity_headers,
    basicChallenge,
    requestLog,
    storeHealth,
    log,
    trusted,
    loginUrl: hasLoginPage ? (config.public_url ? new URL(loginPath, config.public_url).href : loginPath) : null,
    withoutQueryCredentials: consumed.withoutQueryCredentials,
    signInQueryParams: (config.auth.jwt?.sources ?? []).flatMap((source) => (source.startsWith('query:') ? [source.slice(6)] : [])),
  })
  const forwardAuthPaths = new Set([`${prefix}/auth`, `${prefix}/forward-auth`])

  const isGatewayEndpoint = (path: string): boolean => underPrefix(path, prefix) || path === logoutPath
  let closing = false
  let serveAsRequest: (req: IncomingMessage, res: ServerResponse) => void = () => undefined
  const websockets = createWebSockets({
    pipeline,
    logout,
    consumed,
    rewriter,
    identityTokens,
    basicChallenge,
    storeHealth,
    log,
    trusted,
    requestLog,
    liveness: createSessionLiveness(store.admin, policyFromConfig(config), clock),
    checkInterval: config.session.touch_interval,
    isGatewayEndpoint,
    serveAsRequest: (req, res) => serveAsRequest(req, res),
  })
  const app = Fastify({
    // Gatehouse writes its own one-line-per-request log (createRequestLog) with its own pino.
    logger: false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    requestIdHeader: false,
    // request.ip / protocol / hostname from X-Forwarded-* only when the peer is in `trusted_proxies`.
    trustProxy: (address: string) => trusted.trusts(address),
    serverFactory: (fastifyHandler) => {
      serveAsRequest = (req: IncomingMessage, res: ServerResponse) => {
        // Draining: answer what is in flight, then let the client reconnect elsewhere.
        if (closing) res.shouldKeepAlive = false
        // X-Forwarded-* and the forward-auth headers are believed only from `trusted_proxies`:
        // from anyone else they are dropped here, before any part of the gateway reads them.
        if (!trusted.trusts(req.socket.remoteAddress)) for (const name of FORWARDING_HEADERS) if (req.headers[name] !== undefined) delete req.headers[name]
        const path = pathOf(req.url ?? '/')
        if (forwardAuthPaths.has(path)) forwardAuth(req, res)
        else if (isGatewayEndpoint(path)) fastifyHandler(req, res)
        else proxy(req, res)
      }
      const server = createServer(serveAsRequest)
      server.on('upgrade', websockets.upgrade)
      // Longer than the idle timeout of the proxies in front (nginx keeps upstream connections
      // 60 s): a connection they believe open must not have been closed here (Node's default is 5 s).
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
      server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5_000
      return server
    },
  })
  installErrorHandler(app, log, storeHealth, basicChallenge, { headers: pageSecurityHeaders(frameAncestors), loginPath: hasLoginPage ? loginPath : null })
  app.addHook('onResponse', async (request, reply) => {
    requestLog('gateway', request.method, pathOf(request.url), reply.statusCode, reply.elapsedTime, null)
  })
  await app.register(formbody, { bodyLimit: 16 * 1024 })

  const pageHeaders = pageSecurityHeaders(frameAncestors)
  const providers = config.auth.oidc.map((provider) => ({ name: provider.name, href: `${prefix}/oidc/${provider.name}/login` }))
  registerLoginRoutes(app, { path: loginPath, formEnabled: config.auth.form.enabled, users, sessions, redirects, pageHeaders, log, metrics, storeHealth, providers })
  if (oidc) registerOidcRoutes(app, { prefix, publicUrl: config.public_url, oidc, sessions, redirects, log, metrics, storeHealth })
  registerLogoutRoutes(app, { path: logoutPath, methods: config.session.logout.methods, logout, redirects })
  registerSessionRoutes(app, { prefix, identify })
  registerHealthRoutes(app, { prefix, store, storeHealth, metrics, identityTokens })
  await registerAdmin(app, {
    base: `${prefix}/admin`,
    token: config.admin.token,
    roles: config.admin.roles,
    identify,
    redirects,
    sessions: store.admin,
    log,
    pageHeaders: pageSecurityHeaders(frameAncestors, { scripts: true }),
  })

  const cleanup = deps.runCleanup === false ? { stop() {} } : startCleanup(store, config.session.cleanup_interval, clock, log)
  const oidcCleanup = oidcState && deps.runCleanup !== false ? startStateCleanup(oidcState, config.session.cleanup_interval, clock, log) : null
  let closed: Promise<void> | undefined
  return {
    app,
    config,
    log,
    store,
    metrics,
    close() {
      closed ??= (async () => {
        closing = true
        cleanup.stop()
        oidcCleanup?.stop()
        websockets.close()
        // Fastify stops the listener and closes idle keep-alive sockets; requests in flight finish first.
        await app.close()
        await upstreams.close()
        await store.close()
        await oidcState?.close()
      })()
      return closed
    },
  }
}
