import { request as httpRequest, ServerResponse, type ClientRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { IdentityTokenSigner } from '../auth/jwt-sign.js'
import type { Config } from '../config/schema.js'
import { BadRequest, RouteNotFound, StoreUnavailable, UpstreamTimeout, UpstreamUnavailable } from '../errors.js'
import { withoutSetCookies } from '../http/cookies.js'
import { pathOf, type RequestView } from '../http/request-view.js'
import { FORWARDING_HEADERS, socketProtocol, type ForwardedClient, type TrustedProxies } from '../http/trusted-proxies.js'
import type { ConsumedCredentials } from '../pipeline/credentials.js'
import type { Caller } from '../pipeline/identify.js'
import type { Logout } from '../pipeline/logout.js'
import { SESSION_END_HEADER, type Pipeline } from '../pipeline/pipeline.js'
import type { Logger } from '../telemetry/logger.js'
import type { RequestLog } from '../telemetry/request-log.js'
import type { StoreHealth } from '../telemetry/store-health.js'
import { createAnswers } from './answers.js'
import type { HeaderRewriter } from './identity-headers.js'

type Session = NonNullable<Caller['session']>
type UpstreamConfig = NonNullable<Config['upstream']>

/** How long one side of a tunnel may stay open after the other closed. */
const CLOSE_GRACE_MS = 5_000

/** Response headers of a refused upgrade that describe the upstream connection, not the answer. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate'])

export interface WebSocketDeps {
  readonly pipeline: Pipeline
  readonly logout: Logout
  readonly consumed: ConsumedCredentials
  readonly rewriter: HeaderRewriter
  readonly identityTokens: IdentityTokenSigner | null
  readonly basicChallenge?: string | undefined
  readonly storeHealth: StoreHealth
  readonly log: Logger
  /** One log line per upgrade: its refusal status, or 101 when the tunnel opens. */
  readonly requestLog?: RequestLog | undefined
  /** `trusted_proxies`: whose X-Forwarded-* headers describe the client (as for plain requests). */
  readonly trusted: TrustedProxies
  /** The current record of a tunnel's session (after renewals), or null once the login ended. */
  liveness(session: Session): Promise<Session | null>
  /** How often open tunnels re-check their session (`session.touch_interval`). */
  readonly checkInterval: number
  /** Paths that belong to the gateway itself (no WebSocket there: served as plain requests). */
  isGatewayEndpoint(path: string): boolean
  /** The server's ordinary request handler: other upgrades (h2c) are served as plain requests. */
  serveAsRequest(req: IncomingMessage, res: ServerResponse): void
}

export interface WebSockets {
  /** The node:http server's 'upgrade' listener. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
  /** Open tunnels. */
  readonly open: number
  /** Refuses new upgrades and cuts every open tunnel (shutdown: clients reconnect elsewhere). */
  close(): void
}

/** One upgrade's answer and its log line. */
interface Outcome {
  user: string | null
  /** An HTTP answer on the socket, logged when written. */
  reply(): ServerResponse
  logged(status: number): void
}

interface Tunnel {
  /** Null for callers without a session (API key, JWT, `auth: none`): nothing to re-check. */
  session: Session | null
  readonly cut: () => void
}

/**
 * WebSockets through the built-in proxy: the upgrade request goes through the same pipeline as
 * any request; a refusal is a plain HTTP answer before any upgrade; a pass opens a tunnel to the
 * route's upstream with the identity headers set. Tunnels of a session are cut within
 * `checkInterval` once it is logged out, revoked or expired.
 *
 * The upstream side is a raw node:http client request with `agent: false`, not undici's
 * `upgrade()`: undici only resolves on a 101 and turns an upstream's refusal (its own 401/403/400
 * with a body) into a generic error, whereas node:http hands over either the refusal — relayed
 * to the client as it is — or the upgraded socket and its first bytes. The socket becomes the
 * tunnel, so it never belongs to a pool; upgrades happen once per socket, not per message, so
 * a fresh connection costs nothing that matters. Plain requests never reach this module.
 */
