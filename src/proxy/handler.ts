import type { IncomingMessage, ServerResponse } from 'node:http'
import type { IdentityTokenSigner } from '../auth/jwt-sign.js'
import { RouteNotFound } from '../errors.js'
import { pathOf, wantsHtml, type RequestView } from '../http/request-view.js'
import type { ConsumedCredentials } from '../pipeline/credentials.js'
import type { Caller } from '../pipeline/identify.js'
import type { Logout } from '../pipeline/logout.js'
import { SESSION_END_HEADER, type Pipeline } from '../pipeline/pipeline.js'
import { createTrustedProxies, socketProtocol, type ForwardedClient, type TrustedProxies } from '../http/trusted-proxies.js'
import type { Logger } from '../telemetry/logger.js'
import type { RequestLog } from '../telemetry/request-log.js'
import type { StoreHealth } from '../telemetry/store-health.js'
import { createAnswers } from './answers.js'
import { forward } from './forward.js'
import type { HeaderRewriter } from './identity-headers.js'
import type { UpstreamPools } from './upstream-pool.js'

/** Bodies the gateway itself reads (the logout argument in a form or JSON POST) are small. */
const MAX_READ_BODY = 1024 * 1024

export interface ProxyDeps {
  readonly pipeline: Pipeline
  readonly logout: Logout
  readonly consumed: ConsumedCredentials
  readonly rewriter: HeaderRewriter
  readonly upstreams: UpstreamPools
  readonly identityTokens: IdentityTokenSigner | null
  /** The login page for signed-out browsers; null when the form is off (they get the 401). */
  readonly loginPath: string | null
  /** `WWW-Authenticate` for 401s when Basic is on. */
  readonly basicChallenge?: string | undefined
  /** `endpoints.frame_ancestors_on_proxied`: the directive set on proxied pages. */
  readonly frameAncestors?: string | undefined
  /** `session.logout.post_arg`: form/JSON POST bodies must be read to see it. */
  readonly logoutPostArg?: string | undefined
  /** `trusted_proxies`: whose X-Forwarded-For/-Proto/-Host give the client (default: loopback). */
  readonly trusted?: TrustedProxies | undefined
  readonly requestLog: RequestLog
  readonly storeHealth: StoreHealth
  readonly log: Logger
}

/**
 * Everything outside the gateway's own endpoints, on plain node:http: the pipeline decides,
 * then the request streams to the upstream with the identity headers set, or is answered here.
 */
export function createProxyHandler(deps: ProxyDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const answers = createAnswers(deps)
  const fail = answers.error
  const trusted = deps.trusted ?? createTrustedProxies(['127.0.0.0/8', '::1/128'])

  const handle = async (req: IncomingMessage, res: ServerResponse, view: RequestView, client: ForwardedClient, track: { caller: Caller | null }): Promise<void> => {
    const body = deps.logoutPostArg && req.method === 'POST' && readsBody(req) ? await readBody(req) : undefined
    const { verdict, setCookie, sessionEnd } = await deps.pipeline.decide(view, { body })
    if (sessionEnd && verdict.kind === 'deny') res.setHeader(SESSION_END_HEADER, sessionEnd)
    switch (verdict.kind) {
      case 'logout':
        return answers.logout(res, await deps.logout.perform(view))
      case 'redirect':
        return answers.redirect(res, verdict.location, setCookie)
      case 'deny':
        if (verdict.signIn && deps.loginPath && wantsHtml(view.headers) && (view.method === 'GET' || view.method === 'HEAD')) {
          return answers.redirect(res, `${deps.loginPath}?rd=${encodeURIComponent(verdict.signIn.rd)}`, setCookie)
        }
        return fail(res, verdict.error, setCookie, verdict.status)
      case 'pass': {
        const { route, caller } = verdict
        track.caller = caller
        const upstream = route.upstream
        if (!upstream) return fail(res, new RouteNotFound('no route for this path', { reason: 'no_route' }), setCookie)
        if (deps.storeHealth.down && caller?.session) deps.storeHealth.ok()
        const identityToken = caller && deps.identityTokens ? await deps.identityTokens.tokenFor(caller.identity) : undefined
        const headers = deps.rewriter.rewrite(req.headers, caller?.identity ?? null, { ip: req.socket.remoteAddress ?? '', protocol: client.protocol, host: client.host }, identityToken, caller?.accessToken)
        forward(req, res, deps.upstreams.target(upstream), {
          path: deps.consumed.withoutQueryCredentials(view.url),
          headers,
          body,
          setCookie,
          isGatewayCookie: deps.consumed.isSessionCookie,
          frameAncestors: deps.frameAncestors,
          onFailure: (error, cause) => {
            deps.log.warn({ event: 'upstream_error', upstream: upstream.url, code: (cause as { code?: string }).code ?? cause.message }, 'upstream request failed')
            fail(res, error, setCookie)
          },
        })
      }
    }
  }

  return (req, res) => {
    const started = performance.now()
    // The client as a trusted proxy reports it (audit lines, login limits); the peer otherwise.
    const client = trusted.client(req.socket.remoteAddress ?? '', req.headers, socketProtocol(req.socket))
    const view: RequestView = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, ip: client.ip }
    const track: { caller: Caller | null } = { caller: null }
    res.once('finish', () => deps.requestLog('proxy', view.method, pathOf(view.url), res.statusCode, performance.now() - started, track.caller?.identity.user ?? null))
    handle(req, res, view, client, track).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy()
      fail(res, error)
    })
  }
}

function readsBody(req: IncomingMessage): boolean {
  const type = req.headers['content-type'] ?? ''
  return type.includes('application/x-www-form-urlencoded') || type.includes('application/json')
}

/** Reads a small body whole (it is still forwarded as read); a larger one is a 413. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_READ_BODY) {
        req.removeAllListeners('data')
        // Answered like a framework 4xx by the error map: 413 with a tidy body.
        reject(Object.assign(new Error('request body too large for the gateway to read'), { statusCode: 413, code: 'ERR_BODY_TOO_LARGE' }))
        return
      }
      chunks.push(chunk)
    })
    req.once('end', () => resolve(Buffer.concat(chunks)))
    req.once('error', reject)
  })
}

