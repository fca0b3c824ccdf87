/**
 * Open-redirect guard for `rd`. Accepts a same-origin path, or an absolute http(s) URL whose
 * host is the gateway's own or listed in `session.allowed_redirect_hosts` (exact, or
 * `.example.com` for its subdomains). Everything else — `//evil`, `/\evil`, control characters,
 * `user@host`, look-alike suffixes — is refused.
 */
export function safeRedirect(target: unknown, ownHosts: readonly string[], allowedHosts: readonly string[]): string | null {
  if (typeof target !== 'string' || target.length === 0 || target.length > 4096) return null
  // Browsers strip tabs/newlines and treat `\` as `/`, which turns `/\tevil.com` into `//evil.com`.
  if (/[\0-\x20\x7f\\]/.test(target)) return null
  if (target.startsWith('/')) {
    if (target.startsWith('//')) return null
    return target
  }
  let url: URL
  try {
    url = new URL(target)
  } catch {
    return null
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null
  if (url.username !== '' || url.password !== '') return null
  return hostAllowed(url, ownHosts, allowedHosts) ? url.href : null
}

/**
 * Is this URL's host the gateway's own (exact host:port) or listed in `allowed` — exact host,
 * host:port, or `.example.com` for its subdomains (never example.com itself, never a look-alike)?
 * Shared by the redirect guard and the Origin check, so both accept the same hosts.
 */
export function hostAllowed(url: URL, ownHosts: readonly string[], allowed: readonly string[]): boolean {
  const host = url.host.toLowerCase()
  const hostname = url.hostname.toLowerCase()
  if (ownHosts.some((own) => own.toLowerCase() === host)) return true
  return allowed.some((entry) => {
    const rule = entry.toLowerCase()
    if (rule.startsWith('.')) return hostname.endsWith(rule) && hostname.length > rule.length
    return rule === host || rule === hostname
  })
}

/**
 * For state-changing requests: an Origin header, when the browser sends one, must be one of
 * `ownHosts` or allowed. No Origin (curl, server-to-server) passes; `Origin: null` does not.
 */
export function originAllowed(origin: string | undefined, ownHosts: readonly string[], allowed: readonly string[]): boolean {
  if (origin === undefined) return true
  if (origin === 'null') return false
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  return hostAllowed(url, ownHosts, allowed)
}

/** `.Example.COM.` → `example.com`: how a `domains` entry and a request host are compared. */
export function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/^\./, '').replace(/\.$/, '')
}

/** Whether `host` is `domain` or a subdomain of it, on a label boundary (`evil-example.com` is not under `example.com`). */
export function underDomain(host: string, domain: string): boolean {
  return host === domain || (host.length > domain.length && host.endsWith(domain) && host[host.length - domain.length - 1] === '.')
}
