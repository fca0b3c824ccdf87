import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import { z } from 'zod'
import { parseDuration } from './duration.js'

/**
 * The whole configuration file as one zod schema. Defaults live here and only here.
 * Durations come out as milliseconds; `null` means "disabled" (written `0` or `false`).
 */

const HOUR = 3_600_000
const DAY = 24 * HOUR

function duration(options: { min?: number; minText?: string } = {}) {
  return z.unknown().transform((value, ctx): number => {
    const ms = parseDuration(value)
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like "30m", got ${JSON.stringify(value)}` })
      return z.NEVER
    }
    if (options.min !== undefined && ms < options.min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${options.minText}, got ${JSON.stringify(value)}` })
      return z.NEVER
    }
    return ms
  })
}

/** A timeout that `0`, `false` or `null` turns off. */
function optionalTimeout() {
  return z.unknown().transform((value, ctx): number | null => {
    if (value === false || value === null || value === 0 || value === '0') return null
    const ms = parseDuration(value)
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like "30m", got ${JSON.stringify(value)}` })
      return z.NEVER
    }
    return ms
  })
}

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}, { message: 'expected an http:// or https:// URL' })

const upstreamSchema = z.union([
  httpUrl.transform((url) => ({ url, timeout: 60_000, connect_timeout: 10_000, idle_timeout: null as number | null })),
  z.strictObject({
    url: httpUrl,
    /** No response headers within this → 504. */
    timeout: duration().default(60_000),
    connect_timeout: duration().default(10_000),
    /** Silence mid-response (SSE, long polling) before the stream is cut; off by default: open until the upstream closes it. */
    idle_timeout: optionalTimeout().default(null),
  }),
], { error: 'expected an upstream URL, or {url, timeout, connect_timeout, idle_timeout}' })
export type UpstreamConfig = z.output<typeof upstreamSchema>

const listenSchema = z.union([z.string(), z.number().int()]).transform((value, ctx) => {
  const text = String(value)
  const match = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(text)
  const port = match ? Number(match[2]) : NaN
  if (!match || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected "host:port" or a port number, got ${JSON.stringify(value)}` })
    return z.NEVER
  }
  const host = match[1] ? match[1].replace(/^\[|\]$/g, '') : '127.0.0.1'
  return { host, port }
})

/** `10.0.0.0/8`, `::1/128` or a bare address (a single host). */
const cidrSchema = z.string().refine((value) => {
  const [address = '', prefix, ...rest] = value.split('/')
  const family = isIP(address.trim())
  if (family === 0 || rest.length > 0) return false
  return prefix === undefined || (/^\d{1,3}$/.test(prefix.trim()) && Number(prefix) <= (family === 4 ? 32 : 128))
}, { message: 'expected a CIDR like "10.0.0.0/8" or "::1/128"' })

const authMode = z.enum(['required', 'optional', 'none'])
export const AUTH_METHODS = ['session', 'jwt', 'apikey', 'basic', 'external_basic', 'anonymous'] as const
const routeSchema = z.strictObject({
  path: z.string().startsWith('/', { message: 'must start with "/"' }),
  upstream: upstreamSchema.optional(),
  auth: authMode.default('required'),
  /** Which ways to authenticate apply on this route (default: all configured). */
  methods: z.array(z.enum(AUTH_METHODS)).min(1).optional(),
  roles: z.array(z.string()).optional(),
  /** Kong's request termination for the anonymous identity on this route. */
  deny_anonymous: z.strictObject({ status: z.number().int().min(400).max(599).default(403), message: z.string().default('anonymous access is not allowed here') }).optional(),
})
export type RouteConfig = z.output<typeof routeSchema>

const secretSchema = z
  .string()
  .refine((s) => Buffer.byteLength(s, 'utf8') >= 32, { message: 'must be at least 32 bytes long' })

