import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Config } from '../config/schema.js'
import { sendAnswer, type HeaderValues } from '../http/respond.js'
import { pathOf, wantsHtml, type RequestView } from '../http/request-view.js'
import { queryOf } from '../http/request-parts.js'
import { createTrustedProxies, socketProtocol, validHost, type TrustedProxies } from '../http/trusted-proxies.js'
import { BadRequest, Unauthenticated } from '../errors.js'
import type { Logout } from '../pipeline/logout.js'
import { SESSION_END_HEADER, type Pipeline } from '../pipeline/pipeline.js'
import type { Route } from '../pipeline/router.js'
import type { Logger } from '../telemetry/logger.js'
import type { RequestLog } from '../telemetry/request-log.js'
import type { StoreHealth } from '../telemetry/store-health.js'
import { errorResponse, isStoreOutage } from '../error-response.js'
import { createAnswers } from './answers.js'
import { identityHeaderValue } from './identity-headers.js'

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
  /** `trusted_proxies`: only these peers may describe the original request (default: loopback). */
  readonly trusted?: TrustedProxies | undefined
  /** The login page for signed-out browsers on `/forward-auth` (`public_url` + path, or the path); null/absent: 401. */
  readonly loginUrl?: string | null | undefined
  /** Credential query parameters (kept out of `rd`). */
  readonly withoutQueryCredentials?: ((url: string) => string) | undefined
  /** Query parameters that turn into a session and a redirect (`query:` JWT sources). */
  readonly signInQueryParams?: readonly string[] | undefined
}

/** What the fronting proxy says about the request it asks about. */
export interface Original {
  readonly view: RequestView
  /** `scheme://host` of the original request, when known: `rd` is then absolute. */
  readonly origin: string | undefined
}

const LOOPBACK = createTrustedProxies(['127.0.0.0/8', '::1/128'])

/**
 * `GET <prefix>/auth` (nginx auth_request) and `<prefix>/forward-auth` (Caddy, Traefik): the same
 * pipeline as the built-in proxy, applied to the original request the fronting proxy describes.
 * On plain node:http like the proxy: behind nginx this is the per-request hot path.
 */
