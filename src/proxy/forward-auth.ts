import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Config } from '../config/schema.js'
import { sendAnswer, type HeaderValues } from '../http/respond.js'
import { pathOf, type RequestView } from '../http/request-view.js'
import type { Logout } from '../pipeline/logout.js'
import type { Pipeline } from '../pipeline/pipeline.js'
import type { Route } from '../pipeline/router.js'
import type { Logger } from '../telemetry/logger.js'
import type { RequestLog } from '../telemetry/request-log.js'
import type { StoreHealth } from '../telemetry/store-health.js'
import { errorResponse, isStoreOutage } from '../error-response.js'
import { createAnswers } from './answers.js'

/** URLs the gateway does not route itself are still guarded: authentication required, every method. */
const FALLBACK: Route = { path: '/', auth: 'required' }

export interface ForwardAuthDeps {
  readonly pipeline: Pipeline
  readonly logout: Logout
  readonly identityHeaders: Config['identity_headers']
  readonly basicChallenge?: string | undefined
  readonly requestLog: RequestLog
  readonly storeHealth: StoreHealth
  readonly log: Logger
}

/**
 * `GET <prefix>/auth` (nginx auth_request) and `<prefix>/forward-auth` (Caddy, Traefik): the same
 * pipeline as the built-in proxy, applied to the original request the fronting proxy describes.
 * On plain node:http like the proxy: behind nginx this is the per-request hot path.
 */
export function createForwardAuthHandler(deps: ForwardAuthDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const answers = createAnswers(deps)
  const names = deps.identityHeaders

  /**
   * nginx's auth_request never reads the check's body, so a connection that carried one cannot
   * go back to its keep-alive pool: every answer to nginx is bodiless (measured: a 34-byte body
   * made nginx close the connection after nearly every check and halved throughput). The reason
   * travels in a header. Caddy and Traefik copy a refusal's body to the client, so there a
   * refusal keeps its JSON body; their 2xx are bodiless too.
   */
  const refuse = (res: ServerResponse, error: unknown, setCookie: readonly string[], status: number | undefined, forNginx: boolean) => {
    if (!forNginx) return answers.error(res, error, setCookie, status)
    const { status: answered, body } = errorResponse(error, status)
    const headers: HeaderValues = { 'cache-control': 'no-store', 'set-cookie': setCookie, 'gatehouse-error': body.code }
    if (body.reason) headers['gatehouse-reason'] = body.reason
    if (answered === 401 && deps.basicChallenge) headers['www-authenticate'] = deps.basicChallenge
    if (isStoreOutage(error)) deps.storeHealth.failed(error)
    else if (answered === 500) deps.log.error({ err: error }, 'unexpected error')
    sendAnswer(res, answered, headers)
  }

  const handle = async (res: ServerResponse, view: RequestView, forNginx: boolean): Promise<string | null> => {
    const { verdict, setCookie } = await deps.pipeline.decide(view, { fallbackRoute: FALLBACK })
    switch (verdict.kind) {
      case 'pass': {
        const identity = verdict.caller?.identity
        const headers: HeaderValues = { 'cache-control': 'no-store', 'set-cookie': setCookie }
        if (!identity) {
          sendAnswer(res, 200, headers)
          return null
        }
        headers[names.user] = identity.user
        headers['x-auth-request-user'] = identity.user
        if (identity.roles.length > 0) headers[names.groups] = headers['x-auth-request-groups'] = identity.roles.join(',')
        if (identity.email) headers[names.email] = headers['x-auth-request-email'] = identity.email
        sendAnswer(res, 200, headers)
        return identity.user
      }
      case 'redirect':
        answers.redirect(res, verdict.location, setCookie)
        return null
      case 'logout':
        answers.logout(res, await deps.logout.perform(view))
        return null
      case 'deny':
        refuse(res, verdict.error, setCookie, verdict.status, forNginx)
        return null
    }
  }

  return (req, res) => {
    const started = performance.now()
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendAnswer(res, 405, { allow: 'GET, HEAD' }, '{"error":"method_not_allowed","code":"ERR_METHOD_NOT_ALLOWED","message":"use GET"}', 'application/json; charset=utf-8')
      return
    }
    const view = originalRequest(req)
    const forNginx = pathOf(req.url ?? '/').endsWith('/auth')
    let user: string | null = null
    res.once('finish', () => deps.requestLog('gateway', req.method ?? 'GET', pathOf(req.url ?? '/'), res.statusCode, performance.now() - started, user))
    handle(res, view, forNginx).then(
      (identified) => (user = identified),
      (error: unknown) => (res.headersSent ? res.destroy() : refuse(res, error, [], undefined, forNginx)),
    )
  }
}

/** Requests whose peer is on this machine may describe the original request (nginx's auth_request, Caddy's forward_auth). */
function fromLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.')
}

/** The request the fronting proxy asks about: its original method and URL when a local proxy says so. */
function originalRequest(req: IncomingMessage): RequestView {
  const headers = req.headers
  const ip = req.socket.remoteAddress ?? ''
  let url = req.url ?? '/'
  let method = 'GET'
  if (fromLoopback(ip)) {
    const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined)
    const original = header('x-original-uri') ?? header('x-forwarded-uri') ?? pathAndQuery(header('x-original-url'))
    if (original?.startsWith('/')) url = original
    method = header('x-original-method') ?? header('x-forwarded-method') ?? 'GET'
  }
  return { method, url, headers, ip }
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
