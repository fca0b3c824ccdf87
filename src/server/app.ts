import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance } from 'fastify'
import { registerAdmin } from '../admin/routes.js'
import type { Authenticator } from '../auth/authenticator.js'
import { createIdentityTokenSigner, type IdentityTokenSigner } from '../auth/jwt-sign.js'
import { createLoginLimiter, UNLIMITED } from '../auth/login-limit.js'
import { createOidc } from '../oidc/index.js'
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
import type { SessionAdmin, SessionStore } from '../session/store/store.js'
import { createSessionEnds } from '../session/ends.js'
import type { Session } from '../session/session.js'
import { createEndingAdmin } from '../session/ending-admin.js'
import { createUserFollower, type UserFollower } from '../session/follow-users.js'
import { createChangeSignal } from '../session/revocation-signal.js'
import { createRevocations, type Revocations } from '../session/revocations.js'
import { createSharedState, type SharedState } from '../state/index.js'
import { startStateCleanup } from '../state/cleanup.js'
import { audit } from '../telemetry/audit.js'
import { createLogger, type Logger } from '../telemetry/logger.js'
import { createMetrics, type Metrics } from '../telemetry/metrics.js'
import { createRequestLog } from '../telemetry/request-log.js'
import { StoreHealth } from '../telemetry/store-health.js'
import { installErrorHandler } from './error-handler.js'
import { applyTls, createListener, readTls, type Listener } from './listener.js'
import { collectProblems, keepRestartSettings } from './reload.js'
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
  /** Injected by tests; otherwise beside the sessions (cookie storage: `session.revocation.storage`): login counters, tombstones, revocations. */
  sharedState?: SharedState
}

export interface Gateway {
  /** Serves the gateway's own endpoints (the current one: a reload builds a new app). */
  readonly app: FastifyInstance
  /** The running config (after a reload, the new one). */
  readonly config: Config
  readonly log: Logger
  readonly store: SessionStore
  readonly metrics: Metrics
  /** The node:http (or node:https, with `tls`) server; it outlives reloads. */
  readonly server: Listener
  /** Starts listening; resolves with the URL. */
  listen(options: { host: string; port: number }): Promise<string>
  /**
   * Applies a new config without dropping connections or sessions: everything built from the
   * config is built anew and swapped in; the server, the session store and open WebSocket
   * tunnels stay. Throws ConfigInvalid listing every problem (the running config stays);
   * resolves with the settings that need a restart (kept at their old values).
   */
  reload(next: Config): Promise<{ needsRestart: string[] }>
  /**
   * Sessions follow this user directory from the next request on (reload: `users` or
   * `users.file` changed): new roles and e-mail apply, sessions of removed users end
   * (`session_revoked`). Resolves to how many stored sessions it ended.
   */
  applyUsers(users: UserDirectory): Promise<number>
  /** Stops accepting, lets requests in flight finish, then stops timers, upstream pools and the store. */
  close(): Promise<void>
}

/** What one config builds: everything a reload replaces. */
interface Handlers {
  readonly config: Config
  readonly app: FastifyInstance
  readonly users: UserDirectory
  readonly identityTokens: IdentityTokenSigner | null
  readonly serve: (req: IncomingMessage, res: ServerResponse) => void
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
  readonly websockets: { close(): void; readonly open: number }
  /** OIDC logins (null without `auth.oidc`): sessions the admin ends have their tokens forgotten here. */
  readonly oidcLogins: { forgetEnded(sessions: readonly Session[]): Promise<void> } | null
}

/** What outlives a reload: built once, shared by every generation of handlers. */
interface Shell {
  readonly clock: Clock
  readonly log: Logger
  readonly store: SessionStore
  /** Counters and small values shared with every gateway and worker on the store (login limits, session ends). */
  readonly sharedState: SharedState
  /** Session ends: tombstones (server-side), revocations (cookie storage), following the user directory. */
  readonly ending: { readonly ends: ReturnType<typeof createSessionEnds> | undefined; readonly revocations: Revocations | undefined; readonly follow: UserFollower['follow'] }
  /** The store's admin operations, leaving tombstones (undefined on cookie storage). */
  readonly sessionAdmin: SessionAdmin | undefined
  readonly metrics: Metrics
  readonly storeHealth: StoreHealth
  readonly upstreams: ReturnType<typeof createUpstreamPools>
  readonly requestLog: ReturnType<typeof createRequestLog>
  /** The server's request listener (for WebSocket upgrades that are served as plain requests). */
  readonly serveAsRequest: (req: IncomingMessage, res: ServerResponse) => void
}

