import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Oidc } from '../../oidc/index.js'
import { gatewayOrigin } from '../../oidc/urls.js'
import type { RedirectPolicy } from '../../pipeline/redirect-policy.js'
import type { BrowserSessions } from '../../session/browser-sessions.js'
import { audit } from '../../telemetry/audit.js'
import type { Logger } from '../../telemetry/logger.js'
import type { Metrics } from '../../telemetry/metrics.js'
import type { StoreHealth } from '../../telemetry/store-health.js'

export interface OidcRouteDeps {
  /** `endpoints.prefix`. */
  readonly prefix: string
  readonly publicUrl: string | undefined
  readonly oidc: Oidc
  readonly sessions: BrowserSessions
  readonly redirects: RedirectPolicy
  readonly log: Logger
  readonly metrics: Metrics
  readonly storeHealth: StoreHealth
}

type Params = { name: string }

/**
 * `<prefix>/oidc/{name}/login`, `/callback`, `/backchannel-logout`, `/frontchannel-logout`.
 * Failures are thrown as GatehouseErrors: the error handler answers browsers with an HTML page
 * and everyone else with JSON, with the reason (docs/errors.md).
 */
export function registerOidcRoutes(app: FastifyInstance, deps: OidcRouteDeps): void {
  const { prefix, oidc, sessions, redirects, log, metrics } = deps
  const base = `${prefix}/oidc/:name`
  const redirectUri = (request: FastifyRequest, name: string) => `${gatewayOrigin(deps.publicUrl, request.headers, request.protocol)}${prefix}/oidc/${encodeURIComponent(name)}/callback`
  const queryOf = (request: FastifyRequest) => new URLSearchParams(request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '')

  app.get<{ Params: Params }>(`${base}/login`, async (request, reply) => {
    const rawRd = queryOf(request).get('rd')
    const rd = redirects.safe(rawRd ?? undefined, request.headers)
    if (rawRd !== null && rd === null) log.warn({ event: 'redirect_refused' }, 'login rd outside allowed hosts; using /')
    const { location, setCookie } = await oidc.begin(request.params.name, rd, redirectUri(request, request.params.name))
    return reply.header('set-cookie', setCookie).header('cache-control', 'no-store').redirect(location, 302)
  })

  app.get<{ Params: Params }>(`${base}/callback`, async (request, reply) => {
    const name = request.params.name
    reply.header('cache-control', 'no-store')
    let finished
    try {
      finished = await oidc.finish(name, request.headers.cookie, queryOf(request), redirectUri(request, name))
    } catch (error) {
      metrics.logins.inc({ provider: 'oidc', result: 'failure' })
      audit(log, 'login_failure', { provider: `oidc:${name}`, reason: (error as { reason?: string }).reason, ip: request.ip }, 'OIDC login failed')
      // Whatever went wrong, the login cookie has served its purpose.
      reply.header('set-cookie', oidc.clearLoginCookie())
      throw error
    }
    const started = await sessions.begin(finished.identity, { ip: request.ip, userAgent: request.headers['user-agent'] }, request.headers.cookie)
    deps.storeHealth.ok()
    metrics.logins.inc({ provider: 'oidc', result: 'success' })
    metrics.sessionEvents.inc({ event: 'created' })
    audit(log, 'login_success', { provider: `oidc:${name}`, user: finished.identity.user, session: started.session.id.slice(0, 12), ip: request.ip }, 'login')
    reply.header('set-cookie', [oidc.clearLoginCookie(), ...started.setCookie])
    return reply.redirect(finished.rd ?? '/', 302)
  })

  app.post<{ Params: Params }>(`${base}/backchannel-logout`, { bodyLimit: 32 * 1024 }, async (request, reply) => {
    const body = request.body as Record<string, unknown> | undefined
    await oidc.backchannel(request.params.name, body && typeof body === 'object' ? body.logout_token : undefined)
    return reply.code(200).header('cache-control', 'no-store').send()
  })

  app.get<{ Params: Params }>(`${base}/frontchannel-logout`, async (request, reply) => {
    const query = queryOf(request)
    const { providerOrigin } = await oidc.frontchannel(request.params.name, query.get('iss'), query.get('sid'))
    // Loaded in an invisible iframe of the provider's logout page: only the provider may frame it.
    return reply
      .code(200)
      .header('cache-control', 'no-store')
      .header('content-security-policy', `default-src 'none'; frame-ancestors ${providerOrigin}`)
      .type('text/html; charset=utf-8')
      .send('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body>Signed out.</body></html>\n')
  })
}
