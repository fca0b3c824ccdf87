import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { hashPassword } from '../../src/auth/password.js'
import { createUserDirectory } from '../../src/auth/users.js'
import { parseConfig } from '../../src/config/load.js'
import { ConfigInvalid } from '../../src/errors.js'
import { SECRET, login, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { rawRequest } from './raw-http.js'

const JWT_SECRET = 'identity-encoding-test-secret-0123456789'
const hs256 = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET))
/** A value for a test title: controls, odd spaces and surrogates as \u escapes. */
const shown = (value: string) => JSON.stringify(value).replace(/[\x7f-\x9f\u00a0\u2028\u2029\u3000\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`

/**
 * Identity values through the real gateway: valid names in any script reach the upstream
 * percent-encoded (UTF-8) in the identity headers and raw in the identity JWT; names with control
 * characters or surrounding whitespace are refused in every source.
 *
 * JWT rows: [sub, expected X-Forwarded-User (or null: refused with 401 reason), why].
 */
const JWT_SUBJECTS: ReadonlyArray<readonly [string, string | null, string]> = [
  ['alice', 'alice', 'ASCII stays as is'],
  ['alice smith', 'alice smith', 'inner space stays'],
  ['日本', '%E6%97%A5%E6%9C%AC', 'non-Latin-1 (was a 502)'],
  ['José', 'Jos%C3%A9', 'Latin-1 is UTF-8 percent-encoded too (one encoding)'],
  ['50%off', '50%25off', '% itself is encoded, so decoding is unambiguous'],
  ['😀 grin', '%F0%9F%98%80 grin', 'outside the BMP'],
  ['alice ', null, 'trailing space (would be read as alice)'],
  [' alice', null, 'leading space'],
  ['alice\t', null, 'trailing tab'],
  ['\u3000alice', null, 'leading ideographic space'],
  ['alice\u00a0', null, 'trailing no-break space'],
  ['alice\r\nX-Evil: 1', null, 'CR/LF'],
  ['a\u0000b', null, 'NUL'],
  ['a\u0085b', null, 'C1 control (NEL)'],
  ['a\u2028b', null, 'line separator'],
  ['a\ud800b', null, 'lone surrogate'],
  ['', null, 'empty'],
  ['x'.repeat(257), null, 'over 256 characters'],
]

describe('security: identity values', () => {
  let gw: TestGateway
  let external: Server
  before(async () => {
    // External Basic service: every password "ok" is right.
    external = createServer((req, res) => {
      const decoded = Buffer.from(String(req.headers.authorization ?? '').slice(6), 'base64').toString('utf8')
      res.writeHead(decoded.endsWith(':ok') ? 200 : 401).end()
    })
    await new Promise<void>((resolve) => external.listen(0, '127.0.0.1', resolve))
    gw = await startTestGateway({
      users: [
        { username: '日本', password_hash: await hashPassword('nihon-password'), roles: ['管理', 'ops'], email: 'taro@例え.jp' },
        { username: 'Zoë', password_hash: await hashPassword('zoe-password-long'), roles: [] },
      ],
      auth: {
        form: { enabled: true },
        jwt: { sources: ['header', 'query:jwt'], algorithms: ['HS256'], secret: JWT_SECRET },
        external_basic: { url: `http://127.0.0.1:${(external.address() as AddressInfo).port}/check` },
        apikey: { keys: [{ key: 'api-key-for-the-kanji-user', user: '鍵ユーザー', roles: ['svc'] }] },
      },
      identity_headers: { jwt: { enabled: true, header: 'X-Identity-Token' } },
    })
  })
  after(async () => {
    await gw.close()
    await new Promise<void>((resolve) => external.close(() => resolve()))
  })

  const lastUpstream = () => gw.received.at(-1)!

  for (const [sub, header, why] of JWT_SUBJECTS) {
    test(`JWT sub ${shown(sub).slice(0, 40)} → ${header === null ? '401' : `200, ${header}`} (${why})`, async () => {
      const before = gw.received.length
      const response = await rawRequest(gw.url, '/whoami', { authorization: `Bearer ${await hs256({ sub })}`, accept: 'application/json' })
      if (header === null) {
        assert.equal(response.status, 401, response.body)
        assert.equal(response.reason, 'missing_user_claim')
        assert.equal(gw.received.length, before)
        return
      }
      assert.equal(response.status, 200, response.body)
      assert.equal(lastUpstream().headers['x-forwarded-user'], header)
      assert.equal(decodeURIComponent(header), sub)
    })
  }

  test('the identity JWT carries the raw name; groups and email are encoded one value at a time', async () => {
    const response = await rawRequest(gw.url, '/whoami', { authorization: `Bearer ${await hs256({ sub: '日本', roles: ['管理', 'ops'], email: 'taro@例え.jp' })}` })
    assert.equal(response.status, 200)
    const seen = lastUpstream().headers
    assert.equal(seen['x-forwarded-groups'], '%E7%AE%A1%E7%90%86,ops')
    assert.equal(seen['x-forwarded-email'], `taro@${encodeURIComponent('例え')}.jp`)
    const payload = JSON.parse(Buffer.from(String(seen['x-identity-token']).split('.')[1]!, 'base64url').toString('utf8')) as { sub: string }
    assert.equal(payload.sub, '日本')
  })

  test('forward-auth answers a non-Latin-1 user with the same encoded headers (was a 500)', async () => {
    const authorization = `Bearer ${await hs256({ sub: '日本', roles: ['管理', 'ops'], email: 'taro@例え.jp' })}`
    for (const path of ['/_gatehouse/auth', '/_gatehouse/forward-auth']) {
      const response = await rawRequest(gw.url, path, { authorization })
      assert.equal(response.status, 200, path)
      assert.equal(response.headers['x-forwarded-user'], '%E6%97%A5%E6%9C%AC')
      assert.equal(response.headers['x-auth-request-user'], '%E6%97%A5%E6%9C%AC')
      assert.equal(response.headers['x-auth-request-groups'], '%E7%AE%A1%E7%90%86,ops')
      assert.equal(response.headers['x-auth-request-email'], `taro@${encodeURIComponent('例え')}.jp`)
    }
  })

  test('a JWT in the URL becomes a session that keeps working for a non-Latin-1 user (was 502 after login)', async () => {
    const first = await rawRequest(gw.url, `/page?jwt=${await hs256({ sub: '日本' })}`, {})
    assert.equal(first.status, 302)
    const cookie = (first.headers['set-cookie'] as string[]).map((line) => line.split(';')[0]!).find((pair) => pair.startsWith('gatehouse_session=') && pair.length > 18)!
    for (let i = 0; i < 3; i++) {
      const response = await rawRequest(gw.url, '/page', { cookie, accept: 'application/json' })
      assert.equal(response.status, 200, response.body)
      assert.equal(lastUpstream().headers['x-forwarded-user'], '%E6%97%A5%E6%9C%AC')
    }
  })

  test('users-list names in any script: login, then 200 with the encoded name', async () => {
    for (const [user, password, encoded] of [['日本', 'nihon-password', '%E6%97%A5%E6%9C%AC'], ['Zoë', 'zoe-password-long', 'Zo%C3%AB']] as const) {
      const { response, cookie } = await login(gw.url, user, password)
      assert.equal(response.status, 200)
      const proxied = await rawRequest(gw.url, '/app', { cookie: cookie!, accept: 'application/json' })
      assert.equal(proxied.status, 200, proxied.body)
      assert.equal(lastUpstream().headers['x-forwarded-user'], encoded)
    }
    const session = await fetch(`${gw.url}/_gatehouse/session`, { headers: { cookie: (await login(gw.url, '日本', 'nihon-password')).cookie! } })
    assert.equal(((await session.json()) as { user: string }).user, '日本', 'JSON answers carry the raw name')
  })

  test('a login name with surrounding whitespace is not the user without it', async () => {
    const { response } = await login(gw.url, '日本 ', 'nihon-password')
    assert.equal(response.status, 401)
  })

  test('external Basic: a name in any script passes encoded; surrounding whitespace and controls are refused', async () => {
    const ok = await rawRequest(gw.url, '/x', { authorization: basic('山田', 'ok'), accept: 'application/json' })
    assert.equal(ok.status, 200, ok.body)
    assert.equal(lastUpstream().headers['x-forwarded-user'], encodeURIComponent('山田'))
    for (const name of ['alice ', ' alice', 'al\u0085ice', 'al\rice']) {
      const refused = await rawRequest(gw.url, '/x', { authorization: basic(name, 'ok'), accept: 'application/json' })
      assert.equal(refused.status, 401, JSON.stringify(name))
      assert.equal(refused.reason, 'malformed_credentials')
    }
  })

  test('API key users in any script pass encoded', async () => {
    const response = await rawRequest(gw.url, '/x', { 'x-api-key': 'api-key-for-the-kanji-user', accept: 'application/json' })
    assert.equal(response.status, 200, response.body)
    assert.equal(lastUpstream().headers['x-forwarded-user'], encodeURIComponent('鍵ユーザー'))
  })
})

