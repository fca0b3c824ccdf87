/** The CSP frame-ancestors directive for a list of origins ('none' when empty). */
export function frameAncestorsDirective(origins: readonly string[]): string {
  return `frame-ancestors ${origins.length > 0 ? origins.join(' ') : "'none'"}`
}

/** Security headers for a server's own HTML pages: nothing from elsewhere, framing only by `frameAncestors`. */
export function pageSecurityHeaders(frameAncestors: string, options: { scripts?: boolean } = {}): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; ${options.scripts ? "script-src 'self'; connect-src 'self'; " : ''}form-action 'self'; base-uri 'none'; ${frameAncestors}`,
    'x-content-type-options': 'nosniff',
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form POSTs,
    // which a login CSRF check must refuse.
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
  }
}
