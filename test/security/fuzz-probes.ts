/**
 * Malformed requests for the fuzz pass, from a seeded PRNG: the same seed gives the same probes,
 * so a failure reproduces (FUZZ_SEED=<n> to replay a run, the seed is printed on failure).
 * Each probe is raw request bytes (latin1: every byte 0..255 goes out as written, as an
 * attacker's client would send it, not as fetch() would normalise it).
 */

/** mulberry32: tiny, fast, good enough to spread probes; not for anything secret. */
export function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Probe {
  readonly kind: ProbeKind
  /** The whole request, as sent. */
  readonly raw: string
}

export type ProbeKind = 'cookie' | 'token' | 'basic' | 'apikey' | 'path' | 'login' | 'forward-auth'

/** Real credentials to mutate (a mutated valid value reaches deeper code than random bytes). */
export interface Seeds {
  readonly sessionCookie: string
  readonly jwt: string
  readonly apiKey: string
  readonly basic: string
}

export function makeProbes(seed: number, count: number, seeds: Seeds): Probe[] {
  const random = prng(seed)
  const int = (n: number) => Math.floor(random() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!
  const chance = (p: number) => random() < p

  const ALPHABETS = [
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=',
    '%.;/\\:@?&=#[]{}"\' ,~!$*()<>|^`',
    '\u0080\u00ff\u00c3\u00a9\u00e2\u0082\u00ac\u00f0\u009f',
    '\u0000\u0001\t\u000b\u001f\u007f',
  ]
  const text = (max: number, alphabet = pick(ALPHABETS.slice(0, 4))) => {
    let out = ''
    const length = chance(0.05) ? 2000 + int(9000) : int(max)
    for (let i = 0; i < length; i++) out += alphabet[int(alphabet.length)]
    return out
  }
  const b64url = (value: string) => Buffer.from(value, 'latin1').toString('base64url')
  const mutate = (value: string): string => {
    let out = value
    for (let n = 1 + int(4); n > 0; n--) {
      const at = int(out.length + 1)
      switch (int(7)) {
        case 0:
          out = out.slice(0, at) // truncate
          break
        case 1:
          out = out.slice(0, at) + text(8) + out.slice(at) // insert
          break
        case 2:
          out = out.slice(0, at) + pick(ALPHABETS[0]!.split('')) + out.slice(at + 1) // flip one
          break
        case 3:
          out = out + out // repeat
          break
        case 4:
          out = out.slice(0, at) + pick(['.', '..', '=', '%', '%00', '%zz', ';', ',', ' ', '"']) + out.slice(at)
          break
        case 5:
          out = out.slice(at) + out.slice(0, at) // rotate
          break
        default:
          out = out.slice(0, at) + pick(ALPHABETS[3]!.split('')) + out.slice(at) // a raw high byte
      }
    }
    return out.slice(0, 20_000)
  }
  const jwtLike = (): string => {
    const headers = [
      '{"alg":"none"}',
      '{"alg":"HS256"}',
      '{"alg":"HS256","typ":"JWT","kid":"../../etc/passwd"}',
      '{"alg":"RS256","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}',
      '{"alg":"HS256","jku":"http://127.0.0.1:1/jwks"}',
      '{"alg":"HS256","crit":["exp"]}',
      '{"alg":"ES256","kid":1}',
      '{"alg":["HS256"]}',
      '{"alg":"HS256","b64":false,"crit":["b64"]}',
      `{"alg":"${text(20)}"}`,
      text(40),
      '[]',
      'null',
    ]
    const payloads = ['{"sub":"admin","exp":99999999999}', '{"sub":"日本","roles":["admin"]}', '{"sub":"a\\r\\nX: y"}', '{"sub":123}', '{"exp":"soon"}', '{"sub":"x","roles":"admin,root"}', text(60), '']
    const parts = [b64url(pick(headers)), b64url(pick(payloads)), chance(0.5) ? text(43, ALPHABETS[0]) : '']
    if (chance(0.15)) parts.push(text(10))
    if (chance(0.1)) parts.length = 1 + int(2)
    return chance(0.3) ? mutate(seeds.jwt) : parts.join('.')
  }
  const path = (): string => {
    const segments = ['app', 'api', 'private', '_gatehouse', 'admin', '..', '.', '%2e%2e', '%2E', '%2f', '%5c', ';x=1', '..;', '%252e', '%00', '%zz', '%', '~', '', 'A'.repeat(300), '\\..\\', '%c0%ae', '\u00c3\u00a9', '%ff', 'session', 'login', 'logout', 'auth', 'forward-auth']
    let out = chance(0.1) ? pick(['', '*', 'http://evil.example/', '//evil.example/x', '?x', '#f', text(20)]) : ''
    for (let n = int(8); n >= 0; n--) out += '/' + (chance(0.7) ? pick(segments) : text(12))
    if (chance(0.2)) out += pick(['.', '/', '//', '/.', ' ', '%20', '#frag'])
    if (chance(0.4)) out += '?' + Array.from({ length: 1 + int(4) }, () => `${pick(['jwt', 'api_key', 'API_KEY', 'rd', 'x', 'session_logout', text(6)])}=${chance(0.5) ? text(30) : mutate(seeds.jwt)}`).join(pick(['&', ';', '&&']))
    return out
  }

  const request = (target: string, headers: Record<string, string>, method = 'GET', body?: string): string => {
    const lines = [`${method} ${target} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)]
    if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body, 'latin1')}`)
    return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`
  }
  const accept = (): Record<string, string> => (chance(0.3) ? { accept: 'text/html' } : {})
  const safePath = () => pick(['/app', '/app/x?y=1', '/api/private', '/', '/_gatehouse/session', '/_gatehouse/auth', '/_gatehouse/admin/sessions'])

  const make: Record<ProbeKind, () => string> = {
    cookie: () => {
      const values = [mutate(seeds.sessionCookie), text(200), `${seeds.sessionCookie}; ${seeds.sessionCookie}`, `gatehouse_session=${text(100)}`, `gatehouse_session="${text(50)}"`, `${text(10)}=${text(10)}; gatehouse_session=${mutate(seeds.sessionCookie)}`, `gatehouse_session.0=${text(300)}; gatehouse_session.1=${text(300)}`, `access=${jwtLike()}`, ';;;=;', `gatehouse_session=${'%'.repeat(int(50))}`]
      let cookie = pick(values)
      if (!cookie.includes('=') || chance(0.3)) cookie = `gatehouse_session=${cookie}`
      return request(safePath(), { cookie, ...accept() })
    },
    token: () => {
      const token = jwtLike()
      switch (int(4)) {
        case 0:
          return request(safePath(), { authorization: `Bearer ${token}` })
        case 1:
          return request(safePath(), { authorization: `${pick(['bearer', 'BEARER', 'Bearer  ', 'Bearer\t', 'Token', 'Bearer'])} ${token}` })
        case 2:
          return request(safePath(), { cookie: `access=${token}`, ...accept() })
        default:
          return request(`/app?${pick(['jwt', 'JWT', 'j%77t', 'jwt[]', 'x=1&jwt'])}=${token}`, accept())
      }
    },
    basic: () => {
      const values = [
        `Basic ${Buffer.from(`${text(20)}:${text(20)}`, 'latin1').toString('base64')}`,
        `Basic ${text(40, ALPHABETS[1])}`,
        `Basic ${mutate(seeds.basic)}`,
        `Basic ${Buffer.from(text(30), 'latin1').toString('base64')}`,
        'Basic',
        'Basic ',
        `Basic ${Buffer.from(':', 'latin1').toString('base64')}`,
        `basic ${Buffer.from(`alice:${text(10)}`, 'latin1').toString('base64')}`,
        `Basic ${Buffer.from(`\u00e6\u0097\u00a5:${text(5)}`, 'latin1').toString('base64')}`,
        `Basic ${Buffer.from(`a\r\nb:c`, 'latin1').toString('base64')}`,
        `Basic ${'A'.repeat(5000)}`,
        `Basic ${text(20, ALPHABETS[4])}`,
      ]
      return request(safePath(), { authorization: pick(values), ...accept() })
    },
    apikey: () => {
      const key = chance(0.3) ? mutate(seeds.apiKey) : text(80)
      return chance(0.6) ? request(safePath(), { 'x-api-key': key }) : request(`/app?${pick(['api_key', 'API_KEY', 'api%5fkey', 'api.key', 'api_key[]'])}=${key}${chance(0.3) ? `&api_key=${text(10)}` : ''}`, accept())
    },
    path: () => request(path(), chance(0.5) ? { cookie: mutate(seeds.sessionCookie), ...accept() } : accept(), pick(['GET', 'GET', 'POST', 'HEAD', 'OPTIONS', 'DELETE', 'PROPFIND', text(6, 'ABCXYZ')])),
    login: () => {
      const bodies = [
        [`application/json`, JSON.stringify({ username: text(20), password: text(20) })],
        [`application/json`, `{"username":${pick(['1', 'null', '[]', '{}', '"a"'])},"password":"${text(10)}"}`],
        [`application/json`, text(60)],
        [`application/x-www-form-urlencoded`, `username=${text(30)}&password=${text(30)}&rd=${pick(['//evil', 'http://evil.example/', '/%2f%2fevil', text(20)])}`],
        [`application/x-www-form-urlencoded`, text(100)],
        [pick(['text/plain', 'multipart/form-data', text(10)]), text(50)],
      ] as const
      const [type, body] = pick(bodies)
      return request(pick(['/_gatehouse/login', '/_gatehouse/login?rd=' + text(20)]), { 'content-type': type, ...(chance(0.3) ? { origin: pick(['null', 'http://evil.example', text(20)]) } : {}) }, 'POST', body)
    },
    'forward-auth': () =>
      request(pick(['/_gatehouse/auth', '/_gatehouse/forward-auth']), {
        [pick(['x-original-url', 'x-original-uri', 'x-forwarded-uri'])]: chance(0.5) ? path() : text(60),
        [pick(['x-original-method', 'x-forwarded-method'])]: pick(['GET', 'POST', text(8), '']),
        'x-forwarded-host': pick(['example.com', text(20), '[::1]:80', 'a b']),
        'x-forwarded-proto': pick(['https', 'http', text(5)]),
        ...(chance(0.5) ? { cookie: mutate(seeds.sessionCookie) } : {}),
        ...accept(),
      }),
  }
  // Most of the budget on what the issue names (cookies, tokens, Basic, API keys, paths).
  const kinds: ProbeKind[] = ['cookie', 'cookie', 'token', 'token', 'basic', 'basic', 'apikey', 'apikey', 'path', 'path', 'login', 'forward-auth']
  return Array.from({ length: count }, (_, i) => {
    const kind = kinds[i % kinds.length]!
    return { kind, raw: make[kind]() }
  })
}
