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
  httpUrl.transform((url) => ({ url, timeout: 60_000, connect_timeout: 10_000 })),
  z.strictObject({
    url: httpUrl,
    timeout: duration().default(60_000),
    connect_timeout: duration().default(10_000),
  }),
], { error: 'expected an upstream URL, or {url, timeout, connect_timeout}' })
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

const authMode = z.enum(['required', 'optional', 'none'])
const routeSchema = z.strictObject({
  path: z.string().startsWith('/', { message: 'must start with "/"' }),
  upstream: upstreamSchema.optional(),
  auth: authMode.default('required'),
  methods: z.array(z.string()).optional(),
  roles: z.array(z.string()).optional(),
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

const cookieSchema = z.strictObject({
  name: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { message: 'not a valid cookie name' }).default('gatehouse_session'),
  domain: z.string().optional(),
  path: z.string().startsWith('/').default('/'),
  secure: z.boolean().default(true),
  same_site: z.enum(['strict', 'lax', 'none']).default('strict'),
})

const logoutSchema = z.strictObject({
  path: z.string().startsWith('/').optional(),
  methods: z.array(z.enum(['GET', 'POST', 'DELETE'])).min(1).default(['GET', 'POST', 'DELETE']),
  query_arg: z.string().optional(),
  post_arg: z.string().optional(),
  redirect_url: httpUrl.optional(),
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
    allowed_redirect_hosts: z.array(z.string().min(1)).default([]),
    cookie: cookieSchema.prefault({}),
    logout: logoutSchema.prefault({}),
  })
  .superRefine((session, ctx) => {
    if (session.cookie.same_site === 'none' && !session.cookie.secure) {
      ctx.addIssue({ code: 'custom', path: ['cookie', 'same_site'], message: '"none" requires cookie.secure: true (browsers drop it otherwise)' })
    }
    if (session.storage === 'cookie' && session.max_sessions !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['max_sessions'], message: 'cannot be enforced with storage "cookie" (no server-side record); use a server-side store' })
    }
  })
export type SessionConfig = z.output<typeof sessionSchema>

const userSchema = z.strictObject({
  username: z.string().min(1),
  password_hash: z.string().min(1).optional(),
  roles: z.array(z.string()).default([]),
  email: z.string().optional(),
})
export type UserConfig = z.output<typeof userSchema>

const usersSchema = z.union([z.array(userSchema), z.strictObject({ file: z.string().min(1) })], {
  error: 'expected a list of {username, password_hash, roles, email} or {file: PATH}',
})

const authSchema = z.strictObject({
  form: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
})

const identityHeadersSchema = z.strictObject({
  user: z.string().default('X-Forwarded-User'),
  groups: z.string().default('X-Forwarded-Groups'),
  email: z.string().default('X-Forwarded-Email'),
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
    endpoints: z.strictObject({ prefix: z.string().regex(/^\/[A-Za-z0-9_\-/]*[A-Za-z0-9_-]$/, { message: 'expected a path like "/_gatehouse"' }).default('/_gatehouse') }).prefault({}),
    log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  })
  .superRefine((config, ctx) => {
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