/**
 * Builds the whole gateway without listening: config in, one HTTP server out. The composition
 * root: every module gets only what it uses. What outlives a reload (the server, the session
 * store, metrics, upstream pools) is built here once; everything else in buildHandlers, per config.
 */
export async function buildGateway(config: Config, deps: GatewayDeps = {}): Promise<Gateway> {
  const clock = deps.clock ?? systemClock
  const log = deps.logger ?? createLogger(config.log.level)
  const tls = readTls(config)
  const store = deps.store ?? (await createSessionStore(config.session, config.secrets, clock))
  const sharedState = deps.sharedState ?? (await createSharedState(config.session, config.session.storage === 'cookie' ? config.session.revocation.storage : undefined))
  const metrics = createMetrics()
  // Session ends: tombstones (server-side), revocations (cookie storage), the user directory.
  const now = () => clock.now()
  const ends = createSessionEnds(sharedState)
  const revocations = store.serverSide ? undefined : createRevocations(sharedState, await createChangeSignal(config.session, sharedState.kind), { maxLifetimeMs: config.session.lifespan })
  // Sessions ended by the admin API, the CLI in this process or a removed user: their OIDC tokens go too.
  const forgetTokens = (sessions: readonly Session[]) =>
    (current?.oidcLogins?.forgetEnded(sessions) ?? Promise.resolve()).catch((error: unknown) =>
      log.warn({ event: 'oidc_tokens_not_forgotten', sessions: sessions.length, err: (error as Error).message }, 'tokens of ended OIDC sessions stay in the shared state until they expire'),
    )
  const sessionAdmin = store.admin && createEndingAdmin(store.admin, ends, now, forgetTokens)
  const initialUsers = deps.users ?? (await createUserDirectory(config))
  // The store-wide sweep of removed users' sessions runs where cleanup runs (one worker); every worker checks per request.
  const follower = createUserFollower(initialUsers, deps.runCleanup === false ? undefined : sessionAdmin, now)
  let closing = false
  let current: Handlers
  // The hot path: one indirection to the current handlers, swapped whole by a reload.
  const serveAsRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // Draining: answer what is in flight, then let the client reconnect elsewhere.
    if (closing) res.shouldKeepAlive = false
    current.serve(req, res)
  }
  const shell: Shell = {
    clock,
    log,
    store,
    sharedState,
    ending: { ends: store.serverSide ? ends : undefined, revocations, follow: follower.follow },
    sessionAdmin,
    metrics,
    storeHealth: new StoreHealth(log),
    upstreams: createUpstreamPools(),
    requestLog: createRequestLog(log, metrics),
    serveAsRequest,
  }
  try {
    current = await buildFromConfig(config, shell, { ...deps, users: initialUsers }, null)
  } catch (error) {
    if (!deps.store) await store.close()
    if (!deps.sharedState) await sharedState.close()
    throw error
  }
  // Tunnels opened under an older config keep running with the handlers that opened them.
  const generations = new Set<Handlers>([current])
  const server = createListener(tls, serveAsRequest)
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => current.upgrade(req, socket, head))
  // Longer than the idle timeout of the proxies in front (nginx keeps upstream connections
  // 60 s): a connection they believe open must not have been closed here (Node's default is 5 s).
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5_000

  const startCleanupFor = (c: Config) => (deps.runCleanup === false ? { stop() {} } : startCleanup(store, c.session.cleanup_interval, clock, log))
  let cleanup = startCleanupFor(config)
  const startStateCleanupFor = (c: Config) => (deps.runCleanup === false ? { stop() {} } : startStateCleanup(sharedState, c.session.cleanup_interval, clock, log))
  let stateCleanup = startStateCleanupFor(config)
  const applyUsers = (next: UserDirectory) => follower.apply(next).catch((error: unknown) => (log.warn({ event: 'user_sweep_failed', err: (error as Error).message }, 'ending sessions of removed users failed; they end at their next request'), 0))
  // Sessions of users removed while the gateway was down end now, in the background.
  void applyUsers(initialUsers)
  let closed: Promise<void> | undefined
  return {
    get app() {
      return current.app
    },
    get config() {
      return current.config
    },
    log,
    store,
    metrics,
    server,
    applyUsers,
    listen(options) {
      return new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(options.port, options.host, () => {
          server.off('error', reject)
          const address = server.address()
          const scheme = tls ? 'https' : 'http'
          if (address === null || typeof address === 'string') return resolve(`${scheme}://${options.host}:${options.port}`)
          resolve(`${scheme}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`)
        })
      })
    },
    async reload(input) {
      if (closing) throw new Error('the gateway is shutting down')
      const { config: next, needsRestart } = keepRestartSettings(current.config, input)
      // Every file the new config names is read before anything is swapped; all problems at once.
      const previous = current
      const [nextTls, handlers] = await collectProblems([() => readTls(next), () => buildFromConfig(next, shell, deps, previous)] as const)
      if (nextTls) applyTls(server, nextTls)
      current = handlers
      // Older handlers are kept only while tunnels they opened are open (to cut them at shutdown).
      for (const old of generations) if (old.websockets.open === 0) generations.delete(old)
      generations.add(handlers)
      log.level = next.log.level
      if (next.session.cleanup_interval !== previous.config.session.cleanup_interval) {
        cleanup.stop()
        cleanup = startCleanupFor(next)
        stateCleanup.stop()
        stateCleanup = startStateCleanupFor(next)
      }
      // ── Reload: the new user directory takes effect here. ──────────────────────────────
      // Sessions follow it from the next request on (new roles apply, removed users' sessions
      // end); the handlers above already authenticate against `handlers.users`.
      void applyUsers(handlers.users)
      // ────────────────────────────────────────────────────────────────────────────────────
      return { needsRestart }
    },
    close() {
      closed ??= (async () => {
        closing = true
        cleanup.stop()
        stateCleanup.stop()
        for (const handlers of generations) handlers.websockets.close()
        // Stop listening and close idle keep-alive sockets; requests in flight finish first.
        await new Promise<void>((resolve) => {
          if (!server.listening) return resolve()
          server.close(() => resolve())
          server.closeIdleConnections()
        })
        await current.app.close()
        await shell.upstreams.close()
        await revocations?.close()
        await store.close()
        await sharedState.close()
      })()
      return closed
    },
  }
}

