import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { ALICE, BOB, startTestGateway } from '../helpers/gateway.js'
import { browserSkip, launchBrowser, shot } from '../helpers/browser.js'

const skip = browserSkip()

describe('error pages and the admin sign-in link in a real browser (headless Chromium)', { skip }, () => {
  let browser: Browser
  before(async () => (browser = await launchBrowser()))
  after(() => browser?.close())

  test('signed out, the admin page shows a sign-in link that leads back to it', async () => {
    const gw = await startTestGateway({ session: { cookie: { secure: false } } })
    const page = await browser.newPage()
    try {
      await page.goto(`${gw.url}/_gatehouse/admin/`)
      const link = page.getByRole('link', { name: 'Sign in' })
      await link.waitFor()
      await page.screenshot({ path: shot('admin-signed-out') })
      await link.click()
      await page.getByLabel('Username').fill(ALICE.username)
      await page.getByLabel('Password').fill(ALICE.password)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(`${gw.url}/_gatehouse/admin/`)
      await page.locator('#sessions tbody tr').first().waitFor()
      assert.equal(await page.locator('#signin').isHidden(), true)
    } finally {
      await page.close()
      await gw.close()
    }
  })

  test('a refused page is a readable HTML page, not JSON', async () => {
    const gw = await startTestGateway({ session: { cookie: { secure: false } }, routes: [{ path: '/ops', roles: ['admin'] }] })
    const page = await browser.newPage()
    try {
      await page.goto(`${gw.url}/_gatehouse/login?rd=${encodeURIComponent('/ops/board')}`)
      await page.getByLabel('Username').fill(BOB.username)
      await page.getByLabel('Password').fill(BOB.password)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(`${gw.url}/ops/board`)
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), '403 · Access denied')
      assert.match(await page.locator('body').textContent() ?? '', /not allowed to see this page/)
      await page.screenshot({ path: shot('error-page-403') })
    } finally {
      await page.close()
      await gw.close()
    }
  })
})
