import assert from 'node:assert/strict'
import { createCipheriv, randomBytes } from 'node:crypto'
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { sealKeys } from '../../src/session/codec.js'
import { deriveKeys } from '../../src/session/keys.js'
import { SessionCookie } from '../../src/session/session-cookie.js'
import { createCookieStore } from '../../src/session/store/cookie.js'
import { ALICE, BOB, get, login, SECRET, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { rawRequest } from './raw-http.js'

/**
 * Attacks on the session cookie itself, each probe as data: a sealed cookie replayed under
 * another cookie name or from another deployment, cookie tossing (two values for one name), and
 * an upstream setting the gateway's own cookie.
 */

const NAME = 'gatehouse_session'
const HOUR = 3600_000

/** The earlier codec layout (version 1: no name in the additional data), rebuilt here from its documented format. */
function sealV1(plaintext: string, key: Buffer, id: Buffer): string {
  const header = Buffer.concat([Buffer.of(1), id])
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(header)
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]).toString('base64url')
}

describe('cookie storage: a seal is bound to its cookie name', () => {
  let gw: TestGateway
  before(async () => (gw = await startTestGateway({ session: { storage: 'cookie' } })))
  after(() => gw.close())

  const fields = (now: number) => ({ user: 'alice', roles: ['admin'], provider: { type: 'form', name: 'form' }, createdAt: now, lastSeen: now, renewedAt: now, idleExpiresAt: now + HOUR, lifespanExpiresAt: now + HOUR, client: {} })
  const keys = (secret: string) => sealKeys(deriveKeys([secret], 'session-cookie-seal'))
  // [probe, how the cookie value was made, accepted by this gateway (cookie name gatehouse_session)?]
  const probes: [string, (now: number) => Promise<string>, boolean][] = [
    ['sealed by this deployment (same secrets, same name)', async (now) => (await createCookieStore(keys(SECRET), NAME).create(fields(now), { now })).token, true],
    ['sealed by another deployment with the same secrets, cookie name other_session', async (now) => (await createCookieStore(keys(SECRET), 'other_session').create(fields(now), { now })).token, false],
    ['same secrets, the name differing in case only (Gatehouse_session)', async (now) => (await createCookieStore(keys(SECRET), 'Gatehouse_session').create(fields(now), { now })).token, false],
    ['same secrets, a chunk name (gatehouse_session.1)', async (now) => (await createCookieStore(keys(SECRET), `${NAME}.1`).create(fields(now), { now })).token, false],
    ['same name, another secret', async (now) => (await createCookieStore(keys('x'.repeat(40)), NAME).create(fields(now), { now })).token, false],
    ['the pre-binding layout (version 1) with the same secret', async (now) => { const [k] = keys(SECRET); return sealV1(JSON.stringify({ ...fields(now), id: 'a'.repeat(64) }), k!.key, k!.id) }, false],
  ]
  for (const [name, make, accepted] of probes) {
    test(`${name} → ${accepted ? 'accepted' : '401, cookie deleted'}`, async () => {
      const token = await make(gw.clock.now())
      const answer = await get(gw.url, '/x', { cookie: `${NAME}=${token}` })
      assert.equal(answer.status, accepted ? 200 : 401)
      if (!accepted) assert.ok(answer.headers.getSetCookie().some((line) => line.startsWith(`${NAME}=;`) && line.includes('Max-Age=0')))
    })
  }
})

describe('cookie tossing: two different values for the session cookie are refused', () => {
  let gw: TestGateway
  let alice: string
  let bob: string
  before(async () => {
    gw = await startTestGateway()
    alice = (await login(gw.url, ALICE.username, ALICE.password)).cookie!.split('=')[1]!
    bob = (await login(gw.url, BOB.username, BOB.password)).cookie!.split('=')[1]!
  })
  after(() => gw.close())

  // [probe, Cookie header ({A}: alice's value, {B}: bob's, as a sibling subdomain would toss it), path, status]
  const probes: [string, string, string, number][] = [
    ['one cookie', 'gatehouse_session={A}', '/x', 200],
    ['identical duplicates (host-only and Domain copies of one value)', 'gatehouse_session={A}; gatehouse_session={A}', '/x', 200],
    ['another user\'s cookie tossed first', 'gatehouse_session={B}; gatehouse_session={A}', '/x', 400],
    ['another user\'s cookie tossed last', 'gatehouse_session={A}; gatehouse_session={B}', '/x', 400],
    ['a garbage value beside the real one', 'gatehouse_session={A}; gatehouse_session=garbage', '/x', 400],
    ['a quoted copy of another value, no spaces', 'gatehouse_session={A};gatehouse_session="{B}"', '/x', 400],
    ['an empty value beside the real one', 'gatehouse_session=; gatehouse_session={A}', '/x', 400],
    ['a look-alike name is another cookie', 'gatehouse_session={A}; Gatehouse_session={B}; gatehouse_sessionx={B}', '/x', 200],
    ['on the session endpoint', 'gatehouse_session={A}; gatehouse_session={B}', '/_gatehouse/session', 400],
    ['on forward-auth (nginx)', 'gatehouse_session={A}; gatehouse_session={B}', '/_gatehouse/auth', 400],
  ]
  for (const [name, header, path, status] of probes) {
    test(`${name} on ${path} → ${status}`, async () => {
      const answer = await rawRequest(gw.url, path, { cookie: header.replaceAll('{A}', alice).replaceAll('{B}', bob) })
      assert.equal(answer.status, status, answer.body)
      if (status === 400) {
        assert.ok(answer.reason === 'duplicate_session_cookie' || answer.headers['gatehouse-reason'] === 'duplicate_session_cookie', answer.body)
        // Nothing is deleted: the browser cannot be told which cookie to drop, and dropping ours would leave the tossed one in charge.
        assert.equal(answer.headers['set-cookie'], undefined)
      }
    })
  }

  test('logout with both still ends the sessions presented', async () => {
    const a = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
    const b = (await login(gw.url, BOB.username, BOB.password)).cookie!
    const answer = await rawRequest(gw.url, '/_gatehouse/logout', { cookie: `${a}; ${b}` }, 'POST')
    assert.equal(answer.status, 200)
    assert.equal((await get(gw.url, '/x', { cookie: a })).status, 401)
    assert.equal((await get(gw.url, '/x', { cookie: b })).status, 401)
  })

  // Chunked cookies (cookie storage with a long session): [Cookie header, result].
  const chunks: [string, string][] = [
    ['gh=2~aa; gh.1=bb', 'aabb'],
    ['gh=2~aa; gh.1=bb; gh.1=bb', 'aabb'],
    ['gh=2~aa; gh.1=bb; gh.1=cc', 'refused'],
    ['gh=2~aa; gh.1=bb; gh=2~xx', 'refused'],
    ['gh=3~aa; gh.1=bb; gh.2=cc; gh.2=dd', 'refused'],
    ['gh=2~aa; gh.1=bb; gh.2=leftover', 'aabb'],
  ]
  const cookie = new SessionCookie({ name: 'gh', path: '/', secure: true, same_site: 'strict' })
  for (const [header, result] of chunks) {
    test(`chunks: ${header} → ${result}`, () => {
      if (result === 'refused') assert.throws(() => cookie.read(header), (error: { reason?: string }) => error.reason === 'duplicate_session_cookie')
      else assert.equal(cookie.read(header), result)
    })
  }
})

