import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorResponse } from '../../error-response.js'
import { Unauthenticated } from '../../errors.js'
import type { RequestView } from '../../http/request-view.js'
import type { Identify } from '../../pipeline/identify.js'
import type { Logout } from '../../pipeline/logout.js'
import type { Pipeline } from '../../pipeline/pipeline.js'
import type { Route } from '../../pipeline/router.js'
import { describeSession } from './login.js'

/** Requests whose peer is on this machine may tell the original request (nginx's auth_request, Caddy's forward_auth). */
function fromLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.')
}

/** The request the fronting proxy is asking about: its original method and URL when a local proxy says so. */
function originalRequest(request: FastifyRequest): RequestView {
  const headers = request.headers
  let url = request.url
  let method = request.method
  if (fromLoopback(request.ip)) {
    const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined)
    const original = header('x-original-uri') ?? header('x-forwarded-uri') ?? pathAndQuery(header('x-original-url'))
    if (original?.startsWith('/')) url = original
    method = header('x-original-method') ?? header('x-forwarded-method') ?? 'GET'
  }
  return { method, url, headers, ip: request.ip }
}

function pathAndQuery(absolute: string | undefined): string | undefined {
  if (!absolute) return undefined
  try {
    const parsed = new URL(absolute)
    return parsed.pathname + parsed.search
  } catch {
    return undefined
  }
}

/** URLs the gateway does not route itself are still guarded: authentication required, every method. */
const FORWARD_AUTH_FALLBACK: Route = { path: '/', auth: 'required' }

/** Whoami for the current session, and forward-auth for nginx/Traefik/Caddy through the same pipeline as the proxy. */
export function registerSessionRoutes(
  app: FastifyInstance,
  deps: { prefix: string; identify: Identify; pipeline: Pipeline; logout: Logout; identityHeaders: { user: string; groups: string; email: string } },
): void {
  const { prefix, identify, pipeline, identityHeaders: names } = deps

  app.get(`${prefix}/session`, async (request, reply) => {
    const setCookie: string[] = []
    const caller = await identify({ method: request.method, url: request.url, headers: request.headers, ip: request.ip }, setCookie).finally(() => {
      if (setCookie.length > 0) reply.header('set-cookie', setCookie)
    })
    if (!caller?.session) throw new Unauthenticated('no session', { reason: 'no_session' })
    return reply.header('cache-control', 'no-store').send(describeSession(caller.session))
  })

  const forwardAuth = async (request: FastifyRequest, reply: FastifyReply) => {
    const view = originalRequest(request)
    const { verdict, setCookie } = await pipeline.decide(view, { fallbackRoute: FORWARD_AUTH_FALLBACK })
    reply.header('cache-control', 'no-store')
    if (setCookie.length > 0) reply.header('set-cookie', setCookie)
    switch (verdict.kind) {
      case 'pass': {
        const identity = verdict.caller?.identity
        if (!identity) return reply.code(200).send({ user: null, roles: [] })
        const groups = identity.roles.join(',')
        reply.header(names.user, identity.user).header('x-auth-request-user', identity.user)
        if (groups) reply.header(names.groups, groups).header('x-auth-request-groups', groups)
        if (identity.email) reply.header(names.email, identity.email).header('x-auth-request-email', identity.email)
        return reply.code(200).send({ user: identity.user, roles: identity.roles })
      }
      case 'redirect':
        return reply.redirect(verdict.location, 302)
      case 'logout': {
        const answer = await deps.logout.perform(view)
        reply.code(answer.status).headers(answer.headers)
        return answer.body ? reply.send(answer.body) : reply.send()
      }
      case 'deny': {
        const { status, body } = errorResponse(verdict.error, verdict.status)
        return reply.code(status).send(body)
      }
    }
  }
  app.get(`${prefix}/auth`, forwardAuth)
  app.get(`${prefix}/forward-auth`, forwardAuth)
}
