import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import Provider from 'oidc-provider'

/**
 * A real OpenID Provider (the certified `oidc-provider` package) for tests, on 127.0.0.1 with
 * its own RSA key (so tests can also sign logout tokens with the provider's key, or another),
 * short token lifetimes, refresh tokens, RP-initiated and back-channel logout, and a tiny
 * interaction handler in place of a login UI: `GET /interaction/:uid` logs in `nextLogin`
 * (or shows a one-field form when it is null, for the browser test), consent is granted at once.
 */
export interface TestProvider {
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
  /** Builds the provider with the gateway's address in its client (redirect URIs, back-channel logout URI). */
  configure(gateway: string): Provider
  readonly provider: Provider
  /** The account the next interaction logs in; null: show the form; 'deny': answer access_denied. */
  nextLogin: string | null
  /** Signs a JWT with the provider's own key (as its logout tokens are) or, with `foreign`, another RSA key with the same kid. */
  sign(payload: JWTPayload, options?: { foreign?: boolean; alg?: string; typ?: string }): Promise<string>
  /** Stops answering (connection refused) until `resume`. */
  stop(): Promise<void>
  resume(): Promise<void>
  close(): Promise<void>
}

export interface TestAccount {
  readonly sub: string
  readonly preferred_username?: string
  readonly email?: string
  readonly groups?: readonly string[]
  readonly realm_access?: { roles: string[] }
}

export const ACCOUNTS: Record<string, TestAccount> = {
  carol: { sub: 'carol-sub', preferred_username: 'carol', email: 'carol@example.com', groups: ['staff', 'ops'], realm_access: { roles: ['realm-admin'] } },
  dave: { sub: 'dave-sub', preferred_username: 'dave', email: 'dave@example.com', groups: ['guests'] },
}

export async function startTestProvider(options: { providerName?: string; accessTokenTtl?: number; clientMetadata?: Record<string, unknown>; providerConfig?: Record<string, unknown> } = {}): Promise<TestProvider> {
  const keys = await generateKeyPair('RS256', { extractable: true })
  const foreign = await generateKeyPair('RS256', { extractable: true })
  const kid = 'test-key-1'
  const jwk = { ...(await exportJWK(keys.privateKey)), kid, alg: 'RS256', use: 'sig' }
  const clientId = 'gatehouse'
  const clientSecret = 'test-client-secret-0123456789abcdef'
  const name = options.providerName ?? 'op'

  // Listening first: the issuer names the port. The provider itself is built by `configure`,
  // once the gateway's address (its redirect URIs) is known; until then every request is a 503.
  let listener: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => void res.writeHead(503).end()
  let server: Server = createServer((req, res) => listener(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const issuer = `http://127.0.0.1:${port}`
  const state = { nextLogin: 'carol' as string | null, provider: undefined as Provider | undefined }

  const configure = (gateway: string): Provider => {
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [`${gateway}/_gatehouse/oidc/${name}/callback`],
        post_logout_redirect_uris: [`${gateway}/_gatehouse/login`, `${gateway}/`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        backchannel_logout_uri: `${gateway}/_gatehouse/oidc/${name}/backchannel-logout`,
        backchannel_logout_session_required: true,
        ...options.clientMetadata,
      },
    ],
    jwks: { keys: [jwk as never] },
    findAccount: async (_ctx: unknown, id: string) => {
      const account = Object.values(ACCOUNTS).find((a) => a.sub === id)
      if (!account) return undefined
      return { accountId: id, claims: async () => ({ ...account, groups: account.groups ? [...account.groups] : undefined }) }
    },
    claims: { openid: ['sub'], profile: ['preferred_username', 'realm_access'], email: ['email'], groups: ['groups'] },
    scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false }, backchannelLogout: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    pkce: { required: () => true },
    ttl: { AccessToken: options.accessTokenTtl ?? 120, IdToken: 120, RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    // Its SSRF guard refuses loopback targets; the gateway under test is on 127.0.0.1.
    fetch: (url: string, init: RequestInit & { dispatcher?: unknown }) => {
      delete init.dispatcher
      return fetch(url, init)
    },
    ...options.providerConfig,
  })
  const callback = provider.callback()
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer)
    const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname)
    if (!match) return callback(req, res)
    const details = await provider.interactionDetails(req, res)
    if (details.prompt.name === 'login') {
      let account = state.nextLogin
      if (match[2] && req.method === 'POST') account = new URLSearchParams(await body(req)).get('username')
      if (account === null) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        return res.end(`<!doctype html><title>Test OP login</title><form method="post" action="/interaction/${details.uid}/login"><label>User <input name="username"></label><button type="submit">Log in at the provider</button></form>`)
      }
      if (account === 'deny') return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user said no' }, { mergeWithLastSubmission: false })
      const sub = ACCOUNTS[account]?.sub ?? account
      return provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false })
    }
    const { missingOIDCScope, missingOIDCClaims } = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] }
    const grant = details.grantId ? ((await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string })) : new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string })
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '))
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims)
    const grantId = await grant.save()
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
  }
  listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(String((error as Error).message))
    })
  }
  state.provider = provider
  return provider
  }

  const sign = async (payload: JWTPayload, opts: { foreign?: boolean; alg?: string; typ?: string } = {}) =>
    new SignJWT(payload).setProtectedHeader({ alg: opts.alg ?? 'RS256', kid, typ: opts.typ ?? 'logout+jwt' }).sign(opts.foreign ? foreign.privateKey : keys.privateKey)

  return {
    issuer,
    clientId,
    clientSecret,
    configure,
    get provider() {
      return state.provider!
    },
    get nextLogin() {
      return state.nextLogin
    },
    set nextLogin(value) {
      state.nextLogin = value
    },
    sign,
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
    async resume() {
      server = createServer((req, res) => listener(req, res))
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (text += chunk))
    req.once('end', () => resolve(text))
    req.once('error', reject)
  })
}

