import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { browserSkip, launchBrowser, shot } from '../helpers/browser.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { startTestProvider, type TestProvider } from '../helpers/oidc-provider.js'

const skip = browserSkip()

describe('OIDC in a real browser (headless Chromium) against a real provider', { skip }, () => {
  let browser: Browser
  let op: TestProvider
  let gw: TestGateway
  before(async () => {
    browser = await launchBrowser()
    op = await startTestProvider()
    gw = await startTestGateway({
      // Roles from a nested claim; the provider's realm-admin role is the gateway's admin role.
      auth: { oidc: [{ name: 'op', issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret, scopes: ['openid', 'profile', 'email'], roles_claim: 'realm_access.roles' }] },
      admin: { roles: ['realm-admin'] },
      session: { cookie: { secure: false } },
    })
    op.configure(gw.url)
    op.nextLogin = null // the provider shows its login form
  })
  after(async () => {
    await browser?.close()
    await gw?.close()
    await op?.close()
  })

  test('sign in with the provider, see the app, find the session on the admin page, log out at the provider (back-channel), then RP-initiated logout', async () => {
    const page = await browser.newPage()
    try {
      // Signed out: the login page offers the provider beside the password form.
      await page.goto(`${gw.url}/app/dashboard?tab=2`)
      assert.match(page.url(), /\/_gatehouse\/login\?rd=/)
      await page.screenshot({ path: shot('oidc-login-page') })
      await page.getByRole('link', { name: 'Sign in with op' }).click()
      // At the provider: its login form.
      await page.waitForURL(new RegExp(`^${op.issuer}/interaction/`))
      await page.getByLabel('User').fill('carol')
      await page.getByRole('button', { name: 'Log in at the provider' }).click()
      // Back at the gateway, then at the page first asked for.
      await page.waitForURL(`${gw.url}/app/dashboard?tab=2`)
      assert.equal(await page.locator('#user').textContent(), 'carol')
      assert.match(await page.content(), /x-forwarded-groups<\/th><td>realm-admin/)

      // The admin page lists the session under its provider, filtered by provider.
      await page.goto(`${gw.url}/_gatehouse/admin/`)
      await page.getByLabel('Provider').fill('oidc:op')
      await page.getByRole('button', { name: 'Apply' }).click()
      await page.getByRole('cell', { name: 'oidc · op' }).first().waitFor()
      assert.equal(await page.getByRole('button', { name: 'Revoke all matching' }).isVisible(), true)
      await page.screenshot({ path: shot('oidc-admin-page'), fullPage: true })

      // The user signs out at the provider itself (another app's logout): the provider tells the
      // gateway server to server (Back-Channel Logout), and the gateway session is over.
      await page.goto(`${op.issuer}/session/end`)
      await page.getByRole('button', { name: 'Yes, sign me out' }).click()
      await page.waitForLoadState('load')
      await waitFor(() => gw.logs.some((line) => line.includes('"event":"oidc_backchannel_logout"') && line.includes('"logins":1')), () => gw.logs.filter((line) => line.includes('oidc')).join('\n'))
      await page.goto(`${gw.url}/app/dashboard`)
      assert.match(page.url(), /\/_gatehouse\/login\?rd=/, 'the back-channel logout ended the gateway session')

      // Sign in again (the provider asks again: its session ended too), then log out at the gateway:
      // the local session ends and the browser goes on to the provider's end-session page.
      await page.getByRole('link', { name: 'Sign in with op' }).click()
      await page.getByLabel('User').fill('carol')
      await page.getByRole('button', { name: 'Log in at the provider' }).click()
      await page.waitForURL(`${gw.url}/app/dashboard`)
      await page.goto(`${gw.url}/_gatehouse/logout`)
      assert.ok(page.url().startsWith(op.issuer), `at the provider: ${page.url()}`)
      await page.getByRole('button', { name: 'Yes, sign me out' }).click()
      await page.waitForURL(new RegExp(`^${gw.url}/_gatehouse/login`))
      await page.goto(`${gw.url}/app/dashboard`)
      assert.match(page.url(), /\/_gatehouse\/login\?rd=/)
    } finally {
      await page.close()
    }
  })
})

async function waitFor(condition: () => boolean, explain: () => string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met in time: ${explain()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
