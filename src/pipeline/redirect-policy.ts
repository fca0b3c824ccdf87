import type { IncomingHttpHeaders } from 'node:http'
import { originAllowed, safeRedirect } from '../http/hosts.js'

/** Where the gateway may send browsers (`rd`) and which Origins may change state: its own hosts and `session.allowed_redirect_hosts`. */
export interface RedirectPolicy {
  /** The target if it is a same-origin path or an allowed absolute URL; null otherwise. */
  safe(target: unknown, headers: IncomingHttpHeaders): string | null
  /** Whether a state-changing request's Origin (if any) is this gateway or an allowed host. */
  originAllowed(headers: IncomingHttpHeaders): boolean
}

/**
 * The headers reach this policy only after the server's edge removed X-Forwarded-* from peers
 * outside `trusted_proxies`, so any X-Forwarded-* seen here was set by a trusted proxy.
 */
export function createRedirectPolicy(publicUrl: string | undefined, allowedHosts: readonly string[]): RedirectPolicy {
  const publicHost = publicUrl ? new URL(publicUrl).host : undefined
  // Hosts that count as "this gateway": the Host header, a trusted proxy's X-Forwarded-Host and `public_url`.
  const ownHosts = (headers: IncomingHttpHeaders, target: string | undefined): string[] => {
    const hosts: string[] = []
    const host = headers.host
    if (host) hosts.push(host)
    const forwarded = headers['x-forwarded-host']
    if (forwarded) for (const item of String(forwarded).split(',')) if (item.trim()) hosts.push(item.trim())
    if (publicHost) hosts.push(publicHost)
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