/** A directory with nobody in it: lets a reload whose users are invalid still report the other problems. */
const NO_USERS: UserDirectory = { size: 0, names: () => [], find: () => undefined, verify: async () => null }

/** Users, then the handlers on them; with users that fail, the handlers are still built to report their own problems. */
async function buildFromConfig(config: Config, shell: Shell, deps: GatewayDeps, previous: Handlers | null): Promise<Handlers> {
  let users: UserDirectory | undefined
  const [, handlers] = await collectProblems([
    async () => (users = deps.users ?? (await createUserDirectory(config))),
    () => buildHandlers(config, users ?? NO_USERS, shell, deps, previous),
  ] as const)
  return handlers
}

/**
 * Everything built from one config, on the shell's long-lived parts: the guard, proxy,
 * forward-auth and WebSocket handlers, and a Fastify app (never listening itself: the shell's
 * server hands it requests through `app.routing`) for the gateway's own endpoints.
 *
 * Proxied requests — the hot path — go from node:http straight into the pipeline and an undici
 * pool; only the gateway's own endpoints (under `endpoints.prefix`, and the logout path) go
 * through Fastify, whose routing, hooks and reply objects the proxy does not pay for.
 */
async function buildHandlers(config: Config, users: UserDirectory, shell: Shell, deps: GatewayDeps, previous: Handlers | null): Promise<Handlers> {
  const { clock, log, store, metrics, storeHealth, upstreams, requestLog } = shell
  const prefix = config.endpoints.prefix
  // OIDC (auth.oidc): providers' tokens and replay checks in the shared state beside the sessions.
  const oidc = await createOidc(config, { state: shell.sharedState, admin: shell.sessionAdmin, clock, log })
  // auth.login_limit: one limiter for the login endpoint and the Basic authenticators.
  const loginLimit = config.auth.login_limit
  const loginLimiter = loginLimit
    ? createLoginLimiter(loginLimit, shell.sharedState, clock, {
        events: {
          refused: (event) => (metrics.logins.inc({ provider: 'any', result: 'blocked' }), audit(log, 'login_blocked', event, 'login attempt refused by auth.login_limit')),
          blockStarted: (event) => audit(log, 'login_block_started', { ...event, until: new Date(event.until).toISOString() }, 'login block started'),
        },
      })
    : UNLIMITED
  const [guard, identityTokens] = await collectProblems([
    () => buildGuard(config, { store, users, clock, log, metrics, authenticators: deps.authenticators, loginLimiter, ending: shell.ending, sessionAdmin: shell.sessionAdmin, oidc }),
    // Without a key file the signing key is generated: a reload keeps it, so upstreams that
    // cached the JWKS keep verifying.
    () => createIdentityTokenSigner(config, clock, { generatedKey: previous?.identityTokens?.generatedKey ?? undefined }),
  ] as const)
  const { sessions, consumed, redirects, identify, logout, pipeline } = guard
  // Signed-out browsers go to the login page when it has something to offer: the form or a provider.
  const hasLoginPage = config.auth.form.enabled || config.auth.oidc.length > 0

  const basicChallenge = config.auth.basic.enabled || config.auth.external_basic ? `Basic realm="${config.auth.basic.realm}", charset="UTF-8"` : undefined
  const frameAncestors = frameAncestorsDirective(config.endpoints.frame_ancestors)
  const loginPath = `${prefix}/login`
  const logoutPath = config.session.logout.path ?? `${prefix}/logout`
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
    serveAsRequest: shell.serveAsRequest,
  })
  const app = Fastify({
    // Gatehouse writes its own one-line-per-request log (createRequestLog) with its own pino.
    logger: false,
    bodyLimit: 1024 * 1024,
    requestIdHeader: false,
    // request.ip / protocol / hostname from X-Forwarded-* only when the peer is in `trusted_proxies`.
    trustProxy: (address: string) => trusted.trusts(address),
  })
  installErrorHandler(app, log, storeHealth, basicChallenge, { headers: pageSecurityHeaders(frameAncestors), loginPath: hasLoginPage ? loginPath : null })
  app.addHook('onResponse', async (request, reply) => {
    requestLog('gateway', request.method, pathOf(request.url), reply.statusCode, reply.elapsedTime, null)
  })
  await app.register(formbody, { bodyLimit: 16 * 1024 })

  const pageHeaders = pageSecurityHeaders(frameAncestors)
  const providers = config.auth.oidc.map((provider) => ({ name: provider.name, href: `${prefix}/oidc/${provider.name}/login` }))
  registerLoginRoutes(app, { path: loginPath, formEnabled: config.auth.form.enabled, rememberMe: config.session.remember_me.enabled, users, sessions, redirects, pageHeaders, log, metrics, storeHealth, limiter: loginLimiter, secureCookie: config.session.cookie.secure, providers })
  if (oidc) registerOidcRoutes(app, { prefix, publicUrl: config.public_url, oidc, sessions, redirects, log, metrics, storeHealth })
  registerLogoutRoutes(app, { path: logoutPath, methods: config.session.logout.methods, logout })
  registerSessionRoutes(app, { prefix, identify })
  registerHealthRoutes(app, { prefix, store, storeHealth, metrics, identityTokens })
  await registerAdmin(app, {
    base: `${prefix}/admin`,
    token: config.admin.token,
    roles: config.admin.roles,
    identify,
    redirects,
    sessions: shell.sessionAdmin,
    revocations: shell.ending.revocations,
    log,
    pageHeaders: pageSecurityHeaders(frameAncestors, { scripts: true }),
    now: () => clock.now(),
  })

  await app.ready()
  const fastifyHandler = app.routing.bind(app)
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    // X-Forwarded-* and the forward-auth headers are believed only from `trusted_proxies`:
    // from anyone else they are dropped here, before any part of the gateway reads them.
    if (!trusted.trusts(req.socket.remoteAddress)) for (const name of FORWARDING_HEADERS) if (req.headers[name] !== undefined) delete req.headers[name]
    const path = pathOf(req.url ?? '/')
    if (forwardAuthPaths.has(path)) forwardAuth(req, res)
    else if (isGatewayEndpoint(path)) fastifyHandler(req, res)
    else proxy(req, res)
  }
  return { config, app, users, identityTokens, serve, upgrade: websockets.upgrade, websockets, oidcLogins: oidc?.logins ?? null }
}
