import { readFile } from 'node:fs/promises'
import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import { BadRequest, ConfigInvalid, CredentialsRejected, RouteNotFound } from '../errors.js'
import type { Identity } from '../identity.js'
import type { Session } from '../session/session.js'
import type { SessionAdmin } from '../session/store/store.js'
import type { SharedState } from '../state/shared-state.js'
import type { Logger } from '../telemetry/logger.js'
import { OidcClient } from './client.js'
import { identityFromIdToken } from './identity.js'
import { LOGIN_TTL_MS, LoginStateCookie } from './login-state.js'
import { OidcLogins } from './logins.js'
import { LogoutTokenVerifier } from './logout-token.js'
import { TokenVault } from './token-vault.js'

const DAY = 86_400_000

export interface OidcDeps {
  readonly state: SharedState
  /** Absent on cookie storage. */
  readonly admin: SessionAdmin | undefined
  readonly clock: Clock
  readonly log: Logger
}

/** Everything OIDC, wired from `auth.oidc`: the routes (src/server/routes/oidc.ts), the session check and logout use it. */
export interface Oidc {
  readonly providers: readonly string[]
  readonly logins: OidcLogins
  /** The state cookie's name: never forwarded upstream. */
  readonly stateCookie: string
  /** The provider's authorization URL and the login cookie binding the callback to this browser. */
  begin(name: string, rd: string | null, redirectUri: string): Promise<{ location: string; setCookie: string }>
  /** Finishes a login: the identity for the new session, where to go, and the login cookie's deletion. */
  finish(name: string, cookieHeader: string | undefined, query: URLSearchParams, redirectUri: string): Promise<{ identity: Identity; rd: string | null }>
  clearLoginCookie(): string
  /** Back-Channel Logout 1.0; returns how many logins ended. */
  backchannel(name: string, logoutToken: unknown): Promise<number>
  /** Front-Channel Logout 1.0; returns how many logins ended and the provider's origin (who may frame the answer). */
  frontchannel(name: string, iss: string | null, sid: string | null): Promise<{ ended: number; providerOrigin: string }>
  /** At logout of an OIDC session: forgets its tokens; the provider's end-session URL when `end_session` is on. */
  afterLogout(session: Session, postLogoutRedirectUri: string): Promise<string | null>
}

