import type { FastifyInstance } from 'fastify'
import type { UserDirectory } from '../../auth/users.js'
import type { LoginLimiter } from '../../auth/login-limit.js'
import { BadRequest, Forbidden, InvalidCredentials, TooManyAttempts } from '../../errors.js'
import type { RedirectPolicy } from '../../pipeline/redirect-policy.js'
import type { BrowserSessions } from '../../session/browser-sessions.js'
import type { Session } from '../../session/session.js'
import { audit } from '../../telemetry/audit.js'
import type { Logger } from '../../telemetry/logger.js'
import type { Metrics } from '../../telemetry/metrics.js'
import type { StoreHealth } from '../../telemetry/store-health.js'
import { renderLoginPage, type LoginProvider } from '../pages/login-page.js'
import { dropsSecureCookie, INSECURE_COOKIE_NOTICE } from '../secure-cookie.js'

const FAILURE_MESSAGE = 'Invalid username or password.'
const MAX_FIELD = 1024

export interface LoginDeps {
  /** `<prefix>/login`. */
  readonly path: string
  readonly formEnabled: boolean
  /** `session.remember_me.enabled`: the form shows "Remember me", and a login may ask for a persistent cookie. */
  readonly rememberMe: boolean
  readonly users: UserDirectory
  readonly sessions: BrowserSessions
  readonly redirects: RedirectPolicy
  readonly pageHeaders: Record<string, string>
  readonly log: Logger
  readonly metrics: Metrics
  readonly storeHealth: StoreHealth
  /** `auth.login_limit`: checked before the password, told the outcome after. */
  readonly limiter: LoginLimiter
  /** `session.cookie.secure`: over plain http to a non-loopback host the page says the browser will drop it. */
  readonly secureCookie?: boolean | undefined
  /** OIDC providers' sign-in links, shown beside the form (or alone when the form is off). */
  readonly providers?: readonly LoginProvider[] | undefined
}

/** GET shows the form; POST checks form-encoded or JSON credentials against the internal users. */
export function registerLoginRoutes(app: FastifyInstance, deps: LoginDeps): void {
  const { path, users, sessions, redirects, pageHeaders, log, metrics } = deps
  const disabled = { error: 'not_found', code: 'ERR_ROUTE_NOT_FOUND', message: 'login form disabled' }
  // request.protocol and hostname follow X-Forwarded-Proto/-Host only from `trusted_proxies`.
  const dropsCookie = (request: { protocol: string; hostname: string }) => dropsSecureCookie(deps.secureCookie === true, request.protocol, request.hostname)

  app.get(path, async (request, reply) => {
    const providers = deps.providers ?? []
    if (!deps.formEnabled && providers.length === 0) return reply.code(404).send(disabled)
    const rd = redirects.safe((request.query as Record<string, unknown>).rd, request.headers)
    const notice = dropsCookie(request) ? INSECURE_COOKIE_NOTICE : undefined
    return reply.headers(pageHeaders).type('text/html; charset=utf-8').send(renderLoginPage({ action: path, rd: rd ?? undefined, rememberMe: deps.rememberMe, notice, form: deps.formEnabled, providers }))
  })

  app.post(path, { bodyLimit: 16 * 1024 }, async (request, reply) => {
    if (!deps.formEnabled) return reply.code(404).send(disabled)
    // Login CSRF: a cross-site page must not log the browser into someone else's account.
    if (!redirects.originAllowed(request.headers)) throw new Forbidden('cross-origin login refused', { reason: 'bad_origin' })
    const fromForm = !String(request.headers['content-type'] ?? '').includes('json')
    const { username, password, rd: rawRd, remember } = readCredentials(request.body, fromForm)
    const rd = redirects.safe(rawRd, request.headers)
    if (rawRd !== undefined && rd === null) log.warn({ event: 'redirect_refused' }, 'login rd outside allowed hosts; using /')

    let attempt
    try {
      attempt = await deps.limiter.begin(username, request.ip)
    } catch (error) {
      // Blocked: the password is not looked at. Browsers get the form again, with why and for how long.
      if (!fromForm || !(error instanceof TooManyAttempts)) throw error
      return reply.code(429).header('retry-after', String(error.retryAfterSeconds)).headers(pageHeaders).type('text/html; charset=utf-8').send(renderLoginPage({ action: path, rd: rd ?? undefined, error: error.message, username, rememberMe: deps.rememberMe, remember, providers: deps.providers }))
    }
    const user = await users.verify(username, password)
    if (!user) await attempt.failed()
    else await attempt.succeeded()
    if (!user) {
      metrics.logins.inc({ provider: 'form', result: 'failure' })
      audit(log, 'login_failure', { provider: 'form', user: username.slice(0, 128), ip: request.ip }, 'login failed')
      if (!fromForm) throw new InvalidCredentials(FAILURE_MESSAGE, { reason: 'invalid_credentials' })
      return reply.code(401).headers(pageHeaders).type('text/html; charset=utf-8').send(renderLoginPage({ action: path, rd: rd ?? undefined, error: FAILURE_MESSAGE, username, rememberMe: deps.rememberMe, remember, providers: deps.providers }))
    }

    const started = await sessions.begin(
      { user: user.username, roles: user.roles, email: user.email, provider: { type: 'form', name: 'form' } },
      { ip: request.ip, userAgent: request.headers['user-agent'] },
      request.headers,
      { remember: deps.rememberMe && remember },
    )
    deps.storeHealth.ok()
    metrics.logins.inc({ provider: 'form', result: 'success' })
    metrics.sessionEvents.inc({ event: 'created' })
    audit(log, 'login_success', { provider: 'form', user: user.username, session: started.session.id.slice(0, 12), ip: request.ip }, 'login')
    if (dropsCookie(request)) log.warn({ event: 'insecure_cookie', user: user.username, host: request.hostname }, 'login over plain http with session.cookie.secure: the browser will drop the session cookie and come back to the login page')
    reply.header('set-cookie', started.setCookie).header('cache-control', 'no-store')
    if (fromForm) return reply.redirect(rd ?? '/', 302)
    return reply.send({ ...describeSession(started.session), ...(rd ? { redirect: rd } : {}) })
  })
}

function readCredentials(body: unknown, fromForm: boolean): { username: string; password: string; rd: unknown; remember: boolean } {
  if (!body || typeof body !== 'object') throw new BadRequest('expected form-encoded or JSON {"username","password"}', { reason: 'missing_credentials' })
  const { username, password, rd, remember } = body as Record<string, unknown>
  if (typeof username !== 'string' || typeof password !== 'string' || username === '' || password === '') {
    throw new BadRequest('username and password are required strings', { reason: 'missing_credentials' })
  }
  if (username.length > MAX_FIELD || password.length > MAX_FIELD) throw new BadRequest('username or password too long', { reason: 'field_too_long' })
  // JSON: `"remember": true` only; a form: the ticked checkbox posts `remember=on`.
  return { username, password, rd, remember: fromForm ? remember === 'on' || remember === 'true' || remember === '1' : remember === true }
}

/** The whoami shape, shared by login and GET /session. */
export function describeSession(session: Session) {
  return {
    user: session.user,
    roles: session.roles,
    email: session.email,
    provider: session.provider,
    created_at: new Date(session.createdAt).toISOString(),
    idle_expires_at: session.idleExpiresAt === null ? null : new Date(session.idleExpiresAt).toISOString(),
    lifespan_expires_at: session.lifespanExpiresAt === null ? null : new Date(session.lifespanExpiresAt).toISOString(),
  }
}
