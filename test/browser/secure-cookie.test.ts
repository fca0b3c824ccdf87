// The silent login loop, in a real browser: Chromium drops a Secure cookie set over plain http
// on a non-loopback host, so a successful login lands on the login page again. The page says
// why; on localhost (where Chromium keeps Secure cookies over http) there is no notice and no loop.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { browserSkip, launchBrowser, shot } from '../helpers/browser.js'
import { ALICE, startTestGateway, type TestGateway } from '../helpers/gateway.js'

const skip = browserSkip()

describe('Secure cookie over plain http, in headless Chromium', { skip }, () => {
  let browser: Browser
  let gw: TestGateway
  before(async () => {
    browser = await launchBrowser()
    gw = await startTestGateway() // session.cookie.secure: true, the default
  })
  after(async () => {
    await browser?.close()
    await gw?.close()
  })

  test('on http://app.gatehouse.test the login page warns, and indeed the login comes back to it', async () => {
    const port = new URL(gw.url).port
    const page = await browser.newPage()
    try {
      await page.goto(`http://app.gatehouse.test:${port}/dash`)
      assert.match(page.url(), /\/_gatehouse\/login\?rd=/)
      const notice = page.locator('#login-notice')
      assert.match((await notice.textContent()) ?? '', /plain http.*session cookie is marked Secure/)
      await page.screenshot({ path: shot('login-insecure-cookie') })
      await page.getByLabel('Username').fill(ALICE.username)
      await page.getByLabel('Password').fill(ALICE.password)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(/\/_gatehouse\/login\?rd=/)
      assert.equal(await notice.count(), 1, 'back on the login page, still saying why')
      assert.deepEqual((await page.context().cookies()).filter((c) => c.name === 'gatehouse_session'), [], 'the browser did drop the cookie')
      assert.ok(gw.logs.some((line) => line.includes('"event":"insecure_cookie"')), 'and the log says so at the login')
    } finally {
      await page.close()
    }
  })

  test('on http://localhost there is no notice and the login works', async () => {
    const port = new URL(gw.url).port
    const page = await browser.newPage()
    try {
      await page.goto(`http://localhost:${port}/dash`)
      assert.equal(await page.locator('#login-notice').count(), 0)
      await page.getByLabel('Username').fill(ALICE.username)
      await page.getByLabel('Password').fill(ALICE.password)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(`http://localhost:${port}/dash`)
      assert.match(await page.content(), /alice/)
    } finally {
      await page.close()
    }
  })
})
