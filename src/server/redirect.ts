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
  const host = url.host.toLowerCase()
  const hostname = url.hostname.toLowerCase()
  const allowed =
    ownHosts.some((own) => own.toLowerCase() === host) ||
    allowedHosts.some((entry) => {
      const rule = entry.toLowerCase()
      if (rule.startsWith('.')) return hostname.endsWith(rule) && hostname.length > rule.length
      return rule === host || rule === hostname
    })
  return allowed ? url.href : null
}
