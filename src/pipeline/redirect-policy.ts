import type { IncomingHttpHeaders } from 'node:http'
import { originAllowed, safeRedirect } from '../http/hosts.js'

/** Where the gateway may send browsers (`rd`) and which Origins may change state: its own hosts and `session.allowed_redirect_hosts`. */
export interface RedirectPolicy {
  /** The target if it is a same-origin path or an allowed absolute URL; null otherwise. */
  safe(target: unknown, headers: IncomingHttpHeaders): string | null
  /** Whether a state-changing request's Origin (if any) is this gateway or an allowed host. */
  originAllowed(headers: IncomingHttpHeaders): boolean
  /** Whether the request's Origin (if any) is this gateway itself; `allowed_redirect_hosts` do not count. */
  ownOrigin(headers: IncomingHttpHeaders): boolean
}

/**
 * The headers reach this policy only after the server's edge removed X-Forwarded-* from peers
 * outside `trusted_proxies`, so any X-Forwarded-* seen here was set by a trusted proxy.
 * With `public_url` set, the gateway is that host alone: the Host header (which any client
 * chooses) and X-Forwarded-Host no longer count as its own.
 */
export function createRedirectPolicy(publicUrl: string | undefined, allowedHosts: readonly string[]): RedirectPolicy {
  const publicHost = publicUrl ? [new URL(publicUrl).host] : undefined
  // Hosts that count as "this gateway": `public_url`, or else the Host header and a trusted proxy's X-Forwarded-Host.
  const ownHosts = (headers: IncomingHttpHeaders, target: string | undefined): string[] => {
    if (publicHost) return publicHost
    const hosts: string[] = []
    const host = headers.host
    if (host) hosts.push(host)
    const forwarded = headers['x-forwarded-host']
    if (forwarded) for (const item of String(forwarded).split(',')) if (item.trim()) hosts.push(item.trim())
    // nginx's usual `proxy_set_header Host $host` drops the port: behind a trusted proxy, a
    // portless Host stands for that host name on whatever port the browser used.
    if (host && target && !host.includes(':') && behindProxy(headers)) {
      const targetHost = hostOf(target)
      if (targetHost && targetHost.hostname === host.toLowerCase()) hosts.push(targetHost.host)
    }
    return hosts
  }
  return {
    safe: (target, headers) => safeRedirect(target, ownHosts(headers, typeof target === 'string' ? target : undefined), allowedHosts),
    originAllowed: (headers) => {
      const origin = typeof headers.origin === 'string' ? headers.origin : undefined
      return originAllowed(origin, ownHosts(headers, origin), allowedHosts)
    },
    ownOrigin: (headers) => {
      const origin = typeof headers.origin === 'string' ? headers.origin : undefined
      return originAllowed(origin, ownHosts(headers, origin), [])
    },
  }
}

function behindProxy(headers: IncomingHttpHeaders): boolean {
  return headers['x-forwarded-for'] !== undefined || headers['x-forwarded-proto'] !== undefined || headers['x-forwarded-host'] !== undefined
}

function hostOf(url: string): { host: string; hostname: string } | null {
  if (!/^https?:\/\//i.test(url)) return null
  try {
    const parsed = new URL(url)
    return { host: parsed.host.toLowerCase(), hostname: parsed.hostname.toLowerCase() }
  } catch {
    return null
  }
}
