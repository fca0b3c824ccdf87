import type { FastifyRequest } from 'fastify'
import type { GatewayContext } from './context.js'
import { hostAllowed } from './redirect.js'

/** Hosts that count as "this gateway": the Host header and `public_url`. */
export function ownHosts(request: FastifyRequest, ctx: GatewayContext): string[] {
  const hosts: string[] = []
  if (request.headers.host) hosts.push(request.headers.host)
  if (ctx.config.public_url) hosts.push(new URL(ctx.config.public_url).host)
  return hosts
}

/**
 * For state-changing requests: an Origin header, when the browser sends one, must be this
 * gateway or an allowed redirect host. No Origin (curl, server-to-server) passes.
 */
export function originAllowed(request: FastifyRequest, ctx: GatewayContext): boolean {
  const origin = request.headers.origin
  if (origin === undefined) return true
  if (origin === 'null') return false
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  return hostAllowed(url, ownHosts(request, ctx), ctx.config.session.allowed_redirect_hosts)
}
