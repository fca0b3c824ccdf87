import replyFrom from '@fastify/reply-from'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AnonymousDenied, Forbidden, Unauthenticated, UpstreamTimeout, UpstreamUnavailable } from '../errors.js'
import { queryOf } from '../auth/request-parts.js'
import type { Authentication } from '../server/authenticate.js'
import { frameAncestors } from '../server/frame-policy.js'
import { bodyHasArg, type Logout } from '../server/logout.js'
import { errorResponse } from '../server/error-handler.js'
import { pathOf, wantsHtml, type Caller, type GatewayContext } from '../server/context.js'
import { underPrefix, type Route } from './rules.js'

const TIMEOUT_CODES = new Set(['FST_REPLY_FROM_GATEWAY_TIMEOUT', 'FST_REPLY_FROM_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT'])

/**
 * Everything outside the gateway's own endpoints: authenticate per the matching route, then
 * stream request and response through an undici keep-alive pool with the identity headers set.
 */
export async function registerProxy(app: FastifyInstance, ctx: GatewayContext, auth: Authentication, logout: Logout): Promise<void> {
  const { query_arg: queryArg, post_arg: postArg, methods: logoutMethods } = ctx.config.session.logout
  const frameAncestorsHeader = ctx.config.endpoints.frame_ancestors_on_proxied ? frameAncestors(ctx.config) : undefined
  const connectTimeout = Math.max(...[ctx.config.upstream, ...ctx.config.routes.map((r) => r.upstream)].map((u) => u?.connect_timeout ?? 0), 1000)

  await app.register(async (scope) => {
    // Bodies are streamed to the upstream untouched: no parsing, no buffering, no size limit here.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
    if (postArg) {
      // Kong's logout_post_arg needs to look into small form/JSON bodies; they are still forwarded as read.
      scope.addContentTypeParser(['application/x-www-form-urlencoded', 'application/json'], { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body))
    }
    await scope.register(replyFrom, {
      undici: { connections: 256, pipelining: 1, keepAliveTimeout: 30_000, connectTimeout },
      disableRequestLogging: true,
    })

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      if (underPrefix(pathOf(request.url), ctx.prefix)) {
        return reply.code(404).send({ error: 'not_found', code: 'ERR_ROUTE_NOT_FOUND', message: 'not found' })
      }
      if (isLogoutRequest(request)) return logout.handle(request, reply)
      const route = ctx.router.match(request.url)
      let caller: Caller | null = null
      if (route.auth !== 'none') {
        caller = await auth.identify(request, reply, route.methods)
        if (caller?.redirectTo) return reply.header('cache-control', 'no-store').redirect(caller.redirectTo, 302)
        if (!caller && route.auth === 'required') return unauthenticated(request, reply, ctx)
        if (caller?.identity.provider.type === 'anonymous' && route.deny_anonymous) {
          const { status, message } = route.deny_anonymous
          return reply.code(status).send(errorResponse(new AnonymousDenied(message, { reason: 'anonymous_denied' })).body)
        }
        if (caller && route.roles && !route.roles.some((role) => caller!.identity.roles.includes(role))) {
          throw new Forbidden('your roles do not allow this route', { reason: 'role_not_allowed' })
        }
      }
      return forward(request, reply, route, caller, ctx)
    }
    // Kong style: the logout argument works on any path, for the configured methods.
    const isLogoutRequest = (request: FastifyRequest): boolean => {
      if (!logoutMethods.includes(request.method as 'GET')) return false
      if (queryArg && queryOf(request.url)?.has(queryArg)) return true
      return !!postArg && request.method === 'POST' && Buffer.isBuffer(request.body) && bodyHasArg(request.body, request.headers['content-type'], postArg)
    }
    if (frameAncestorsHeader) {
      scope.addHook('onSend', async (_request, reply) => {
        // Keep the upstream's own policy; only its frame-ancestors directive is replaced.
        const upstream = reply.getHeader('content-security-policy')
        const kept = typeof upstream === 'string' ? upstream.split(';').map((d) => d.trim()).filter((d) => d && !/^frame-ancestors\b/i.test(d)) : []
        reply.header('content-security-policy', [...kept, frameAncestorsHeader].join('; '))
      })
    }
    scope.all('/', handler)
    scope.all('/*', handler)
  })
}

async function forward(request: FastifyRequest, reply: FastifyReply, route: Route, caller: Caller | null, ctx: GatewayContext) {
  const base = route.upstream.url.endsWith('/') ? route.upstream.url.slice(0, -1) : route.upstream.url
  const identityToken = caller && ctx.identityTokens ? await ctx.identityTokens.tokenFor(caller.identity) : undefined
  return reply.from(base + ctx.headers.upstreamUrl(request.url), {
    timeout: route.upstream.timeout,
    rewriteRequestHeaders: (req, headers) =>
      ctx.headers.rewrite(headers, caller?.identity ?? null, { ip: req.ip, protocol: req.protocol, host: req.headers.host }, identityToken),
    onError: (failed, { error }) => {
      const code = (error as { code?: string }).code ?? ''
      const cause = (error as { cause?: { code?: string; message?: string } }).cause
      const timedOut = TIMEOUT_CODES.has(code) || TIMEOUT_CODES.has(cause?.code ?? '')
      ctx.log.warn({ event: 'upstream_error', upstream: route.upstream.url, code: cause?.code ?? code }, 'upstream request failed')
      void failed.send(timedOut ? new UpstreamTimeout('upstream did not answer in time', { reason: 'upstream_timeout' }) : new UpstreamUnavailable('upstream unreachable', { reason: 'upstream_unreachable' }))
    },
  })
}

function unauthenticated(request: FastifyRequest, reply: FastifyReply, ctx: GatewayContext) {
  reply.header('cache-control', 'no-store')
  if (ctx.config.auth.form.enabled && wantsHtml(request) && (request.method === 'GET' || request.method === 'HEAD')) {
    // Not the raw URL: an unconsumed JWT or API key in its query must not travel on into `rd`.
    return reply.redirect(`${ctx.prefix}/login?rd=${encodeURIComponent(ctx.headers.upstreamUrl(request.url))}`, 302)
  }
  throw new Unauthenticated('authentication required', { reason: 'no_credentials' })
}
