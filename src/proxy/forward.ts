import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { UpstreamTimeout, UpstreamUnavailable, type GatehouseError } from '../errors.js'
import { withoutSetCookies } from '../http/cookies.js'
import type { UpstreamTarget } from './upstream-pool.js'

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])
/** Response headers that describe the upstream connection, not the response (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate'])

export interface ForwardOptions {
  /** Path and query for the upstream (credential parameters already removed). */
  readonly path: string
  readonly headers: Record<string, string | string[]>
  /** A body already read by the gateway; otherwise the request stream is piped when it has one. */
  readonly body?: Buffer | undefined
  /** The gateway's own Set-Cookie lines (renewal), sent along with the upstream's. */
  readonly setCookie: readonly string[]
  /** The gateway's session cookie and its chunks: the upstream's Set-Cookie lines for them are removed. */
  readonly isGatewayCookie: (name: string) => boolean
  /** Replaces the upstream's CSP `frame-ancestors` directive (`endpoints.frame_ancestors_on_proxied`). */
  readonly frameAncestors?: string | undefined
  /** Called once when the upstream fails before its answer started (the caller writes 502/504). */
  onFailure(error: GatehouseError, cause: Error): void
}

/**
 * Streams the request to the upstream and its answer back through undici's low-level dispatch:
 * no intermediate stream objects, backpressure both ways, the client's disconnect aborts the
 * upstream request.
 */
export function forward(req: IncomingMessage, res: ServerResponse, target: UpstreamTarget, options: ForwardOptions): void {
  const body = options.body ?? (hasBody(req) ? req : null)
  target.pool.dispatch(
    {
      origin: undefined as never,
      path: target.basePath + options.path,
      method: req.method ?? 'GET',
      headers: options.headers,
      body,
      headersTimeout: target.timeout,
      // The header timeout covers waiting for the answer to start; a body may then be silent as
      // long as the upstream keeps it open (SSE, long polling) unless `idle_timeout` is set.
      bodyTimeout: target.idleTimeout ?? 0,
    } as Dispatcher.DispatchOptions,
    new ResponseRelay(res, options),
  )
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
}

class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse
  readonly #options: ForwardOptions
  #controller: Dispatcher.DispatchController | undefined

  constructor(res: ServerResponse, options: ForwardOptions) {
    this.#res = res
    this.#options = options
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    // The client went away before the answer was complete: stop the upstream request too.
    this.#res.once('close', () => {
      if (!this.#res.writableFinished) this.#controller?.abort(new Error('client closed the connection'))
    })
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    if (statusCode < 200) return // 1xx: informational, the final answer follows
    const out: Record<string, string | string[]> = {}
    for (const name in headers) {
      if (HOP_BY_HOP.has(name)) continue
      out[name] = headers[name]!
    }
    const setCookie = this.#options.setCookie
    const upstream = out['set-cookie']
    if (upstream !== undefined || setCookie.length > 0) {
      // An upstream must not set (or delete) the gateway's own session cookie.
      const kept = upstream === undefined ? [] : withoutSetCookies(Array.isArray(upstream) ? upstream : [upstream], this.#options.isGatewayCookie)
      if (kept.length > 0 || setCookie.length > 0) out['set-cookie'] = [...kept, ...setCookie]
      else delete out['set-cookie']
    }
    if (this.#options.frameAncestors) out['content-security-policy'] = withFrameAncestors(out['content-security-policy'], this.#options.frameAncestors)
    if (statusMessage) this.#res.writeHead(statusCode, statusMessage, out)
    else this.#res.writeHead(statusCode, out)
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#res.write(chunk)) {
      controller.pause()
      this.#res.once('drain', () => controller.resume())
    }
  }

  onResponseEnd(): void {
    this.#res.end()
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#res.headersSent) {
      // Mid-body: the status is already out, so the only honest signal left is a cut connection.
      this.#res.destroy(error)
      return
    }
    if (this.#res.destroyed) return
    const code = (error as { code?: string }).code ?? ''
    this.#options.onFailure(
      TIMEOUT_CODES.has(code) ? new UpstreamTimeout('upstream did not answer in time', { reason: 'upstream_timeout' }) : new UpstreamUnavailable('upstream unreachable', { reason: 'upstream_unreachable' }),
      error,
    )
  }
}

/** Keeps the upstream's own policy; only its frame-ancestors directive is replaced. */
function withFrameAncestors(upstream: string | string[] | undefined, directive: string): string {
  const text = Array.isArray(upstream) ? upstream.join(';') : upstream
  const kept = text ? text.split(';').map((d) => d.trim()).filter((d) => d && !/^frame-ancestors\b/i.test(d)) : []
  return [...kept, directive].join('; ')
}
