import type { IncomingHttpHeaders } from 'node:http'
import { originAllowed, safeRedirect } from '../http/hosts.js'

/** Where the gateway may send browsers (`rd`) and which Origins may change state: its own hosts and `session.allowed_redirect_hosts`. */
export interface RedirectPolicy {
  /** The target if it is a same-origin path or an allowed absolute URL; null otherwise. */
  safe(target: unknown, headers: IncomingHttpHeaders): string | null
  /** Whether a state-changing request's Origin (if any) is this gateway or an allowed host. */
  originAllowed(headers: IncomingHttpHeaders): boolean
}

export function createRedirectPolicy(publicUrl: string | undefined, allowedHosts: readonly string[]): RedirectPolicy {
  const publicHost = publicUrl ? new URL(publicUrl).host : undefined
  // Hosts that count as "this gateway": the Host header and `public_url`.
  const ownHosts = (headers: IncomingHttpHeaders): string[] => {
    const hosts: string[] = []
    if (headers.host) hosts.push(headers.host)
    if (publicHost) hosts.push(publicHost)
    return hosts
  }
  return {
    safe: (target, headers) => safeRedirect(target, ownHosts(headers), allowedHosts),
    originAllowed: (headers) => originAllowed(typeof headers.origin === 'string' ? headers.origin : undefined, ownHosts(headers), allowedHosts),
  }
}
