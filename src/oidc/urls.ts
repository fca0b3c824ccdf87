import type { IncomingHttpHeaders } from 'node:http'

/**
 * The gateway's own origin as the browser sees it, for URLs the provider must be given whole
 * (`redirect_uri`, `post_logout_redirect_uri`): `public_url` when set (recommended: it must
 * match what is registered at the provider), else the request's Host and, from a trusted proxy
 * (the only ones whose X-Forwarded-* survive the edge), its protocol and host.
 */
export function gatewayOrigin(publicUrl: string | undefined, headers: IncomingHttpHeaders, protocol?: string): string {
  if (publicUrl) return new URL(publicUrl).origin
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim()
  const proto = first(headers['x-forwarded-proto']) ?? protocol ?? 'http'
  const host = first(headers['x-forwarded-host']) ?? headers.host ?? 'localhost'
  return `${proto === 'https' ? 'https' : 'http'}://${host}`
}

/** `target` (a path or an absolute URL already allowed by the redirect policy) as an absolute URL. */
export function absolute(target: string, origin: string): string {
  return new URL(target, origin).href
}
