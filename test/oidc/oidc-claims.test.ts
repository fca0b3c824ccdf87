import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startTestGateway } from '../helpers/gateway.js'
import { CookieJar, signInThrough, startTestProvider } from '../helpers/oidc-provider.js'

const reasonOf = async (response: Response) => ((await response.json()) as { reason?: string }).reason

describe('OIDC claims, roles and ID token checks (real provider)', () => {
  test('user_claim and a dotted roles_claim; allowed_roles refuses others with a clear 403 page; no access token upstream without pass_access_token', async () => {
    const op = await startTestProvider()
    const gw = await startTestGateway({
      auth: { oidc: [{ name: 'op', issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret, user_claim: 'email', roles_claim: 'realm_access.roles', allowed_roles: ['realm-admin'] }] },
      session: { cookie: { secure: false } },
    })
    op.configure(gw.url)
    try {
      op.nextLogin = 'carol'
      const jar = new CookieJar()
      assert.equal((await signInThrough(jar, gw.url)).status, 302)
      const proxied = await fetch(`${gw.url}/x`, { headers: { cookie: jar.header(gw.url)! } })
      assert.equal(proxied.status, 200)
      const seen = gw.received.at(-1)!.headers
      assert.equal(seen['x-forwarded-user'], 'carol@example.com')
      assert.equal(seen['x-forwarded-groups'], 'realm-admin')
      assert.equal(seen['x-forwarded-access-token'], undefined)

      op.nextLogin = 'dave'
      const refusedJar = new CookieJar()
      const refused = await signInThrough(refusedJar, gw.url)
      assert.equal(refused.status, 403)
      assert.equal(await reasonOf(refused), 'oidc_role_not_allowed')
      assert.equal(refusedJar.get(gw.url, 'gatehouse_session'), undefined, 'no session')
      // A browser gets the same refusal as a page that says why.
      op.nextLogin = 'dave'
      const browserJar = new CookieJar()
      const html = await signInThrough(browserJar, gw.url, 'op', { accept: 'text/html' })
      assert.equal(html.status, 403)
      assert.match(await html.text(), /Your account at op has none of the roles this site requires\./)
    } finally {
      await gw.close()
      await op.close()
    }
  })

  test('an ID token signed with HS256 (outside the asymmetric allow-list) is refused: 401 oidc_bad_id_token, no session', async () => {
    const op = await startTestProvider({ clientMetadata: { id_token_signed_response_alg: 'HS256' }, providerConfig: { enabledJWA: { idTokenSigningAlgValues: ['RS256', 'HS256'] } } })
    const gw = await startTestGateway({
      auth: { oidc: [{ name: 'op', issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret }] },
      session: { cookie: { secure: false } },
    })
    op.configure(gw.url)
    try {
      const jar = new CookieJar()
      const response = await signInThrough(jar, gw.url)
      assert.equal(response.status, 401)
      assert.equal(await reasonOf(response), 'oidc_bad_id_token')
      assert.equal(jar.get(gw.url, 'gatehouse_session'), undefined)
    } finally {
      await gw.close()
      await op.close()
    }
  })

  test('with the form off, the login page shows only the provider, and signed-out browsers are sent there', async () => {
    const op = await startTestProvider()
    const gw = await startTestGateway({
      auth: { form: { enabled: false }, oidc: [{ name: 'op', issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret }] },
      session: { cookie: { secure: false } },
    })
    op.configure(gw.url)
    try {
      const redirected = await fetch(`${gw.url}/app`, { headers: { accept: 'text/html' }, redirect: 'manual' })
      assert.equal(redirected.status, 302)
      assert.equal(redirected.headers.get('location'), `/_gatehouse/login?rd=${encodeURIComponent('/app')}`)
      const page = await (await fetch(`${gw.url}/_gatehouse/login?rd=%2Fapp`)).text()
      assert.match(page, />Sign in with op</)
      assert.doesNotMatch(page, /name="password"/)
      assert.equal((await fetch(`${gw.url}/_gatehouse/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice","password":"x"}' })).status, 404)
    } finally {
      await gw.close()
      await op.close()
    }
  })
})
