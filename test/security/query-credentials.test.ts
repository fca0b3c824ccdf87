import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { BOB, login, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { rawRequest } from './raw-http.js'

const KEY = 'k3y-0123456789-abcdefghij'
const MARK = 'k3y-0123456789'

/**
 * Credentials in the query string, in every position, spelling and repetition: the upstream, the
 * logs and the login page's `rd` must never see them. Configured: API key in `?api_key=`, JWT in
 * `?jwt=`. The caller also has a session (bob), so each request reaches the upstream whether or
 * not the gateway itself could use the credential in that spelling.
 *
 * Each row: [query string (after `/app?`), what the upstream must receive, why].
 */
const PROBES: ReadonlyArray<readonly [string, string, string]> = [
  [`api_key=${KEY}`, '/app', 'the only parameter'],
  [`x=1&api_key=${KEY}`, '/app?x=1', 'last'],
  [`api_key=${KEY}&x=1`, '/app?x=1', 'first'],
  [`x=1&api_key=${KEY}&y=2`, '/app?x=1&y=2', 'in the middle'],
  [`api_key=${KEY}&api_key=${KEY}`, '/app', 'repeated'],
  [`api_key=&api_key=${KEY}`, '/app', 'repeated, the first one empty'],
  [`api_key=${KEY}&`, '/app', 'trailing &'],
  [`&&api_key=${KEY}`, '/app', 'leading empty pairs'],
  [`api%5Fkey=${KEY}`, '/app', 'encoded _ in the name'],
  [`%61%70%69_key=${KEY}`, '/app', 'every letter encoded'],
  [`api%255Fkey=${KEY}`, '/app', 'double-encoded name'],
  [`API_KEY=${KEY}`, '/app', 'upper case (ASP.NET reads names case-insensitively)'],
  [`Api_Key=${KEY}&x=1`, '/app?x=1', 'mixed case'],
  [`api+key=${KEY}`, '/app', '+ for space (PHP reads it as _)'],
  [`api%20key=${KEY}`, '/app', '%20 for space'],
  [`api.key=${KEY}`, '/app', '. (PHP reads it as _)'],
  [`api_key[]=${KEY}`, '/app', 'PHP array suffix'],
  [`api_key%5B0%5D=${KEY}`, '/app', 'encoded PHP array suffix'],
  [`+api_key=${KEY}`, '/app', 'leading space'],
  [`api_key=${KEY}+more`, '/app', '+ in the value'],
  [`api_key=${KEY}%20more`, '/app', '%20 in the value'],
  [`x=1;api_key=${KEY}`, '/app?x=1', '; as a separator (CGI parsers)'],
  [`jwt=${KEY}`, '/app', 'the JWT parameter'],
  [`JWT=${KEY}&x=1`, '/app?x=1', 'the JWT parameter in upper case'],
  [`j%77t=${KEY}`, '/app', 'the JWT parameter encoded'],
  // What is not a credential parameter keeps its exact bytes.
  ['api_keys=1&xapi_key=2', '/app?api_keys=1&xapi_key=2', 'other names sharing letters'],
  ['q=a%20b+c&r=%2F', '/app?q=a%20b+c&r=%2F', 'untouched encoding'],
  ['a=1&&b=2', '/app?a=1&&b=2', 'empty pairs kept when nothing is removed'],
]

describe('security: credentials in the query string never go further', () => {
  let gw: TestGateway
  let bob: string
  before(async () => {
    gw = await startTestGateway({
      auth: {
        apikey: { header: null, query: 'api_key', keys: [{ key: KEY, user: 'svc', roles: ['admin'] }] },
        jwt: { sources: ['header', 'query:jwt'], algorithms: ['HS256'], secret: 'j'.repeat(32) },
      },
      routes: [{ path: '/open', auth: 'none' }],
    })
    bob = (await login(gw.url, BOB.username, BOB.password)).cookie!
  })
  after(() => gw.close())

  for (const [query, forwarded, why] of PROBES) {
    test(`/app?${query} → upstream sees ${forwarded} (${why})`, async () => {
      const response = await rawRequest(gw.url, `/app?${query}`, { cookie: bob, accept: 'application/json' })
      assert.equal(response.status, 200, response.body)
      assert.equal(gw.received.at(-1)!.url, forwarded)
    })
  }

  test('the API key alone, as the only parameter, authenticates and is not forwarded', async () => {
    const response = await rawRequest(gw.url, `/app?api_key=${KEY}`, { accept: 'application/json' })
    assert.equal(response.status, 200)
    assert.equal(gw.received.at(-1)!.url, '/app')
    assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'svc')
  })

  test('on an auth: none route the parameters are removed too', async () => {
    for (const query of [`api_key=${KEY}`, `API_KEY=${KEY}&x=1`, `jwt=${KEY}`]) {
      const response = await rawRequest(gw.url, `/open/page?${query}`, {})
      assert.equal(response.status, 200)
      assert.ok(!gw.received.at(-1)!.url.includes(MARK), gw.received.at(-1)!.url)
    }
  })

  test('the login redirect\'s rd never carries them', async () => {
    for (const query of [`API_KEY=${KEY}&x=1`, `api.key=${KEY}`, `x=1;api_key=${KEY}`]) {
      const response = await rawRequest(gw.url, `/app?${query}`, { accept: 'text/html' })
      assert.equal(response.status, 302)
      const location = String(response.headers.location)
      assert.ok(!decodeURIComponent(location).includes(MARK), location)
    }
  })

  test('pathological parameter names are handled in linear time (no regex backtracking)', async () => {
    const started = performance.now()
    for (const query of [`${'['.repeat(14000)}=1`, `${'%5B'.repeat(4600)}=1`, `${'['.repeat(14000)}]=1`]) {
      const response = await rawRequest(gw.url, `/app?${query}`, { cookie: bob, accept: 'application/json' })
      assert.equal(response.status, 200)
    }
    assert.ok(performance.now() - started < 400, `took ${Math.round(performance.now() - started)} ms`)
  })

  test('no log line ever holds them', () => {
    assert.ok(gw.logs.length > 0)
    assert.deepEqual(gw.logs.filter((line) => line.includes(MARK)), [])
  })
})