describe('an upstream cannot set the gateway\'s session cookie', () => {
  let gw: TestGateway
  let upstream: Server
  let cookie: string
  /** The Set-Cookie lines the upstream answers with (plain responses and WebSocket 101s alike). */
  let sends: string[] = []
  before(async () => {
    upstream = createServer((_req, res) => {
      res.setHeader('set-cookie', sends)
      res.end('ok')
    })
    upstream.on('upgrade', (_req, socket) => {
      socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', ...sends.map((line) => `Set-Cookie: ${line}`), '', ''].join('\r\n'))
      socket.end()
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
    gw = await startTestGateway({ routes: [{ path: '/', upstream: url }] })
    cookie = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
  })
  after(async () => {
    await gw.close()
    await new Promise((resolve) => upstream.close(resolve))
  })

  // [upstream's Set-Cookie line, reaches the browser?]
  const probes: [string, boolean][] = [
    ['gatehouse_session=planted; Path=/', false],
    ['gatehouse_session=; Max-Age=0', false],
    ['gatehouse_session.1=planted; Path=/', false],
    ['gatehouse_session.3=planted', false],
    [' gatehouse_session =planted', false],
    ['gatehouse_session=planted; Domain=example.com; Path=/app', false],
    ['Gatehouse_Session=x; Path=/', true],
    ['gatehouse_session_x=1', true],
    ['gatehouse_session.x=1', true],
    ['app=1; Path=/', true],
    ['app=1; gatehouse_session=attribute-not-name', true],
  ]
  for (const [line, reaches] of probes) {
    test(`plain response: ${JSON.stringify(line)} → ${reaches ? 'passed on' : 'removed'}`, async () => {
      sends = [line, 'other=1']
      const answer = await get(gw.url, '/page', { cookie })
      assert.equal(answer.status, 200)
      const lines = answer.headers.getSetCookie()
      // Header values arrive trimmed: compare trimmed, so a removed line cannot pass by its spacing alone.
      assert.equal(lines.some((sent) => sent.trim() === line.trim()), reaches, lines.join('\n'))
      assert.ok(lines.includes('other=1'), 'the upstream\'s other cookies pass')
    })

    test(`WebSocket 101: ${JSON.stringify(line)} → ${reaches ? 'passed on' : 'removed'}`, async () => {
      sends = [line, 'other=1']
      const headers = await upgrade(gw.url, '/live', cookie)
      const lines = headers['set-cookie'] ?? []
      assert.equal(lines.some((sent) => sent.trim() === line.trim()), reaches, lines.join('\n'))
      assert.ok(lines.includes('other=1'))
    })
  }

  test('the gateway\'s own renewal cookie still goes out beside the upstream\'s', async () => {
    sends = ['gatehouse_session=planted']
    gw.clock.advance(2 * HOUR)
    const answer = await get(gw.url, '/page', { cookie })
    const lines = answer.headers.getSetCookie().filter((line) => line.startsWith('gatehouse_session='))
    assert.equal(lines.length, 1)
    assert.notEqual(lines[0]!.split(';')[0], 'gatehouse_session=planted')
  })
})

/** Opens a WebSocket upgrade through the gateway and returns the 101's headers. */
function upgrade(base: string, path: string, cookie: string): Promise<IncomingHttpHeaders> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers: { cookie, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') } })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve(res.headers)
    })
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)))
    req.on('error', reject)
    req.end()
  })
}