/** Configuration rows: [where the bad value goes, value, expected problem line prefix]. */
const CONFIG_PROBES: ReadonlyArray<readonly [string, (value: string) => Record<string, unknown>, string, string]> = [
  ['users[].username', (v) => ({ users: [{ username: v }] }), 'alice ', 'users[0].username: must not begin or end with whitespace'],
  ['users[].username', (v) => ({ users: [{ username: v }] }), ' alice', 'users[0].username: must not begin or end with whitespace'],
  ['users[].username', (v) => ({ users: [{ username: v }] }), 'al\r\nice', 'users[0].username: must not contain control characters'],
  ['users[].username', (v) => ({ users: [{ username: v }] }), 'al\u0085ice', 'users[0].username: must not contain control characters'],
  ['auth.apikey.keys[].user', (v) => ({ auth: { apikey: { keys: [{ key: 'k'.repeat(20), user: v }] } } }), 'svc ', 'auth.apikey.keys[0].user: must not begin or end with whitespace'],
  ['auth.apikey.keys[].user', (v) => ({ auth: { apikey: { keys: [{ key: 'k'.repeat(20), user: v }] } } }), 'svc\n', 'auth.apikey.keys[0].user: must not contain control characters'],
  ['auth.anonymous.user', (v) => ({ auth: { anonymous: { enabled: true, user: v } } }), '\tguest', 'auth.anonymous.user: must not begin or end with whitespace'],
]

