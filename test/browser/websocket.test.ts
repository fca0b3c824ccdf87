import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { WebSocketServer } from 'ws'
import { ALICE, startTestGateway } from '../helpers/gateway.js'
import { browserSkip, launchBrowser, shot } from '../helpers/browser.js'

const skip = browserSkip()

/** The page (on an `auth: none` route) opens a WebSocket to a guarded path and shows what happens. */
const CHAT_PAGE = `<!doctype html><title>Chat</title><h1>Chat</h1>
<p id="state">connecting</p><ol id="log"></ol>
<script>
  const log = (text) => { const li = document.createElement('li'); li.textContent = text; document.getElementById('log').append(li) }
  const ws = new WebSocket('ws://' + location.host + '/chat/ws')
  window.chat = ws
  ws.onopen = () => { document.getElementById('state').textContent = 'open' }
  ws.onmessage = (event) => log(event.data)
  ws.onclose = (event) => { document.getElementById('state').textContent = 'closed ' + event.code }
</script>`

describe('a real browser WebSocket through the gateway (headless Chromium)', { skip }, () => {
  let browser: Browser
  let upstream: Server
  const upgrades: string[] = []
  before(async () => {
    browser = await launchBrowser()
    upstream = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(CHAT_PAGE))
    const wss = new WebSocketServer({ noServer: true })
    upstream.on('upgrade', (req, socket, head) => {
      upgrades.push(String(req.headers['x-forwarded-user']))
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.send(`hello ${req.headers['x-forwarded-user']}`)
        ws.on('message', (data) => ws.send(`echo ${String(data)}`))
      })
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  })
  after(async () => {
    await browser?.close()
    upstream.closeAllConnections()
    upstream.close()
  })

  test('signed out the socket is refused; signed in it carries the identity; logout closes it', async () => {
    const gw = await startTestGateway({
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      routes: [{ path: '/public', auth: 'none' }],
      session: { cookie: { secure: false }, touch_interval: '300ms' },
    })
    const page = await browser.newPage()
    try {
      await page.goto(`${gw.url}/public/chat`)
      await page.waitForFunction(`document.getElementById('state').textContent.startsWith('closed')`)
      assert.equal(await page.locator('#state').textContent(), 'closed 1006', 'refused before any upgrade')
      assert.deepEqual(upgrades, [])

      await page.goto(`${gw.url}/_gatehouse/login?rd=${encodeURIComponent('/public/chat')}`)
      await page.getByLabel('Username').fill(ALICE.username)
      await page.getByLabel('Password').fill(ALICE.password)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(`${gw.url}/public/chat`)
      await page.waitForFunction(`document.getElementById('state').textContent === 'open'`)
      await page.locator('#log li', { hasText: 'hello alice' }).waitFor()
      await page.evaluate(`window.chat.send('from the browser')`)
      await page.locator('#log li', { hasText: 'echo from the browser' }).waitFor()
      assert.deepEqual(upgrades, ['alice'])
      await page.screenshot({ path: shot('websocket-open') })

      const status = await page.evaluate(async () => (await fetch('/_gatehouse/logout', { method: 'POST' })).status)
      assert.equal(status, 200)
      const started = Date.now()
      await page.waitForFunction(`document.getElementById('state').textContent.startsWith('closed')`, undefined, { timeout: 3_000 })
      assert.ok(Date.now() - started < 2_000, 'closed within the touch interval (plus a round)')
    } finally {
      await page.close()
      await gw.close()
    }
  })
})