/** Reads `client_secret_file`s; a missing or empty one is a config error with its key path. */
export async function readClientSecrets(config: Config): Promise<Map<string, string>> {
  const secrets = new Map<string, string>()
  const problems: string[] = []
  await Promise.all(
    config.auth.oidc.map(async (provider, index) => {
      if (provider.client_secret !== undefined) return void secrets.set(provider.name, provider.client_secret)
      try {
        const secret = (await readFile(provider.client_secret_file!, 'utf8')).trim()
        if (secret === '') problems.push(`auth.oidc[${index}].client_secret_file: ${provider.client_secret_file} is empty`)
        secrets.set(provider.name, secret)
      } catch (error) {
        problems.push(`auth.oidc[${index}].client_secret_file: cannot read ${provider.client_secret_file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
      }
    }),
  )
  if (problems.length > 0) throw new ConfigInvalid(problems)
  return secrets
}

export async function createOidc(config: Config, deps: OidcDeps): Promise<Oidc | null> {
  if (config.auth.oidc.length === 0) return null
  const secrets = await readClientSecrets(config)
  const clients = new Map(config.auth.oidc.map((provider) => [provider.name, new OidcClient(provider, secrets.get(provider.name)!)]))
  const vault = new TokenVault(deps.state, config.secrets)
  const loginState = new LoginStateCookie(config.secrets, config.session.cookie, `${config.endpoints.prefix}/oidc/`)
  const logins = new OidcLogins({
    clients,
    vault,
    admin: deps.admin,
    clock: deps.clock,
    log: deps.log,
    keepMs: config.session.lifespan ?? config.session.idle_timeout ?? 30 * DAY,
    livenessMs: Math.max(config.session.cache_ttl, 1_000),
  })
  const verifiers = new Map<string, Promise<LogoutTokenVerifier>>()

  const client = (name: string): OidcClient => {
    const found = clients.get(name)
    if (!found) throw new RouteNotFound(`no OIDC provider "${name}"`, { reason: 'unknown_oidc_provider' })
    return found
  }
  const verifier = (provider: OidcClient): Promise<LogoutTokenVerifier> => {
    let found = verifiers.get(provider.settings.name)
    if (!found) {
      found = provider.metadata().then((metadata) => new LogoutTokenVerifier(metadata.issuer, provider.settings.client_id, metadata.jwks_uri!))
      found.catch(() => verifiers.delete(provider.settings.name))
      verifiers.set(provider.settings.name, found)
    }
    return found
  }
  const refuse = (message: string, reason: 'oidc_no_login' | 'oidc_bad_state' | 'oidc_replayed' | 'oidc_denied') => new CredentialsRejected(message, { reason })

  return {
    providers: [...clients.keys()],
    logins,
    stateCookie: loginState.name,

    async begin(name, rd, redirectUri) {
      const provider = client(name)
      const { login, setCookie } = loginState.start(name, rd, deps.clock.now())
      const url = await provider.authorizationUrl(redirectUri, login)
      return { location: url.href, setCookie }
    },

    async finish(name, cookieHeader, query, redirectUri) {
      const provider = client(name)
      const now = deps.clock.now()
      const login = loginState.read(cookieHeader, name, now)
      if (!login) throw refuse('no sign-in was started in this browser, or it took too long; start again', 'oidc_no_login')
      if (query.get('state') !== login.state) throw refuse('the sign-in answer does not belong to the sign-in started in this browser', 'oidc_bad_state')
      if (query.has('error')) {
        deps.log.info({ event: 'oidc_denied', provider: name, error: query.get('error')?.slice(0, 64) }, 'identity provider refused the sign-in')
        throw refuse('the identity provider did not sign you in', 'oidc_denied')
      }
      // One callback per login: a replayed code (or state) is refused before the provider sees it again.
      if (!(await vault.firstUse('state', login.state, LOGIN_TTL_MS, now))) throw refuse('this sign-in was already completed', 'oidc_replayed')
      const callbackUrl = new URL(redirectUri)
      callbackUrl.search = query.toString()
      const tokens = await provider.redeem(callbackUrl, login)
      const handle = logins.newHandle()
      const identity = identityFromIdToken(tokens.claims, provider.settings, { handle })
      await logins.remember(handle, name, tokens, { sub: String(tokens.claims.sub), sid: typeof tokens.claims.sid === 'string' ? tokens.claims.sid : undefined })
      return { identity, rd: login.rd }
    },

    clearLoginCookie: () => loginState.clear(),

    async backchannel(name, logoutToken) {
      const provider = client(name)
      const claims = await (await verifier(provider)).verify(logoutToken)
      if (!(await vault.firstUse('jti', `${name}\n${claims.jti}`, claims.replayWindowMs, deps.clock.now()))) {
        throw new BadRequest('logout_token already used', { reason: 'logout_token_replayed' })
      }
      const ended = await logins.endBy(name, claims.sid !== undefined ? { sid: claims.sid } : { sub: claims.sub })
      deps.log.info({ event: 'oidc_backchannel_logout', provider: name, logins: ended }, 'back-channel logout')
      return ended
    },

    async frontchannel(name, iss, sid) {
      const provider = client(name)
      const metadata = await provider.metadata()
      if (iss === null || iss !== metadata.issuer) throw new BadRequest('iss is not this provider\'s issuer', { reason: 'bad_frontchannel_logout' })
      if (!sid) throw new BadRequest('sid is required', { reason: 'bad_frontchannel_logout' })
      const ended = await logins.endBy(name, { sid })
      deps.log.info({ event: 'oidc_frontchannel_logout', provider: name, logins: ended }, 'front-channel logout')
      return { ended, providerOrigin: new URL(metadata.issuer).origin }
    },

    async afterLogout(session, postLogoutRedirectUri) {
      const provider = clients.get(session.provider.name)
      const idToken = await logins.forget(session).catch(() => null)
      if (!provider?.settings.end_session) return null
      return provider.endSessionUrl(idToken ?? undefined, postLogoutRedirectUri)
    },
  }
}