const secretsSchema = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  z
    .array(secretSchema, { error: (issue) => (issue.input === undefined ? 'required: a list of secrets, each at least 32 bytes long' : undefined) })
    .min(1, { message: 'at least one secret of 32 bytes or more is required' }),
)

/** Config-time twin of http/hosts.ts `underDomain` (config imports nothing): `a.b.example.com` under `example.com`, on a label boundary. */
const normalizeDomain = (domain: string) => domain.toLowerCase().replace(/^\./, '').replace(/\.$/, '')
const underDomain = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`)

const cookieSchema = z.strictObject({
  name: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { message: 'not a valid cookie name' }).default('gatehouse_session'),
  domain: z.string().optional(),
  path: z.string().startsWith('/').default('/'),
  secure: z.boolean().default(true),
  same_site: z.enum(['strict', 'lax', 'none']).default('strict'),
  /** CHIPS: the browser keeps the cookie per top-level site (a gateway embedded cross-site). Needs same_site: none. */
  partitioned: z.boolean().default(false),
  /** Several parent domains: the cookie gets the one the request's host falls under (host-only under none). */
  domains: z.array(z.string().regex(/^\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/, { message: 'expected a domain like "example.com"' })).min(1).optional(),
}).superRefine((cookie, ctx) => {
  if (cookie.partitioned && cookie.same_site !== 'none') {
    ctx.addIssue({ code: 'custom', path: ['partitioned'], message: 'requires same_site: none (browsers only partition cross-site cookies)' })
  }
  if (cookie.domain !== undefined && cookie.domains !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['domains'], message: 'set either domain (one) or domains (several), not both' })
  }
  const listed = (cookie.domains ?? []).map(normalizeDomain)
  listed.forEach((domain, index) => {
    const other = listed.findIndex((candidate, at) => at !== index && underDomain(domain, candidate))
    // Overlapping entries would give a browser two session cookies for one host.
    if (other !== -1) ctx.addIssue({ code: 'custom', path: ['domains', index], message: `"${domain}" is under "${listed[other]}" (also listed): the entries must not overlap` })
  })
})

const logoutSchema = z.strictObject({
  path: z.string().startsWith('/').optional(),
  methods: z.array(z.enum(['GET', 'POST', 'DELETE'])).min(1).default(['GET', 'POST', 'DELETE']),
  query_arg: z.string().optional(),
  post_arg: z.string().optional(),
  redirect_url: httpUrl.optional(),
  /** Origins (e.g. https://app.example.com) whose pages may call logout with fetch(..., {credentials: 'include'}). */
  allowed_origins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, { message: 'expected an origin like "https://app.example.com" (no path)' })).default([]),
})

const sessionSchema = z
  .strictObject({
    storage: z.enum(['cookie', 'memory', 'sqlite', 'redis', 'postgres']).default('sqlite'),
    sqlite: z.strictObject({ path: z.string().min(1).default('./gatehouse-sessions.db') }).prefault({}),
    redis: z
      .strictObject({
        url: z.string().optional(),
        prefix: z.string().default('gatehouse:'),
        cluster: z.array(z.string()).optional(),
        sentinel: z
          .strictObject({ name: z.string(), nodes: z.array(z.string()).min(1), password: z.string().optional() })
          .optional(),
      })
      .prefault({}),
    postgres: z.strictObject({ url: z.string().optional(), table: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('gatehouse_sessions') }).prefault({}),
    idle_timeout: optionalTimeout().default(8 * HOUR),
    rolling_timeout: optionalTimeout().default(HOUR),
    lifespan: optionalTimeout().default(30 * DAY),
    cleanup_interval: duration({ min: 10_000, minText: '10s' }).default(HOUR),
    /** How often a sliding session's last-seen time is written back (idle precision). */
    touch_interval: duration().default(60_000),
    /** How long an id replaced by rolling renewal keeps working, for requests already in flight. */
    rotation_grace: duration().default(10_000),
    /** In-process read cache for network stores (redis, postgres); 0 = a store round trip per request. */
    cache_ttl: duration().default(2_000),
    max_sessions: z.number().int().min(1).max(1000).optional(),
    /** Let a session started from a JWT outlive the token's `exp`. */
    outlive_token: z.boolean().default(false),
    allowed_redirect_hosts: z.array(z.string().min(1)).default([]),
    /** A "Remember me" checkbox at login: only then does the cookie persist (Max-Age); otherwise it ends with the browser. */
    remember_me: z.strictObject({ enabled: z.boolean().default(false), lifespan: duration({ min: 60_000, minText: '1m' }).default(30 * DAY) }).prefault({}),
    cookie: cookieSchema.prefault({}),
    logout: logoutSchema.prefault({}),
    /** Cookie storage only: where revocations (logout, admin, CLI, removed users) are kept; same settings as `sqlite`/`redis`/`postgres`. */
    revocation: z.strictObject({ storage: z.enum(['sqlite', 'redis', 'postgres', 'memory']).default('sqlite') }).prefault({}),
  })
  .superRefine((session, ctx) => {
    // Last-seen is written at most once per touch_interval: with an idle timeout no longer than
    // that, activity never extends the session (it ends idle_timeout after login, however busy).
    if (session.idle_timeout !== null && session.idle_timeout <= session.touch_interval) {
      ctx.addIssue({ code: 'custom', path: ['idle_timeout'], message: `must be longer than session.touch_interval (${session.touch_interval / 1000}s), or activity never extends the session; lower touch_interval or raise idle_timeout` })
    }
    if (session.cookie.same_site === 'none' && !session.cookie.secure) {
      ctx.addIssue({ code: 'custom', path: ['cookie', 'same_site'], message: '"none" requires cookie.secure: true (browsers drop it otherwise)' })
    }
    if (session.storage === 'cookie' && session.max_sessions !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['max_sessions'], message: 'cannot be enforced with storage "cookie" (no server-side record); use a server-side store' })
    }
  })
export type SessionConfig = z.output<typeof sessionSchema>

/**
 * A user name from the configuration (users, API key users, the anonymous user): it reaches
 * upstream headers and logs, so no control characters (CR/LF injection), no whitespace at either
 * end (`"alice "` would be read as `alice`), no lone UTF-16 surrogates. Any script is fine.
 */
const headerSafeName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$/, { message: 'must not contain control characters' })
  .regex(/^\S(?:[\s\S]*\S)?$/u, { message: 'must not begin or end with whitespace' })
  .refine((name) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name), { message: 'must be well-formed Unicode' })

const userSchema = z.strictObject({
  username: headerSafeName,
  password_hash: z.string().min(1).optional(),
  roles: z.array(z.string()).default([]),
  email: z.string().optional(),
})
export type UserConfig = z.output<typeof userSchema>

const usersSchema = z.union([z.array(userSchema), z.strictObject({ file: z.string().min(1) })], {
  error: 'expected a list of {username, password_hash, roles, email} or {file: PATH}',
})

/** `header`, `cookie:<name>` or `query:<param>`: where a JWT may come from. */
const jwtSource = z.string().regex(/^(header|cookie:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|query:[A-Za-z0-9_.~-]+)$/, {
  message: 'expected "header", "cookie:<name>" or "query:<param>"',
})
const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const

const jwtSchema = z
  .strictObject({
    sources: z.array(jwtSource).min(1).default(['header']),
    algorithms: z.array(z.enum(JWT_ALGORITHMS, { error: `not an allowed algorithm (one of ${JWT_ALGORITHMS.join(', ')}; "none" is never accepted)` })).min(1).optional(),
    secret: z.string().refine((s) => Buffer.byteLength(s) >= 32, { message: 'must be at least 32 bytes long' }).optional(),
    public_key: z.string().min(1).optional(),
    public_key_file: z.string().min(1).optional(),
    jwks_url: httpUrl.optional(),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    clock_tolerance: duration().default(30_000),
    max_age: duration().optional(),
    user_claim: z.string().min(1).default('sub'),
    roles_claim: z.string().min(1).default('roles'),
    validate_against_users: z.boolean().default(false),
    /** Whether a header or cookie token starts a gateway session (a query token always does). */
    create_session: z.boolean().default(false),
  })
  .superRefine((jwt, ctx) => {
    const sources = [jwt.secret, jwt.public_key, jwt.public_key_file, jwt.jwks_url].filter((v) => v !== undefined).length
    if (sources !== 1) ctx.addIssue({ code: 'custom', message: 'set exactly one of secret, public_key, public_key_file, jwks_url' })
    const hmac = jwt.algorithms?.filter((a) => a.startsWith('HS')) ?? []
    if (jwt.secret !== undefined && jwt.algorithms && hmac.length !== jwt.algorithms.length) {
      ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'only HS256/HS384/HS512 can be used with a shared secret' })
    }
    if (jwt.secret === undefined && hmac.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'HS algorithms need `secret`; a public key must never verify an HMAC token' })
    }
    const duplicate = jwt.sources.find((source, index) => jwt.sources.indexOf(source) !== index)
    if (duplicate) ctx.addIssue({ code: 'custom', path: ['sources'], message: `"${duplicate}" is listed twice` })
  })


const apiKeySchema = z
  .strictObject({
    header: z.string().min(1).nullable().default('X-API-Key'),
    query: z.string().regex(/^[A-Za-z0-9_.~-]+$/, { message: 'expected a query parameter name' }).optional(),
    keys: z
      .array(
        z
          .strictObject({
            key: z.string().min(16, { message: 'API keys must be at least 16 characters' }).optional(),
            key_sha256: z.string().regex(/^[0-9a-f]{64}$/i, { message: 'expected 64 hex characters' }).optional(),
            user: headerSafeName,
            roles: z.array(z.string().regex(/^[^,\x00-\x1f\x7f]+$/, { message: 'must not contain commas or control characters' })).default([]),
          })
          .refine((k) => (k.key === undefined) !== (k.key_sha256 === undefined), { message: 'set exactly one of key, key_sha256' })
          // The plain key is hashed here and dropped: the parsed configuration never holds it.
          .transform(({ key, key_sha256, user, roles }) => ({ key_sha256: key_sha256?.toLowerCase() ?? createHash('sha256').update(key!).digest('hex'), user, roles })),
      )
      .min(1),
    /** Start a gateway session after a valid key (Kong's session plugin after key-auth); default per request. */
    create_session: z.boolean().default(false),
  })
  .refine((a) => a.header !== null || a.query !== undefined, { message: 'set header, query or both' })
  .superRefine((a, ctx) => {
    const seen = new Set<string>()
    a.keys.forEach((k, index) => {
      if (seen.has(k.key_sha256)) ctx.addIssue({ code: 'custom', path: ['keys', index], message: 'the same key is listed twice' })
      seen.add(k.key_sha256)
    })
  })

/**
 * `auth.login_limit`: failed password logins per user and per client IP. On with these defaults
 * when the key is absent; `false` turns it off.
 */
const loginLimitSchema = z.union([
  z.literal(false),
  z.strictObject({
    /** Failures of one user name within `window` that start a block of that name. */
    attempts: z.number().int().min(1).max(10_000).default(5),
    window: duration({ min: 1_000, minText: '1s' }).default(15 * 60_000),
    /** How long a block lasts from its start; attempts during it are refused and never extend it. */
    block: duration({ min: 1_000, minText: '1s' }).default(15 * 60_000),
    /** Failures from one client IP within `window` that start a block of that IP. */
    per_ip_attempts: z.number().int().min(1).max(1_000_000).default(100),
  }),
], { error: 'expected false or {attempts, window, block, per_ip_attempts}' })
export type LoginLimitConfig = Exclude<z.output<typeof loginLimitSchema>, false>

// --- OIDC (auth.oidc) -------------------------------------------------------------------------
/** A claim name or a dotted path into nested claims (`realm_access.roles`). */
const claimPath = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, { message: 'expected a claim name or a dotted path like "realm_access.roles"' })
const oidcProviderSchema = z
  .strictObject({
    /** In URLs (`<prefix>/oidc/<name>/…`) and in sessions' provider `{type: oidc, name}`. */
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: 'expected a URL-safe name: lower-case letters, digits, "-" and "_" (up to 63)' }),
    issuer: httpUrl,
    client_id: z.string().min(1),
    client_secret: z.string().min(1).optional(),
    /** Read once at startup (a Kubernetes/Docker secret file); surrounding whitespace is dropped. */
    client_secret_file: z.string().min(1).optional(),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { message: 'not a valid scope' })).min(1).default(['openid', 'profile', 'email']),
    /** Default: `preferred_username`, then `sub`. */
    user_claim: claimPath.optional(),
    roles_claim: claimPath.default('groups'),
    email_claim: claimPath.default('email'),
    /** When set, only users with one of these roles get a session; others a 403 page. */
    allowed_roles: z.array(z.string().min(1)).min(1).optional(),
    /** Renew the access token with the refresh token when it expires; a refused refresh ends the session. */
    refresh: z.boolean().default(true),
    /** Send the current access token upstream in `X-Forwarded-Access-Token`. */
    pass_access_token: z.boolean().default(false),
    /** Logout goes on to the provider's `end_session_endpoint` (RP-initiated logout). */
    end_session: z.boolean().default(true),
  })
  .superRefine((provider, ctx) => {
    if ((provider.client_secret === undefined) === (provider.client_secret_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['client_secret'], message: 'set exactly one of client_secret, client_secret_file' })
    }
    if (!provider.scopes.includes('openid')) ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'must include "openid"' })
  })
export type OidcProviderConfig = z.output<typeof oidcProviderSchema>
const oidcSchema = z.array(oidcProviderSchema).superRefine((providers, ctx) => {
  const seen = new Set<string>()
  providers.forEach((provider, index) => {
    if (seen.has(provider.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `"${provider.name}" is used by another provider` })
    seen.add(provider.name)
  })
})
// --- end OIDC ---------------------------------------------------------------------------------

const authSchema = z.strictObject({
  form: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
  basic: z.strictObject({ enabled: z.boolean().default(false), realm: z.string().regex(/^[^"\\\r\n]*$/).default('Gatehouse'), create_session: z.boolean().default(false) }).prefault({}),
  external_basic: z.strictObject({ url: httpUrl, cache_ttl: duration().default(60_000), timeout: duration().default(5_000), create_session: z.boolean().default(false) }).optional(),
  apikey: apiKeySchema.optional(),
  jwt: jwtSchema.optional(),
  anonymous: z.strictObject({ enabled: z.boolean().default(false), user: headerSafeName.default('anonymous'), roles: z.array(z.string()).default([]) }).prefault({}),
  login_limit: loginLimitSchema.prefault({}),
  /** OpenID Connect providers (see the OIDC block above). */
  oidc: oidcSchema.default([]),
}).superRefine((auth, ctx) => {
  // One query parameter cannot be both a JWT and an API key: it would be checked as either.
  const jwtParams = auth.jwt?.sources.filter((s) => s.startsWith('query:')).map((s) => s.slice(6)) ?? []
  if (auth.apikey?.query !== undefined && jwtParams.includes(auth.apikey.query)) {
    ctx.addIssue({ code: 'custom', path: ['apikey', 'query'], message: `"${auth.apikey.query}" is also a JWT source (auth.jwt.sources)` })
  }
})
export type AuthConfig = z.output<typeof authSchema>
export type JwtConfig = NonNullable<AuthConfig['jwt']>

const identityHeadersSchema = z.strictObject({
  user: z.string().default('X-Forwarded-User'),
  groups: z.string().default('X-Forwarded-Groups'),
  email: z.string().default('X-Forwarded-Email'),
  /** A short-lived EdDSA JWT for the upstream, signed by the gateway. */
  jwt: z
    .strictObject({
      enabled: z.boolean().default(true),
      header: z.string().default('Authorization'),
      ttl: duration().default(60_000),
      issuer: z.string().default('gatehouse'),
      audience: z.string().optional(),
      private_key_file: z.string().optional(),
    })
    .optional(),
})

export const configSchema = z
  .strictObject({
    listen: listenSchema.default({ host: '127.0.0.1', port: 4180 }),
    public_url: httpUrl.optional(),
    upstream: upstreamSchema.optional(),
    routes: z.array(routeSchema).default([]),
    secrets: secretsSchema,
    session: sessionSchema.prefault({}),
    users: usersSchema.default([]),
    auth: authSchema.prefault({}),
    identity_headers: identityHeadersSchema.prefault({}),
    admin: z.strictObject({ token: z.string().min(32).optional(), roles: z.array(z.string()).default(['admin']) }).prefault({}),
    endpoints: z
      .strictObject({
        prefix: z.string().regex(/^\/[A-Za-z0-9_\-/]*[A-Za-z0-9_-]$/, { message: 'expected a path like "/_gatehouse"' }).default('/_gatehouse'),
        /** Who may frame the gateway's pages (CSP frame-ancestors); empty = nobody. */
        frame_ancestors: z.array(z.string().regex(/^(https?:\/\/[^/\s]+|'self')$/, { message: `expected an origin like "https://app.example.com" or "'self'"` })).default([]),
        /** Also set that frame-ancestors policy on proxied responses. */
        frame_ancestors_on_proxied: z.boolean().default(false),
      })
      .prefault({}),
    log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
    /** The listener speaks HTTPS with this PEM certificate (chain) and key; both re-read on reload (SIGHUP). */
    tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
    /** Peers whose X-Forwarded-For/-Proto/-Host and forward-auth headers are believed. */
    trusted_proxies: z.array(cidrSchema).default(['127.0.0.0/8', '::1/128']),
    /** Processes serving requests (node:cluster): a count, or `auto` for one per core. A digit string (from `${VAR}`) is a count. */
    workers: z
      .preprocess(
        (value) => (typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value),
        z.union([z.number().int().min(1, { message: 'must be at least 1 (or "auto")' }).max(1024, { message: 'must be at most 1024' }), z.literal('auto')], { error: 'expected a number of workers (1 or more) or "auto"' }),
      )
      .default(1),
  })
  .superRefine((config, ctx) => {
    // `auto` counts as several: whether a config is valid must not depend on the machine.
    if ((config.workers === 'auto' || config.workers > 1) && config.session.storage === 'memory') {
      ctx.addIssue({ code: 'custom', path: ['workers'], message: 'memory storage keeps sessions in one process; use sqlite, redis, postgres or cookie with more than one worker' })
    }
    const domains = config.session.cookie.domains
    if (config.public_url && domains && !domains.some((domain) => underDomain(normalizeDomain(new URL(config.public_url!).hostname), normalizeDomain(domain)))) {
      ctx.addIssue({ code: 'custom', path: ['session', 'cookie', 'domains'], message: `public_url's host falls under none of these domains: every cookie would be host-only` })
    }
    if ((config.workers === 'auto' || config.workers > 1) && config.session.storage === 'cookie' && config.session.revocation.storage === 'memory') {
      ctx.addIssue({ code: 'custom', path: ['session', 'revocation', 'storage'], message: 'memory keeps revocations in one process; use sqlite, redis or postgres with more than one worker' })
    }
    if (!config.upstream && config.routes.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['upstream'], message: 'required: set `upstream` or at least one entry in `routes`' })
    }
    config.routes.forEach((route, index) => {
      if (!route.upstream && !config.upstream) {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'upstream'], message: 'required when there is no top-level `upstream`' })
      }
    })
  })

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>
