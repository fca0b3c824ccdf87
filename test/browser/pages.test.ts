import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { ALICE, BOB, login, startTestGateway } from '../helpers/gateway.js'
import { browserSkip, launchBrowser, shot } from '../helpers/browser.js'

const skip = browserSkip()

describe('in a real browser (headless Chromium)', { skip }, () => {
  let browser: Browser
  before(async () => (browser = await launchBrowser()))
  after(() => browser?.close())

  test('log in through the form, see the upstream page with X-Forwarded-User, log out', async () => {
    const gw = await startTestGateway({ session: { cookie: { secure: false } } })
    const page = await browser.newPage()
    try {
      await page.goto(`${gw.url}/dashboards/app?tab=1`)
      assert.match(page.url(), /\/_gatehouse\/login\?rd=/)
      await page.screenshot({ path: shot('login-form') })
      await page.getByLabel('Username').fill(ALICE.username)
      await page.getByLabel('Password').fill('wrong password')
      await page.getByRole('button', { name: 'Sign in' }).click()
      assert.equal(await page.getByRole('alert').textContent(), 'Invalid username or password.')
      await page.getByLabel('Password').fill(ALICE.password)
      await page.keyboard.press('Enter')
      await page.waitForURL(`${gw.url}/dashboards/app?tab=1`)
      assert.equal(await page.locator('#user').textContent(), 'alice')
      assert.match(await page.content(), /x-forwarded-user<\/th><td>alice/)
      await page.screenshot({ path: shot('upstream-page'), fullPage: true })
      await page.getByRole('link', { name: 'Log out' }).click()
      await page.waitForURL(/\/_gatehouse\/login/)
      await page.goto(`${gw.url}/dashboards/app`)
      assert.match(page.url(), /\/_gatehouse\/login/, 'after logout the upstream asks for a login again')
    } finally {
      await page.close()
      await gw.close()
    }
  })

  test('an app on app.gatehouse.test logs the user out of the gateway embedded in its iframe with a CORS fetch', async () => {
    let app: Server | undefined
    const appPort = await new Promise<number>((resolve) => {
      app = createServer().listen(0, '127.0.0.1', () => resolve((app!.address() as AddressInfo).port))
    })
    const appOrigin = `http://app.gatehouse.test:${appPort}`
    const gw = await startTestGateway({
      session: { cookie: { secure: false }, logout: { allowed_origins: [appOrigin] } },
      endpoints: { frame_ancestors: [appOrigin], frame_ancestors_on_proxied: true },
    })
    const kibana = gw.url.replace('127.0.0.1', 'kibana.gatehouse.test')
    app!.on('request', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<!doctype html><title>App</title><h1>Embedding app</h1>
        <button id="logout">Log out everywhere</button><p id="result"></p>
        <iframe id="kibana" title="Kibana" src="${kibana}/dashboards" width="900" height="500"></iframe>
        <script>
          document.getElementById('logout').addEventListener('click', async () => {
            const response = await fetch('${kibana}/_gatehouse/logout', { method: 'POST', credentials: 'include' })
            document.getElementById('result').textContent = 'logout ' + response.status
            const frame = document.getElementById('kibana')
            frame.src = frame.src
          })
        </script>`)
    })
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } })
    try {
      await page.goto(`${kibana}/_gatehouse/login`)
      await page.getByLabel('Username').fill(ALICE.username)
      await page.getByLabel('Password').fill(ALICE.password)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(`${kibana}/`)

      await page.goto(appOrigin)
      const frame = page.frameLocator('#kibana')
      assert.equal(await frame.locator('#user').textContent(), 'alice')
      await page.screenshot({ path: shot('iframe-before-logout') })
      await page.getByRole('button', { name: 'Log out everywhere' }).click()
      await page.getByText('logout 200').waitFor()
      await frame.getByLabel('Username').waitFor()
      await page.screenshot({ path: shot('iframe-after-logout') })
    } finally {
      await page.close()
      await gw.close()
      app!.close()
    }
  })

  test('the session cookie ends with the browser unless "Remember me" is ticked; then it persists for remember_me.lifespan', async () => {
    const gw = await startTestGateway({ session: { cookie: { secure: false }, remember_me: { enabled: true, lifespan: '7d' } } })
    const signIn = async (remember: boolean) => {
      const page = await browser.newPage()
      await page.goto(`${gw.url}/_gatehouse/login`)
      const box = page.getByLabel('Remember me')
      assert.equal(await box.isChecked(), false, 'unticked by default')
      await page.getByLabel('Username').fill(ALICE.username)
      await page.getByLabel('Password').fill(ALICE.password)
      if (remember) await box.check()
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(`${gw.url}/`)
      const cookie = (await page.context().cookies()).find((c) => c.name === 'gatehouse_session')!
      await page.close()
      return cookie
    }
    try {
      // Playwright reports a browser-session cookie (no Max-Age/Expires) with expires -1.
      assert.equal((await signIn(false)).expires, -1)
      const remembered = await signIn(true)
      const days = (remembered.expires * 1000 - Date.now()) / 86_400_000
      assert.ok(days > 6.9 && days <= 7, `persists about 7 days, got ${days}`)
    } finally {
      await gw.close()
    }
  })

  test('the admin page lists two sessions; revoking one leaves the other working', async () => {
    const gw = await startTestGateway({ session: { cookie: { secure: false } } })
    const page = await browser.newPage({ viewport: { width: 1200, height: 600 } })
    try {
      const bob = await login(gw.url, BOB.username, BOB.password)
      await page.goto(`${gw.url}/_gatehouse/login?rd=/_gatehouse/admin/`)
      await page.getByLabel('Username').fill(ALICE.username)
      await page.getByLabel('Password').fill(ALICE.password)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(`${gw.url}/_gatehouse/admin/`)
      const rows = page.locator('#sessions tbody tr')
      await rows.nth(1).waitFor()
      assert.equal(await rows.count(), 2)
      assert.equal(await page.locator('tr.current td').first().textContent(), 'aliceyou', 'the admin\'s own session is marked')
      await page.screenshot({ path: shot('admin-two-sessions') })

      const bobRow = page.locator('#sessions tbody tr', { hasText: 'bob' })
      await bobRow.getByRole('button', { name: 'Revoke', exact: true }).focus()
      await page.keyboard.press('Enter')
      await page.getByText('Revoked a session of bob.').waitFor()
      await page.waitForFunction("document.querySelectorAll('#sessions tbody tr').length === 1")
      await page.screenshot({ path: shot('admin-after-revoke') })

      assert.equal((await fetch(`${gw.url}/x`, { headers: { cookie: bob.cookie! } })).status, 401, 'bob is logged out')
      assert.equal((await page.request.get(`${gw.url}/_gatehouse/session`)).status(), 200, 'alice still works')
    } finally {
      await page.close()
      await gw.close()
    }
  })
})