export function createForwardAuthHandler(deps: ForwardAuthDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const answers = createAnswers(deps)
  const names = deps.identityHeaders
  const trusted = deps.trusted ?? LOOPBACK
  const clean = deps.withoutQueryCredentials ?? ((url: string) => url)
  const signInParams = deps.signInQueryParams ?? []

  /**
   * nginx's auth_request never reads the check's body, so a connection that carried one cannot
   * go back to its keep-alive pool: every answer to nginx is bodiless (measured: a 34-byte body
   * made nginx close the connection after nearly every check and halved throughput). The reason
   * travels in a header. Caddy and Traefik copy a refusal's body to the client, so there a
   * refusal keeps its body (an HTML page for browsers, JSON for APIs); their 2xx are bodiless too.
   */
  const refuse = (res: ServerResponse, error: unknown, setCookie: readonly string[], status: number | undefined, forNginx: boolean) => {
    if (!forNginx) return answers.error(res, error, setCookie, status)
    const { status: answered, body, headers: extra } = errorResponse(error, status)
    const headers: HeaderValues = { 'cache-control': 'no-store', 'set-cookie': setCookie, 'gatehouse-error': body.code, ...extra }
    if (body.reason) headers['gatehouse-reason'] = body.reason
    if (answered === 401 && deps.basicChallenge) headers['www-authenticate'] = deps.basicChallenge
    if (isStoreOutage(error)) deps.storeHealth.failed(error)
    else if (answered === 500) deps.log.error({ err: error }, 'unexpected error')
    sendAnswer(res, answered, headers)
  }

  /** nginx cannot pass a redirect or a cookie from auth_request: 401, and its `error_page 401` asks `/forward-auth`, which answers the browser. */
  const atGateway = (res: ServerResponse, setCookie: readonly string[]) =>
    refuse(res, new Unauthenticated('finish at the gateway', { reason: 'sign_in_at_gateway' }), setCookie, 401, true)

  const handle = async (res: ServerResponse, original: Original, forNginx: boolean): Promise<string | null> => {
    const { view } = original
    const browser = wantsHtml(view.headers) && (view.method === 'GET' || view.method === 'HEAD')
    // A `?jwt=` link on nginx: deciding here would start a session whose cookie nginx drops.
    if (forNginx && browser && signInParams.length > 0) {
      const query = queryOf(view.url)
      if (query && signInParams.some((name) => query.has(name))) {
        atGateway(res, [])
        return null
      }
    }
    // Rolling renewal is deferred (extend server side only): no proxy reliably passes a check's Set-Cookie on a 2xx.
    const { verdict, setCookie, sessionEnd } = await deps.pipeline.decide(view, { fallbackRoute: FALLBACK, rotate: false })
    if (sessionEnd && verdict.kind === 'deny') res.setHeader(SESSION_END_HEADER, sessionEnd)
    switch (verdict.kind) {
      case 'pass': {
        const identity = verdict.caller?.identity
        const headers: HeaderValues = { 'cache-control': 'no-store', 'set-cookie': setCookie }
        if (!identity) {
          sendAnswer(res, 200, headers)
          return null
        }
        // The same encoding as on proxied requests: non-ASCII names percent-encoded (never a 500 on `日本`).
        headers[names.user] = headers['x-auth-request-user'] = identityHeaderValue(identity.user)
        if (identity.roles.length > 0) headers[names.groups] = headers['x-auth-request-groups'] = identity.roles.map(identityHeaderValue).join(',')
        if (identity.email) headers[names.email] = headers['x-auth-request-email'] = identityHeaderValue(identity.email)
        // OIDC `pass_access_token` (oauth2-proxy's name too, for auth_request_set / copyHeaders).
        if (verdict.caller?.accessToken) headers['x-forwarded-access-token'] = headers['x-auth-request-access-token'] = verdict.caller.accessToken
        sendAnswer(res, 200, headers)
        return identity.user
      }
      case 'redirect':
        if (forNginx) atGateway(res, setCookie)
        else answers.redirect(res, verdict.location, setCookie)
        return null
      case 'logout': {
        const answer = await deps.logout.perform(view)
        // A 2xx would let the request through to the upstream: an API logout answers 401 with its JSON.
        if (forNginx) atGateway(res, answer.headers['set-cookie'] as string[])
        else answers.logout(res, answer.status === 200 ? { ...answer, status: 401 as 200 } : answer)
        return null
      }
      case 'deny':
        if (!forNginx && verdict.signIn && deps.loginUrl && browser) {
          const rd = (original.origin ?? '') + clean(verdict.signIn.rd)
          answers.redirect(res, `${deps.loginUrl}?rd=${encodeURIComponent(rd)}`, setCookie)
          return null
        }
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
    const forNginx = pathOf(req.url ?? '/').endsWith('/auth')
    let user: string | null = null
    res.once('finish', () => deps.requestLog('gateway', req.method ?? 'GET', pathOf(req.url ?? '/'), res.statusCode, performance.now() - started, user))
    let original: Original
    try {
      original = originalRequest(req, trusted)
    } catch (error) {
      refuse(res, error, [], undefined, forNginx)
      return
    }
    handle(res, original, forNginx).then(
      (identified) => (user = identified),
      (error: unknown) => (res.headersSent ? res.destroy() : refuse(res, error, [], undefined, forNginx)),
    )
  }
}

const METHOD = /^[A-Za-z]{1,20}$/
/** A path and query as a request line carries it: starts with `/`, no spaces, controls or fragment. */
const PATH_AND_QUERY = /^\/[^\s\x00-\x1f\x7f#]*$/
const ABSOLUTE = /^(https?):\/\/([^/?#\s@]+)([/?][^\s\x00-\x1f\x7f#]*)?$/i

function malformed(header: string): BadRequest {
  return new BadRequest(`malformed ${header} from the fronting proxy`, { reason: 'bad_original_request' })
}

/**
 * The request the fronting proxy asks about, when the peer is a trusted proxy: nginx's
 * `X-Original-URL` (absolute) or `X-Original-URI` + `X-Original-Method`, Caddy's and Traefik's
 * `X-Forwarded-Uri` + `X-Forwarded-Method`, with `X-Forwarded-Proto`/`-Host` for the origin.
 * From any other peer those headers are ignored. A malformed one from a trusted proxy is a 400.
 */
export function originalRequest(req: IncomingMessage, trusted: TrustedProxies): Original {
  const headers = req.headers
  const peer = req.socket.remoteAddress ?? ''
  const client = trusted.client(peer, headers, socketProtocol(req.socket))
  if (!client.viaTrustedProxy) return { view: { method: 'GET', url: req.url ?? '/', headers, ip: peer }, origin: undefined }
  const header = (name: string): string | undefined => {
    const value = headers[name]
    return typeof value === 'string' ? value : Array.isArray(value) ? value[0] : undefined
  }
  let url: string | undefined
  let protocol = client.protocol
  let host = client.host
  const absolute = header('x-original-url')
  if (absolute !== undefined) {
    const match = ABSOLUTE.exec(absolute)
    if (!match || !validHost(match[2]!)) throw malformed('X-Original-URL')
    protocol = match[1]!.toLowerCase()
    host = match[2]!
    const rest = match[3] ?? '/'
    url = rest.startsWith('?') ? `/${rest}` : rest
  } else {
    const name = headers['x-original-uri'] !== undefined ? 'x-original-uri' : headers['x-forwarded-uri'] !== undefined ? 'x-forwarded-uri' : undefined
    if (name) {
      url = header(name)
      if (url === undefined || !PATH_AND_QUERY.test(url) || url.length > 16 * 1024) throw malformed(name === 'x-original-uri' ? 'X-Original-URI' : 'X-Forwarded-Uri')
    }
  }
  const methodHeader = headers['x-original-method'] !== undefined ? 'X-Original-Method' : 'X-Forwarded-Method'
  const method = header(methodHeader.toLowerCase())
  if (method !== undefined && !METHOD.test(method)) throw malformed(methodHeader)
  const origin = host ? `${protocol}://${host}` : undefined
  return { view: { method: method?.toUpperCase() ?? 'GET', url: url ?? req.url ?? '/', headers, ip: client.ip }, origin }
}
