import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { SignJWT } from 'jose'
import type { Browser, Page } from 'playwright-core'
import { browserSkip, launchBrowser, shot } from '../helpers/browser.js'
import { ALICE, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { binarySkip, CADDY, NGINX, startCaddy, startNginx, type FrontProxy } from '../helpers/front-proxies.js'

// The README's nginx and Caddy configs (examples/nginx.conf, examples/Caddyfile, only ports
// changed) in front of the real gateway, driven by headless Chromium: signed out → login page →
// login → app → rolling renewals (manual clock, rolling_timeout 2 s, idle_timeout 6 s) → still
// signed in → logout → signed out.
const SECOND = 1000
const JWT_SECRET = 'forward-auth-browser-jwt-secret-0123456789abcdef'

const proxies = [
  { name: 'nginx', skip: binarySkip(NGINX, 'nginx'), start: startNginx },
  { name: 'caddy', skip: binarySkip(CADDY, 'caddy'), start: startCaddy },
]

for (const proxy of proxies) {
  describe(`${proxy.name} in front (README config) with headless Chromium`, { skip: browserSkip() || proxy.skip }, () => {
    let browser: Browser
    let gw: TestGateway
    let front: FrontProxy
    before(async () => {
      gw = await startTestGateway({
        auth: { jwt: { secret: JWT_SECRET, issuer: 'tests', sources: ['header', 'query:jwt'] } },
        session: { rolling_timeout: '2s', rotation_grace: '1s', idle_timeout: '6s', touch_interval: '1s', cookie: { secure: false }, logout: { query_arg: 'sign_out' } },
      })
      const port = (url: string) => Number(new URL(url).port)
      front = await proxy.start({ gatehouse: port(gw.url), app: port(gw.upstreamUrl) })
      browser = await launchBrowser()
    })
    after(async () => {
      await browser?.close()
      await front?.stop()
      await gw?.close()
    })

    const signedInAsAlice = async (page: Page, label: string) => {
      assert.match(page.url(), /\/app\/page\?x=1&y=2$/, `${label}: on the app, not ${page.url()}`)
      assert.match(await page.content(), /x-forwarded-user<\/th><td>alice/, `${label}: the app sees alice`)
    }

    test('signed out → login page → app → several rolling renewals → still signed in → logout → signed out', async () => {
      const page = await browser.newPage()
      const app = `${front.url}/app/page?x=1&y=2`
      try {
        await page.goto(app)
        assert.match(page.url(), /\/_gatehouse\/login\?rd=/, `login page, not ${page.url()}\n${front.output()}`)
        assert.equal(new URL(page.url()).searchParams.get('rd'), app, 'rd is the whole original URL')
        await page.getByLabel('Username').fill(ALICE.username)
        await page.getByLabel('Password').fill(ALICE.password)
        await page.getByRole('button', { name: 'Sign in' }).click()
        await page.waitForURL(app)
        await signedInAsAlice(page, 'after login')
        await page.screenshot({ path: shot(`forward-auth-${proxy.name}-app`) })

        // 5 × 1.5 s: past three rolling timeouts, the renewal grace and the idle timeout; only checks ran.
        for (let i = 0; i < 5; i++) {
          gw.clock.advance(1.5 * SECOND)
          await page.goto(app)
          await signedInAsAlice(page, `check ${i + 1}`)
        }
        // A request that reaches the gateway itself renews the id, through the proxy's normal pass-through
        // (the admin API: alice is an admin; GET /session is read-only and renews nothing).
        const before = (await page.context().cookies()).find((c) => c.name === 'gatehouse_session')?.value
        await page.goto(`${front.url}/_gatehouse/admin/sessions`)
        const after = (await page.context().cookies()).find((c) => c.name === 'gatehouse_session')?.value
        assert.ok(before && after && before !== after, 'renewed on the gateway\'s own endpoint')
        for (let i = 0; i < 3; i++) {
          gw.clock.advance(1.5 * SECOND)
          await page.goto(app)
          await signedInAsAlice(page, `after renewal, check ${i + 1}`)
        }

        // Logout by the logout argument on an app URL, then signed out.
        await page.goto(`${front.url}/app/page?sign_out=1`)
        assert.match(page.url(), /\/_gatehouse\/login/, `after logout: ${page.url()}`)
        await page.goto(app)
        assert.match(page.url(), /\/_gatehouse\/login\?rd=/, 'signed out')
        assert.ok(!gw.received.some((r) => r.url.includes('sign_out')), 'the logout argument never reached the app')
      } finally {
        await page.close()
      }
    })

    test('a ?jwt= link ends in a session and a clean URL; the token never reaches the app', async () => {
      const context = await browser.newContext()
      const page = await context.newPage()
      try {
        const token = await new SignJWT({ roles: ['ops'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('carol').setIssuer('tests').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET))
        gw.received.length = 0
        await page.goto(`${front.url}/app/linked?a=1&jwt=${token}&b=2`)
        assert.equal(page.url(), `${front.url}/app/linked?a=1&b=2`)
        assert.match(await page.content(), /x-forwarded-user<\/th><td>carol/)
        assert.ok(!gw.received.some((r) => r.url.includes('jwt=') || JSON.stringify(r.headers).includes(token)), 'no token at the app')
      } finally {
        await context.close()
      }
    })

    test('an API client without credentials gets 401, and forged identity headers never reach the app', async () => {
      const response = await fetch(`${front.url}/app/api`, { headers: { accept: 'application/json', 'x-forwarded-user': 'mallory' } })
      assert.equal(response.status, 401)
      gw.received.length = 0
      const login = await fetch(`${front.url}/_gatehouse/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: ALICE.username, password: ALICE.password }) })
      assert.equal(login.status, 200)
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!
      const ok = await fetch(`${front.url}/app/api`, { headers: { cookie, 'x-forwarded-user': 'mallory', 'x-forwarded-email': 'm@evil.test' } })
      assert.equal(ok.status, 200)
      const seen = gw.received.at(-1)!
      assert.equal(seen.headers['x-forwarded-user'], 'alice')
      assert.equal(seen.headers['x-forwarded-email'], ALICE.email)
      // Other methods: the check is still a GET (nginx's subrequest would inherit the POST), the app gets the POST and its body.
      const post = await fetch(`${front.url}/app/form`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{"a":1}' })
      assert.equal(post.status, 200)
      assert.equal(gw.received.at(-1)!.method, 'POST')
      assert.equal(gw.received.at(-1)!.body, '{"a":1}')
      const anonymousPost = await fetch(`${front.url}/app/form`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
      assert.equal(anonymousPost.status, 401)
    })
  })
}
