import { isIP } from 'node:net'
import type { Config } from '../config/schema.js'
import type { Logger } from '../telemetry/logger.js'

/**
 * Browsers keep a `Secure` cookie set over plain http only for loopback hosts (localhost,
 * 127.0.0.0/8, ::1). Anywhere else the login "succeeds" and the next request arrives without
 * the cookie: a silent loop back to the login page. These say so instead.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '')
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1' || host === '0:0:0:0:0:0:0:1'
}

export const INSECURE_COOKIE_NOTICE =
  'This page was opened over plain http, but the session cookie is marked Secure: your browser will not keep it, and signing in will bring you back here. Open this site over https, or (only behind a TLS-terminating proxy that passes X-Forwarded-Proto) trust that proxy in trusted_proxies; for a test setup without TLS, set session.cookie.secure: false.'

/** Whether a browser on this request will drop the session cookie (Secure over plain http to a non-loopback host). */
export function dropsSecureCookie(secure: boolean, protocol: string, hostname: string): boolean {
  return secure && protocol !== 'https' && !isLoopbackHost(hostname)
}

/** At start and after a reload: a plain-http `public_url` on a real host with `cookie.secure: true`. */
export function warnInsecureCookie(config: Config, log: Logger): void {
  if (!config.public_url) return
  const url = new URL(config.public_url)
  if (url.protocol === 'http:' && dropsSecureCookie(config.session.cookie.secure, 'http', url.hostname)) {
    log.warn(
      { event: 'insecure_cookie', public_url: config.public_url },
      'public_url is plain http on a non-loopback host while session.cookie.secure is true: browsers will drop the session cookie and logins will loop; use https (tls, or a TLS proxy in front) or set session.cookie.secure: false',
    )
  }
}
