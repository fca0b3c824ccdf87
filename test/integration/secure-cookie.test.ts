// A Secure session cookie over plain http to a real host is dropped by the browser: the login
// "succeeds" and the next page is the login page again. The gateway says so: a warning at start
// for a plain-http public_url, a notice on the login page, a warning in the log at login.
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { Writable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { parseConfig } from '../../src/config/load.js'
import { isLoopbackHost } from '../../src/server/secure-cookie.js'
import { startGateway } from '../../src/server/start.js'
import { createLogger } from '../../src/telemetry/logger.js'
import { ALICE, SECRET, startTestGateway, testUsers, type TestGateway } from '../helpers/gateway.js'

function send(base: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: body === undefined ? 'GET' : 'POST', headers, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

const NOTICE = /id="login-notice"[^>]*>This page was opened over plain http, but the session cookie is marked Secure/

describe('Secure cookie over plain http', () => {
  let gw: TestGateway
  let untrusting: TestGateway
  let relaxed: TestGateway
  before(async () => {
    gw = await startTestGateway()
    untrusting = await startTestGateway({ trusted_proxies: ['10.0.0.0/8'] })
    relaxed = await startTestGateway({ session: { cookie: { secure: false } } })
  })
  after(async () => {
    await gw.close()
    await untrusting.close()
    await relaxed.close()
  })

  test('the login page says the cookie will be dropped when opened over http on a non-loopback host', async () => {
    const page = await send(gw.url, '/_gatehouse/login', { host: 'gate.example.com', accept: 'text/html' })
    assert.equal(page.status, 200)
    assert.match(page.body, NOTICE)
    assert.match(page.body, /session\.cookie\.secure: false/)
  })

  test('no notice over https from a trusted proxy, on loopback hosts, or with secure: false', async () => {
    const port = new URL(gw.url).port
    const viaTls = await send(gw.url, '/_gatehouse/login', { host: 'gate.example.com', 'x-forwarded-proto': 'https' })
    assert.doesNotMatch(viaTls.body, /login-notice/, 'X-Forwarded-Proto: https from a trusted peer')
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `app.localhost:${port}`]) {
      assert.doesNotMatch((await send(gw.url, '/_gatehouse/login', { host })).body, /login-notice/, host)
    }
    assert.doesNotMatch((await send(relaxed.url, '/_gatehouse/login', { host: 'gate.example.com' })).body, /login-notice/)
  })

  test('X-Forwarded-Proto: https from a peer outside trusted_proxies does not hide the notice', async () => {
    const page = await send(untrusting.url, '/_gatehouse/login', { host: 'gate.example.com', 'x-forwarded-proto': 'https' })
    assert.match(page.body, NOTICE)
  })

  test('a login over plain http on a non-loopback host logs that the browser will drop the cookie', async () => {
    const reply = await send(gw.url, '/_gatehouse/login', { host: 'gate.example.com', 'content-type': 'application/json' }, JSON.stringify({ username: ALICE.username, password: ALICE.password }))
    assert.equal(reply.status, 200, reply.body)
    const line = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'insecure_cookie')
    assert.ok(line, 'insecure_cookie warning logged')
    assert.equal(line.user, 'alice')
    assert.equal(line.host, 'gate.example.com')
  })

  test('loopback hosts are those browsers keep Secure cookies for over http', () => {
    for (const host of ['localhost', 'LOCALHOST', 'app.localhost', '127.0.0.1', '127.8.9.10', '::1', '[::1]']) assert.ok(isLoopbackHost(host), host)
    for (const host of ['gate.example.com', '10.0.0.1', '192.168.1.2', 'localhost.example.com', '128.0.0.1', '::2']) assert.ok(!isLoopbackHost(host), host)
  })
})

describe('startup warning for a plain-http public_url', () => {
  const start = async (publicUrl: string, secure = true) => {
    const logs: string[] = []
    const logger = createLogger('info', new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) }))
    const config = parseConfig({ listen: '127.0.0.1:0', upstream: 'http://127.0.0.1:9', public_url: publicUrl, secrets: [SECRET], users: await testUsers(), session: { storage: 'memory', cookie: { secure } } }, {})
    const gateway = await startGateway(config, { logger })
    await gateway.close()
    return logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'insecure_cookie')
  }

  test('warns for http:// on a non-loopback host with cookie.secure: true', async () => {
    const [warning] = await start('http://gate.example.com')
    assert.ok(warning, 'warned')
    assert.equal(warning.level, 40)
    assert.match(String(warning.msg), /browsers will drop the session cookie/)
  })

  test('no warning for https, loopback or secure: false', async () => {
    assert.deepEqual(await start('https://gate.example.com'), [])
    assert.deepEqual(await start('http://localhost:4180'), [])
    assert.deepEqual(await start('http://gate.example.com', false), [])
  })
})
