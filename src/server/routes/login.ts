import type { FastifyInstance } from 'fastify'
import { BadRequest, Forbidden, InvalidCredentials } from '../../errors.js'
import { readSessionToken, sessionCookieLines } from '../../session/cookie.js'
import type { Session } from '../../session/session.js'
import { audit } from '../audit.js'
import type { GatewayContext } from '../context.js'
import { pageSecurityHeaders } from '../frame-policy.js'
import { renderLoginPage } from '../pages/login-page.js'
import { safeRedirect } from '../redirect.js'
import { originAllowed, ownHosts } from '../origin.js'

const FAILURE_MESSAGE = 'Invalid username or password.'
const MAX_FIELD = 1024

/** GET shows the form; POST checks form-encoded or JSON credentials against the internal users. */
export function registerLoginRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const path = `${ctx.prefix}/login`
  const cookie = ctx.config.session.cookie
  const formEnabled = ctx.config.auth.form.enabled
  const PAGE_SECURITY_HEADERS = pageSecurityHeaders(ctx.config)

  app.get(path, async (request, reply) => {
    if (!formEnabled) return reply.code(404).send({ error: 'not_found', code: 'ERR_ROUTE_NOT_FOUND', message: 'login form disabled' })
    const rd = safeRedirect((request.query as Record<string, unknown>).rd, ownHosts(request, ctx), ctx.config.session.allowed_redirect_hosts)
    return reply.headers(PAGE_SECURITY_HEADERS).type('text/html; charset=utf-8').send(renderLoginPage({ action: path, rd: rd ?? undefined }))
  })

  app.post(path, { bodyLimit: 16 * 1024 }, async (request, reply) => {
    if (!formEnabled) return reply.code(404).send({ error: 'not_found', code: 'ERR_ROUTE_NOT_FOUND', message: 'login form disabled' })
    // Login CSRF: a cross-site page must not log the browser into someone else's account.
    if (!originAllowed(request, ctx)) throw new Forbidden('cross-origin login refused', { reason: 'bad_origin' })
    const fromForm = !String(request.headers['content-type'] ?? '').includes('json')
    const { username, password, rd: rawRd } = readCredentials(request.body)
    const rd = safeRedirect(rawRd, ownHosts(request, ctx), ctx.config.session.allowed_redirect_hosts)
    if (rawRd !== undefined && rd === null) ctx.log.warn({ event: 'redirect_refused' }, 'login rd outside allowed hosts; using /')

    const user = await ctx.users.verify(username, password)
    if (!user) {
      ctx.metrics.logins.inc({ provider: 'form', result: 'failure' })
      audit(ctx.log, 'login_failure', { provider: 'form', user: username.slice(0, 128), ip: request.ip }, 'login failed')
      if (!fromForm) throw new InvalidCredentials(FAILURE_MESSAGE, { reason: 'invalid_credentials' })
      return reply.code(401).headers(PAGE_SECURITY_HEADERS).type('text/html; charset=utf-8').send(renderLoginPage({ action: path, rd: rd ?? undefined, error: FAILURE_MESSAGE, username }))
    }

    // A fresh id every time; whatever session cookie came with the request is ended, never adopted.
    const started = await ctx.manager.start(
      { user: user.username, roles: user.roles, email: user.email, provider: { type: 'form', name: 'form' } },
      { ip: request.ip, userAgent: request.headers['user-agent'] },
      readSessionToken(request.headers.cookie, cookie),
    )
    ctx.storeHealth.ok()
    ctx.metrics.logins.inc({ provider: 'form', result: 'success' })
    ctx.metrics.sessionEvents.inc({ event: 'created' })
    audit(ctx.log, 'login_success', { provider: 'form', user: user.username, session: started.session.id.slice(0, 12), ip: request.ip }, 'login')
    reply.header('set-cookie', sessionCookieLines(cookie, started.token, ctx.manager.cookieMaxAge(started.session), request.headers.cookie))
    reply.header('cache-control', 'no-store')
    if (fromForm) return reply.redirect(rd ?? '/', 302)
    return reply.send({ ...describeSession(started.session), ...(rd ? { redirect: rd } : {}) })
  })
}

function readCredentials(body: unknown): { username: string; password: string; rd: unknown } {
  if (!body || typeof body !== 'object') throw new BadRequest('expected form-encoded or JSON {"username","password"}', { reason: 'missing_credentials' })
  const { username, password, rd } = body as Record<string, unknown>
  if (typeof username !== 'string' || typeof password !== 'string' || username === '' || password === '') {
    throw new BadRequest('username and password are required strings', { reason: 'missing_credentials' })
  }
  if (username.length > MAX_FIELD || password.length > MAX_FIELD) throw new BadRequest('username or password too long', { reason: 'field_too_long' })
  return { username, password, rd }
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