/** A per-origin cookie jar for fetch-driven flows (name=value only; enough for these tests). */
export class CookieJar {
  readonly #cookies = new Map<string, Map<string, string>>()

  header(url: string): string | undefined {
    const jar = this.#cookies.get(new URL(url).origin)
    return jar && jar.size > 0 ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : undefined
  }

  take(url: string, response: Response): void {
    const origin = new URL(url).origin
    const jar = this.#cookies.get(origin) ?? new Map<string, string>()
    this.#cookies.set(origin, jar)
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === ''
      if (expired) jar.delete(name)
      else jar.set(name, value)
    }
  }

  get(url: string, name: string): string | undefined {
    return this.#cookies.get(new URL(url).origin)?.get(name)
  }

  set(url: string, name: string, value: string): void {
    const origin = new URL(url).origin
    const jar = this.#cookies.get(origin) ?? new Map<string, string>()
    this.#cookies.set(origin, jar)
    jar.set(name, value)
  }
}

/** GET with the jar, not following redirects. */
export async function get(jar: CookieJar, url: string, headers: Record<string, string> = {}): Promise<Response> {
  const cookie = jar.header(url)
  const response = await fetch(url, { redirect: 'manual', headers: { ...headers, ...(cookie ? { cookie } : {}) } })
  jar.take(url, response)
  return response
}

/**
 * Follows redirects by hand (cookies per origin) from `url` until the gateway's callback is
 * reached; returns the callback URL without requesting it (or the last response if it never is).
 */
export async function untilCallback(jar: CookieJar, url: string, callbackPrefix: string): Promise<{ callback: string | null; last: Response }> {
  let next = url
  for (let hops = 0; hops < 20; hops++) {
    if (next.startsWith(callbackPrefix)) return { callback: next, last: undefined as never }
    const response = await get(jar, next)
    const location = response.headers.get('location')
    if (!location || response.status < 300 || response.status >= 400) return { callback: null, last: response }
    next = new URL(location, next).href
  }
  throw new Error('too many redirects')
}

/** The whole sign-in through the gateway `base` (provider `name`): the callback's response. */
export async function signInThrough(jar: CookieJar, base: string, name = 'op', callbackHeaders: Record<string, string> = {}): Promise<Response> {
  const start = await get(jar, `${base}/_gatehouse/oidc/${name}/login`)
  const location = start.headers.get('location')
  if (start.status !== 302 || !location) throw new Error(`login answered ${start.status}`)
  const { callback, last } = await untilCallback(jar, location, `${base}/_gatehouse/oidc/${name}/callback`)
  if (!callback) throw new Error(`the provider did not come back: ${last.status} ${await last.text()}`)
  return get(jar, callback, callbackHeaders)
}
