import type { Config } from '../config/schema.js'

/** The CSP frame-ancestors directive from `endpoints.frame_ancestors` ('none' when empty). */
export function frameAncestors(config: Config): string {
  const list = config.endpoints.frame_ancestors
  return `frame-ancestors ${list.length > 0 ? list.join(' ') : "'none'"}`
}

/** Security headers for the gateway's own HTML pages; framing only from the configured origins. */
export function pageSecurityHeaders(config: Config, scripts: boolean = false): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; ${scripts ? "script-src 'self'; connect-src 'self'; " : ''}form-action 'self'; base-uri 'none'; ${frameAncestors(config)}`,
    'x-content-type-options': 'nosniff',
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form POSTs,
    // which the login CSRF check must refuse.
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
  }
}
