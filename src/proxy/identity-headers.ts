import type { IncomingHttpHeaders } from 'node:http'
import type { Config } from '../config/schema.js'
import { removeCookies } from '../http/cookies.js'
import type { Identity } from '../identity.js'
import type { ConsumedCredentials } from '../pipeline/credentials.js'

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
  // OIDC `pass_access_token`: only the gateway may hand the upstream a provider's access token.
  'x-forwarded-access-token',
]

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) are the connection's, not the request's. `Expect:
 * 100-continue` was already answered by this server before the body was read.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'expect'])

export interface ClientFacts {
  readonly ip: string
  readonly protocol: string
  readonly host: string | undefined
}

export interface HeaderRewriter {
  /**
   * One pass over the client's headers: drop forged identity, hop-by-hop headers and every
   * credential the gateway consumed; add X-Forwarded-* and the verified identity (and its signed token).
   */
  rewrite(headers: IncomingHttpHeaders, identity: Identity | null, client: ClientFacts, identityToken?: string, accessToken?: string): Record<string, string | string[]>
}

export function createHeaderRewriter(names: Config['identity_headers'], consumed: ConsumedCredentials): HeaderRewriter {
  const tokenHeader = names.jwt?.enabled ? names.jwt.header.toLowerCase() : undefined
  const forbidden = new Set([...WELL_KNOWN_IDENTITY_HEADERS, names.user, names.groups, names.email, ...(tokenHeader ? [tokenHeader] : []), ...consumed.headers].map(normalize))
  const userHeader = names.user.toLowerCase()
  const groupsHeader = names.groups.toLowerCase()
  const emailHeader = names.email.toLowerCase()

  return {
    rewrite(headers, identity, client, identityToken, accessToken) {
      const out: Record<string, string | string[]> = {}
      for (const key in headers) {
        const value = headers[key]
        if (value === undefined) continue
        // Node already lower-cases header names; `_` and stray spaces are other spellings of the same name.
        if (forbidden.has(key) || ((key.includes('_') || key.includes(' ')) && forbidden.has(normalize(key)))) continue
        if (HOP_BY_HOP.has(key)) continue
        switch (key) {
          case 'cookie': {
            const kept = removeCookies(value as string, consumed.isCookie)
            if (kept !== undefined) out.cookie = kept
            continue
          }
          case 'authorization':
            if (identity && consumed.isAuthorizationScheme(schemeOf(value))) continue
            break
          case 'x-forwarded-for':
          case 'x-forwarded-proto':
          case 'x-forwarded-host':
            continue
        }
        out[key] = value
      }
      const prior = headers['x-forwarded-for']
      out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${client.ip}` : client.ip
      out['x-forwarded-proto'] = client.protocol
      if (client.host) out['x-forwarded-host'] = client.host
      if (identity) {
        out[userHeader] = identityHeaderValue(identity.user)
        if (identity.roles.length > 0) out[groupsHeader] = identity.roles.map(identityHeaderValue).join(',')
        if (identity.email) out[emailHeader] = identityHeaderValue(identity.email)
        if (identityToken && tokenHeader) out[tokenHeader] = tokenHeader === 'authorization' ? `Bearer ${identityToken}` : identityToken
        if (accessToken) out['x-forwarded-access-token'] = accessToken
      }
      return out
    },
  }
}

/** Printable ASCII except `%`: what an identity value may keep as is in a header. */
const HEADER_PLAIN = /^[\x20-\x24\x26-\x7e]*$/

/**
 * An identity value (user, e-mail, one role) as it goes into an upstream header: printable ASCII
 * as is, everything else — non-ASCII, and `%` itself so the encoding is unambiguous — as the
 * percent-encoded UTF-8 bytes (`日本` → `%E6%97%A5%E6%9C%AC`, `50%` → `50%25`); the upstream
 * decodes with decodeURIComponent. Header values are Latin-1 on the wire, so a name outside it
 * would otherwise be refused by the HTTP stack (a 502) or mangled. The signed identity JWT
 * carries the raw value.
 */
export function identityHeaderValue(value: string): string {
  if (HEADER_PLAIN.test(value)) return value
  return value.replace(/[^\x20-\x24\x26-\x7e]+/g, (run) => encodeURIComponent(run.replace(/[\uD800-\uDFFF]/g, (c, i: number, all: string) => (isPaired(all, i) ? c : '\uFFFD'))))
}

function isPaired(text: string, index: number): boolean {
  const code = text.charCodeAt(index)
  if (code <= 0xdbff) return index + 1 < text.length && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00
  return index > 0 && (text.charCodeAt(index - 1) & 0xfc00) === 0xd800
}

function normalize(name: string): string {
  return name.trim().toLowerCase().replace(/_/g, '-')
}

function schemeOf(value: string | string[]): string {
  const text = Array.isArray(value) ? value[0] ?? '' : value
  return text.trimStart().split(' ', 1)[0]!.toLowerCase()
}
