import type { IncomingHttpHeaders } from 'node:http'
import type { Config } from '../config/schema.js'
import type { Identity } from '../identity.js'
import { jwtCookieNames, jwtQueryParams, jwtUsesHeader } from '../auth/jwt.js'
import { withoutQueryParams } from '../auth/request-parts.js'
import { removeCookies } from '../session/cookie.js'

/**
 * Identity headers that upstreams are commonly configured to trust. A client's copy of any of
 * them is dropped, whatever its case, with `_` for `-`, and however many times it was sent.
 */
const WELL_KNOWN_IDENTITY_HEADERS = [
  'x-forwarded-user',
  'x-forwarded-groups',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-remote-user',
  'remote-user',
  'x-webauth-user',
]

export interface HeaderRewriter {
  /**
   * One pass over the client's headers: drop forged identity, our cookies and the credentials the
   * gateway consumed (API key header, JWT cookies); add the verified identity (and its signed token).
   */
  rewrite(headers: IncomingHttpHeaders, identity: Identity | null, client: { ip: string; protocol: string; host: string | undefined }, identityToken?: string): IncomingHttpHeaders
  /** The request URL as the upstream gets it: without the JWT and API-key query parameters. */
  upstreamUrl(url: string): string
}

export function createHeaderRewriter(config: Config): HeaderRewriter {
  const names = config.identity_headers
  const tokenHeader = names.jwt?.enabled ? names.jwt.header : undefined
  const consumedHeaders = [config.auth.apikey?.header ?? undefined, tokenHeader].filter((h): h is string => typeof h === 'string')
  const forbidden = new Set([...WELL_KNOWN_IDENTITY_HEADERS, names.user, names.groups, names.email, ...consumedHeaders].map(normalize))
  const cookieName = config.session.cookie.name
  const credentialCookies = new Set(jwtCookieNames(config))
  const isGatehouseCookie = (name: string) =>
    name === cookieName || credentialCookies.has(name) || (name.startsWith(`${cookieName}.`) && /^\d+$/.test(name.slice(cookieName.length + 1)))
  // Authorization schemes the gateway verifies itself: a Basic password or a bearer JWT is not the upstream's to see.
  const consumedSchemes = new Set([...(config.auth.basic.enabled || config.auth.external_basic ? ['basic'] : []), ...(jwtUsesHeader(config) ? ['bearer'] : [])])
  const secretParams = [...jwtQueryParams(config), ...(config.auth.apikey?.query ? [config.auth.apikey.query] : [])]

  return {
    upstreamUrl: (url) => withoutQueryParams(url, secretParams),
    rewrite(headers, identity, client, identityToken) {
      const out: IncomingHttpHeaders = {}
      for (const key in headers) {
        const lower = key.toLowerCase()
        if (forbidden.has(lower) || ((lower.includes('_') || lower.includes(' ')) && forbidden.has(normalize(lower)))) continue
        if (lower === 'cookie') {
          const kept = removeCookies(headers.cookie, isGatehouseCookie)
          if (kept !== undefined) out.cookie = kept
          continue
        }
        if (lower === 'authorization' && identity && consumedSchemes.has(schemeOf(headers[key]))) continue
        if (lower === 'x-forwarded-for' || lower === 'x-forwarded-proto' || lower === 'x-forwarded-host') continue
        out[lower] = headers[key]
      }
      const prior = headers['x-forwarded-for']
      out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${client.ip}` : client.ip
      out['x-forwarded-proto'] = client.protocol
      if (client.host) out['x-forwarded-host'] = client.host
      if (identity) {
        out[names.user.toLowerCase()] = identity.user
        if (identity.roles.length > 0) out[names.groups.toLowerCase()] = identity.roles.join(',')
        if (identity.email) out[names.email.toLowerCase()] = identity.email
        if (identityToken && tokenHeader) out[tokenHeader.toLowerCase()] = tokenHeader.toLowerCase() === 'authorization' ? `Bearer ${identityToken}` : identityToken
      }
      return out
    },
  }
}

function normalize(name: string): string {
  return name.trim().toLowerCase().replace(/_/g, '-')
}

function schemeOf(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value[0] ?? '' : value ?? ''
  return text.trimStart().split(' ', 1)[0]!.toLowerCase()
}