export function createWebSockets(deps: WebSocketDeps): WebSockets {
  const answers = createAnswers(deps)
  const tunnels = new Set<Tunnel>()
  let timer: NodeJS.Timeout | undefined
  let checking = false
  let closed = false

  const check = async (): Promise<void> => {
    if (checking) return
    checking = true
    try {
      // One look-up per session, however many tunnels it has open.
      const bySession = new Map<string, Tunnel[]>()
      for (const tunnel of tunnels) {
        if (!tunnel.session) continue
        const list = bySession.get(tunnel.session.id)
        if (list) list.push(tunnel)
        else bySession.set(tunnel.session.id, [tunnel])
      }
      for (const list of bySession.values()) {
        let current: Session | null
        try {
          current = await deps.liveness(list[0]!.session!)
        } catch (error) {
          // The store cannot answer: keep the tunnels, look again on the next round.
          if (error instanceof StoreUnavailable) deps.storeHealth.failed(error)
          else deps.log.error({ err: error }, 'websocket session check failed')
          continue
        }
        for (const tunnel of list) {
          if (current) tunnel.session = current
          else tunnel.cut()
        }
        if (!current) deps.log.info({ event: 'websocket_closed', user: list[0]!.session!.user, count: list.length }, 'session ended: websockets closed')
      }
    } finally {
      checking = false
    }
  }

  const track = (tunnel: Tunnel): (() => void) => {
    tunnels.add(tunnel)
    if (!timer) {
      timer = setInterval(() => void check(), deps.checkInterval)
      timer.unref()
    }
    return () => {
      tunnels.delete(tunnel)
      if (tunnels.size === 0 && timer) {
        clearInterval(timer)
        timer = undefined
      }
    }
  }

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy())
    // Other upgrades (h2c), and any upgrade to the gateway's own endpoints — e.g. nginx's
    // auth_request subrequest inheriting a WebSocket location's Upgrade/Connection headers — are
    // served as plain requests: RFC 9110 §7.8 lets a server ignore Upgrade. Only bodiless ones
    // can be: the HTTP parser has already let go of this socket.
    if (!isWebSocket(req) || deps.isGatewayEndpoint(pathOf(req.url ?? '/'))) {
      const res = responseOn(req, socket)
      if (hasBody(req)) return answers.error(res, new BadRequest('only WebSocket upgrades are supported; send this request without Upgrade', { reason: 'upgrade_not_supported' }))
      req.push(null)
      return deps.serveAsRequest(req, res)
    }
    // As the server does for plain requests: forwarding headers only from trusted proxies.
    const peer = req.socket.remoteAddress ?? ''
    if (!deps.trusted.trusts(peer)) for (const name of FORWARDING_HEADERS) if (req.headers[name] !== undefined) delete req.headers[name]
    const client = deps.trusted.client(peer, req.headers, socketProtocol(req.socket))
    const view: RequestView = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, ip: client.ip }
    const started = performance.now()
    const outcome: Outcome = {
      user: null,
      reply: () => {
        const res = responseOn(req, socket)
        res.once('finish', () => outcome.logged(res.statusCode))
        return res
      },
      logged: (status) => deps.requestLog?.('proxy', view.method, pathOf(view.url), status, performance.now() - started, outcome.user),
    }
    if (closed) return void socket.destroy()
    handle(req, socket, head, view, client, outcome).catch((error: unknown) => {
      if (socket.destroyed) return
      answers.error(outcome.reply(), error)
    })
  }

  const handle = async (req: IncomingMessage, socket: Duplex, head: Buffer, view: RequestView, client: ForwardedClient, outcome: Outcome): Promise<void> => {
    const { verdict, setCookie, sessionEnd } = await deps.pipeline.decide(view)
    if (socket.destroyed) return
    switch (verdict.kind) {
      case 'logout':
        return answers.logout(outcome.reply(), await deps.logout.perform(view))
      case 'redirect':
        return answers.redirect(outcome.reply(), verdict.location, setCookie)
      case 'deny': {
        // A browser's WebSocket cannot follow a redirect to the login page: the status is the answer.
        const res = outcome.reply()
        if (sessionEnd) res.setHeader(SESSION_END_HEADER, sessionEnd)
        return answers.error(res, verdict.error, setCookie, verdict.status)
      }
      case 'pass': {
        const { route, caller } = verdict
        outcome.user = caller?.identity.user ?? null
        if (!route.upstream) return answers.error(outcome.reply(), new RouteNotFound('no route for this path', { reason: 'no_route' }), setCookie)
        const identityToken = caller && deps.identityTokens ? await deps.identityTokens.tokenFor(caller.identity) : undefined
        const headers = deps.rewriter.rewrite(req.headers, caller?.identity ?? null, { ip: req.socket.remoteAddress ?? '', protocol: client.protocol, host: client.host }, identityToken, caller?.accessToken)
        // Hop-by-hop headers are dropped for every request; an upgrade needs these two back.
        headers.connection = 'Upgrade'
        headers.upgrade = req.headers.upgrade!
        open(req, socket, head, route.upstream, deps.consumed.withoutQueryCredentials(view.url), headers, setCookie, caller?.session ?? null, outcome)
      }
    }
  }

  const open = (req: IncomingMessage, socket: Duplex, head: Buffer, upstream: UpstreamConfig, path: string, headers: Record<string, string | string[]>, setCookie: readonly string[], session: Session | null, outcome: Outcome): void => {
    const url = new URL(upstream.url)
    const basePath = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname
    const outgoing: ClientRequest = (url.protocol === 'https:' ? httpsRequest : httpRequest)({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      method: req.method,
      path: basePath + path,
      headers,
      agent: false,
    })
    let settled = false
    const fail = (error: UpstreamTimeout | UpstreamUnavailable, cause: Error): void => {
      if (settled) return
      settled = true
      outgoing.destroy()
      if (socket.destroyed) return
      deps.log.warn({ event: 'upstream_error', upstream: upstream.url, code: (cause as { code?: string }).code ?? cause.message, websocket: true }, 'upstream upgrade failed')
      answers.error(outcome.reply(), error, setCookie)
    }
    // Connecting is bounded by connect_timeout, the upstream's answer to the upgrade by timeout.
    let deadline = setTimeout(() => fail(new UpstreamTimeout('upstream did not answer in time', { reason: 'upstream_timeout' }), new Error('connect timeout')), upstream.connect_timeout)
    outgoing.once('socket', (upstreamSocket: Socket) => {
      const connected = () => {
        clearTimeout(deadline)
        deadline = setTimeout(() => fail(new UpstreamTimeout('upstream did not answer in time', { reason: 'upstream_timeout' }), new Error('upgrade timeout')), upstream.timeout)
      }
      if (upstreamSocket.connecting) upstreamSocket.once('connect', connected)
      else connected()
    })
    outgoing.on('error', (error) => {
      clearTimeout(deadline)
      fail(new UpstreamUnavailable('upstream unreachable', { reason: 'upstream_unreachable' }), error)
    })
    // The client left before the upstream answered.
    const abandon = () => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      outgoing.destroy()
    }
    socket.once('close', abandon)

    outgoing.once('response', (answer: IncomingMessage) => {
      // The upstream refused the upgrade: its answer goes to the client as it is.
      clearTimeout(deadline)
      socket.off('close', abandon)
      if (settled) return void answer.destroy()
      settled = true
      const res = outcome.reply()
      const out: Record<string, string | string[]> = {}
      for (const name in answer.headers) if (!HOP_BY_HOP.has(name)) out[name] = answer.headers[name]!
      // As on plain requests: the upstream cannot set the gateway's session cookie.
      const cookies = [...withoutSetCookies(toList(out['set-cookie']), deps.consumed.isSessionCookie), ...setCookie]
      if (cookies.length > 0) out['set-cookie'] = cookies
      else delete out['set-cookie']
      res.writeHead(answer.statusCode ?? 502, out)
      answer.pipe(res)
    })

    outgoing.once('upgrade', (answer: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
      clearTimeout(deadline)
      socket.off('close', abandon)
      if (settled || socket.destroyed) {
        upstreamSocket.destroy()
        return
      }
      settled = true
      // The upstream's 101 as it sent it, plus the gateway's renewal cookie: a browser stores
      // Set-Cookie from a handshake answer, and a renewed id it never learns would end its session.
      const lines = [`HTTP/1.1 101 ${answer.statusMessage || 'Switching Protocols'}`]
      for (let i = 0; i < answer.rawHeaders.length; i += 2) {
        const name = answer.rawHeaders[i]!
        const value = answer.rawHeaders[i + 1]!
        // Nor on the 101: a browser stores Set-Cookie from a handshake answer.
        if (name.toLowerCase() === 'set-cookie' && withoutSetCookies([value], deps.consumed.isSessionCookie).length === 0) continue
        lines.push(`${name}: ${value}`)
      }
      for (const cookie of setCookie) lines.push(`Set-Cookie: ${cookie}`)
      socket.write(lines.join('\r\n') + '\r\n\r\n')
      if (upstreamHead.length > 0) socket.write(upstreamHead)
      if (head.length > 0) upstreamSocket.write(head)
      outcome.logged(101)
      upstreamSocket.setNoDelay(true)
      upstreamSocket.setTimeout(0)
      // A tunnel may be silent for hours (the application pings if it cares): no timeout on either side.
      ;(socket as Socket).setNoDelay?.(true)
      ;(socket as Socket).setTimeout?.(0)

      let untrack: (() => void) | undefined
      const cut = () => {
        untrack?.()
        socket.destroy()
        upstreamSocket.destroy()
      }
      // One side closed: the other still gets what is buffered for it (a close frame), then ends;
      // one that does not close by itself is cut after a grace. Errors cut both at once.
      const drain = (other: Duplex) => () => {
        untrack?.()
        if (other.destroyed) return
        other.end()
        setTimeout(() => other.destroy(), CLOSE_GRACE_MS).unref()
      }
      upstreamSocket.on('error', cut)
      socket.on('error', cut)
      upstreamSocket.once('close', drain(socket))
      socket.once('close', drain(upstreamSocket))
      upstreamSocket.pipe(socket)
      socket.pipe(upstreamSocket)
      untrack = track({ session, cut })
    })
    outgoing.end()
  }

  return {
    upgrade,
    get open() {
      return tunnels.size
    },
    close() {
      closed = true
      for (const tunnel of [...tunnels]) tunnel.cut()
    },
  }
}

function isWebSocket(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket' && req.method === 'GET'
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
}

/** A one-off HTTP answer on a socket the HTTP server has let go of (after 'upgrade'). */
function responseOn(req: IncomingMessage, socket: Duplex): ServerResponse {
  const res = new ServerResponse(req)
  res.shouldKeepAlive = false
  res.assignSocket(socket as Socket)
  res.once('finish', () => {
    res.detachSocket(socket as Socket)
    socket.end()
  })
  return res
}

function toList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}