describe('security: identity values in the configuration', () => {
  for (const [where, build, value, problem] of CONFIG_PROBES) {
    test(`${where} ${shown(value)} → ${problem}`, () => {
      assert.throws(
        () => parseConfig({ upstream: 'http://127.0.0.1:1', secrets: [SECRET], ...build(value) }, {}),
        (error: unknown) => error instanceof ConfigInvalid && error.problems.some((line) => line.startsWith(problem)),
      )
    })
  }

  const directoryProbes: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
    [{ username: 'alice', roles: ['ops\r\nX-Evil: 1'] }, 'users[0].roles[0]: must not contain control characters'],
    [{ username: 'alice', roles: ['ops,admin'] }, 'users[0].roles[0]: must not contain commas'],
    [{ username: 'alice', roles: ['ops '] }, 'users[0].roles[0]: must not begin or end with whitespace'],
    [{ username: 'alice', email: 'a@x\r\n' }, 'users[0].email: must not contain control characters'],
    [{ username: 'alice', email: ' a@x' }, 'users[0].email: must not begin or end with whitespace'],
  ]
  test('users.file: problems carry the file key path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-users-'))
    const file = join(dir, 'users.yaml')
    writeFileSync(file, JSON.stringify([{ username: 'bob' }, { username: 'alice ' }, { username: 'eve\u2028' }]))
    const config = parseConfig({ upstream: 'http://127.0.0.1:1', secrets: [SECRET], users: { file } }, {})
    await assert.rejects(createUserDirectory(config), (error: unknown) =>
      error instanceof ConfigInvalid && error.problems.includes('users.file[1].username: must not begin or end with whitespace') && error.problems.includes('users.file[2].username: must not contain control characters'))
  })

  for (const [user, problem] of directoryProbes) {
    test(`users list ${shown(JSON.stringify(user))} → ${problem}`, async () => {
      const config = parseConfig({ upstream: 'http://127.0.0.1:1', secrets: [SECRET], users: [user] }, {})
      await assert.rejects(createUserDirectory(config), (error: unknown) => error instanceof ConfigInvalid && error.problems.includes(problem))
    })
  }
})
