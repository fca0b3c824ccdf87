import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import WebSocket, { WebSocketServer } from 'ws'
import { ALICE, BOB, get, login, startTestGateway, type TestGateway } from '../helpers/gateway.js'

const API_KEY = 'ws-test-api-key-0123456789'

interface WsUpstream {
  url: string
  /** Headers of every upgrade request that reached the upstream. */
  upgrades: { url: string; headers: IncomingHttpHeaders }[]
  plain: { url: string; headers: IncomingHttpHeaders }[]
  close(): Promise<void>
}

/** A real WebSocket server (ws) that echoes messages; `/refuse` answers the upgrade with its own 403. */
async function startWsUpstream(): Promise<WsUpstream> {
  const upgrades: WsUpstream['upgrades'] = []
  const plain: WsUpstream['plain'] = []
  const server: Server = createServer((req, res) => {
    plain.push({ url: req.url!, headers: req.headers })
    res.writeHead(200, { 'content-type': 'text/plain' }).end('plain')
  })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    upgrades.push({ url: req.url!, headers: req.headers })
    if (req.url!.startsWith('/refuse')) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 12\r\n\r\nnot for you\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(`hello ${req.headers['x-forwarded-user'] ?? 'nobody'}`)
      ws.on('message', (data) => (String(data) === 'bye' ? ws.close(4000, 'bye from upstream') : ws.send(`echo ${String(data)}`)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades,
    plain,
    async close() {
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function wsUrl(base: string, path: string): string {
  return base.replace(/^http/, 'ws') + path
}

/** Opens a WebSocket; resolves with it and its first message, or rejects with the HTTP status of a refusal. */
function connect(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; first: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.once('message', (data) => resolve({ ws, first: String(data) }))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body, headers: res.headers })))
    })
    ws.once('error', reject)
  })
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve(1006) : ws.once('close', (code) => resolve(code))))
}

function send(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(String(data)))
    ws.send(text)
  })
}

async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

describe('WebSockets through the built-in proxy', () => {
  let upstream: WsUpstream
  let gw: TestGateway
  before(async () => {
    upstream = await startWsUpstream()
    gw = await startTestGateway({
      upstream: upstream.url,
      routes: [{ path: '/ops', roles: ['admin'] }, { path: '/public', auth: 'none' }],
      auth: { apikey: { keys: [{ key: API_KEY, user: 'robot', roles: ['bots'] }] } },
      session: { touch_interval: '200ms', idle_timeout: '1h', rolling_timeout: '10m', rotation_grace: '5s' },
    })
  })
  after(async () => {
    await gw.close()
    await upstream.close()
  })

  test('an authenticated upgrade is tunnelled with the identity headers; client copies and credentials are stripped', async () => {
    const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
    const { ws, first } = await connect(wsUrl(gw.url, '/live/ws?x=1'), { cookie: `${cookie!}; app=1`, 'x-forwarded-user': 'mallory', 'X-Auth-Request-User': 'mallory' })
    try {
      assert.equal(first, 'hello alice')
      assert.equal(await send(ws, 'ping'), 'echo ping')
      const seen = upstream.upgrades.at(-1)!
      assert.equal(seen.url, '/live/ws?x=1')
      assert.equal(seen.headers['x-forwarded-user'], 'alice')
      assert.equal(seen.headers['x-forwarded-groups'], 'admin,ops')
      assert.equal(seen.headers['x-auth-request-user'], undefined)
      assert.equal(seen.headers.cookie, 'app=1', 'the session cookie never reaches the upstream')
      assert.equal(seen.headers.upgrade, 'websocket')
      assert.match(String(seen.headers.connection), /upgrade/i)
      assert.ok(seen.headers['sec-websocket-key'])
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
      assert.ok(gw.logs.some((line) => /"path":"\/live\/ws","status":101,[^\n]*"user":"alice"/.test(line)), 'one request line per upgrade, without the query')
    } finally {
      ws.close()
    }
  })

  test('close codes travel both ways (the tunnel half-closes instead of cutting)', async () => {
    const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
    for (let i = 0; i < 5; i++) {
      const { ws } = await connect(wsUrl(gw.url, '/a'), { cookie: cookie! })
      const code = new Promise<[number, string]>((resolve) => ws.once('close', (c, reason) => resolve([c, String(reason)])))
      ws.send('bye')
      assert.deepEqual(await code, [4000, 'bye from upstream'])
    }
    const { ws } = await connect(wsUrl(gw.url, '/a'), { cookie: cookie! })
    const code = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)))
    ws.close(4001, 'client leaves')
    assert.equal(await code, 4001, 'the upstream answered the close frame through the tunnel')
  })

  test('an API key works and is not passed on; a route with auth: none needs nothing', async () => {
    const viaKey = await connect(wsUrl(gw.url, '/feed'), { 'x-api-key': API_KEY })
    assert.equal(viaKey.first, 'hello robot')
    assert.equal(upstream.upgrades.at(-1)!.headers['x-api-key'], undefined)
    viaKey.ws.close()
    const open = await connect(wsUrl(gw.url, '/public/ws'), { 'x-forwarded-user': 'mallory' })
    assert.equal(open.first, 'hello nobody')
    open.ws.close()
  })

  test('unauthenticated and refused upgrades get a plain 401/403 before any upgrade, and never reach the upstream', async () => {
    const before = upstream.upgrades.length
    const unauthenticated = await connect(wsUrl(gw.url, '/live/ws'), { accept: 'text/html' }).then(() => null, (e: { status: number; body: string }) => e)
    assert.equal(unauthenticated?.status, 401, 'no login redirect: a WebSocket cannot follow one')
    const forged = await connect(wsUrl(gw.url, '/live/ws'), { cookie: 'gatehouse_session=forged' }).then(() => null, (e: { status: number; body: string; headers: Record<string, string> }) => e)
    assert.equal(forged?.status, 401)
    assert.equal(JSON.parse(forged!.body).code, 'ERR_UNAUTHENTICATED')
    assert.equal(JSON.parse(forged!.body).reason, 'unknown_session')
    assert.equal(forged!.headers['gatehouse-session-end'], 'unknown_session', 'why the session ended, on the refused upgrade too')
    const { cookie } = await login(gw.url, BOB.username, BOB.password)
    const forbidden = await connect(wsUrl(gw.url, '/ops/ws'), { cookie: cookie! }).then(() => null, (e: { status: number; body: string }) => e)
    assert.equal(forbidden?.status, 403)
    assert.equal(JSON.parse(forbidden!.body).reason, 'role_not_allowed')
    assert.equal(upstream.upgrades.length, before)
    assert.ok(gw.logs.some((line) => /"path":"\/ops\/ws","status":403,[^\n]*"user":null/.test(line)))
  })

  test("the upstream's own refusal of the upgrade reaches the client as it is", async () => {
    const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
    const refused = await connect(wsUrl(gw.url, '/refuse'), { cookie: cookie! }).then(() => null, (e: { status: number; body: string }) => e)
    assert.equal(refused?.status, 403)
    assert.equal(refused?.body, 'not for you\n')
  })

  test('logout closes the open sockets of that session within touch_interval; other sessions stay', async () => {
    const alice = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
    const other = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
    const a1 = await connect(wsUrl(gw.url, '/a'), { cookie: alice })
    const a2 = await connect(wsUrl(gw.url, '/b'), { cookie: alice })
    const kept = await connect(wsUrl(gw.url, '/c'), { cookie: other })
    assert.equal((await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: alice } })).status, 200)
    await within(1500, Promise.all([closed(a1.ws), closed(a2.ws)]), 'sockets closed after logout')
    assert.equal(await send(kept.ws, 'still here'), 'echo still here')
    kept.ws.close()
  })

  test('an admin revocation closes them too', async () => {
    const { cookie } = await login(gw.url, BOB.username, BOB.password)
    const { ws } = await connect(wsUrl(gw.url, '/a'), { cookie: cookie! })
    assert.ok((await gw.gateway.store.admin!.removeMatching({ user: BOB.username })) >= 1)
    await within(1500, closed(ws), 'socket closed after revocation')
  })

  test('expiry (idle timeout) closes them', async () => {
    const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
    const { ws } = await connect(wsUrl(gw.url, '/a'), { cookie: cookie! })
    await new Promise((r) => setTimeout(r, 400))
    assert.equal(ws.readyState, WebSocket.OPEN)
    gw.clock.advance(61 * 60_000)
    await within(1500, closed(ws), 'socket closed after idle expiry')
  })

  test('a rolling renewal by the browser keeps the socket open; a logout with the renewed cookie then closes it', async () => {
    const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
    const { ws } = await connect(wsUrl(gw.url, '/a'), { cookie: cookie! })
    gw.clock.advance(11 * 60_000)
    const renewed = await get(gw.url, '/page', { cookie: cookie! })
    const next = renewed.headers.getSetCookie().find((line) => line.startsWith('gatehouse_session='))!.split(';')[0]!
    assert.notEqual(next, cookie)
    gw.clock.advance(6_000) // past rotation_grace: the id the socket was opened with is gone
    await new Promise((r) => setTimeout(r, 600))
    assert.equal(ws.readyState, WebSocket.OPEN)
    assert.equal(await send(ws, 'after renewal'), 'echo after renewal')
    assert.equal((await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: next } })).status, 200)
    await within(1500, closed(ws), 'socket closed after logout with the renewed cookie')
  })

  test("upgrades to the gateway's own endpoints are served as plain requests (nginx's auth_request may carry a WebSocket's headers)", async () => {
    const answer = await connect(wsUrl(gw.url, '/_gatehouse/nope')).then(() => null, (e: { status: number }) => e)
    assert.equal(answer?.status, 404)
    const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
    const url = new URL(gw.url)
    const check = await new Promise<{ status: number; user: unknown }>((resolve, reject) => {
      const headers = { cookie: cookie!, connection: 'upgrade', upgrade: 'websocket', 'x-original-url': `${gw.url}/live/ws`, 'x-original-method': 'GET' }
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/_gatehouse/auth', headers }, (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode!, user: res.headers['x-auth-request-user'] }))
      })
      req.on('error', reject)
      req.end()
    })
    assert.deepEqual(check, { status: 200, user: 'alice' })
  })

  test('other upgrades (h2c) are served as plain requests', async () => {
    const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
    const url = new URL(gw.url)
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/h2c', headers: { cookie: cookie!, connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQCAAAAAAIAAAAA' } }, (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode!, body }))
      })
      req.on('error', reject)
      req.end()
    })
    assert.equal(result.status, 200)
    assert.equal(result.body, 'plain')
    assert.equal(upstream.plain.at(-1)!.headers.upgrade, undefined)
    const withBody = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/h2c', method: 'POST', headers: { cookie: cookie!, connection: 'Upgrade', upgrade: 'h2c', 'content-type': 'text/plain', 'content-length': '5' } }, (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode!, body }))
      })
      req.on('error', reject)
      req.end('hello')
    })
    assert.equal(withBody.status, 400)
    assert.equal(JSON.parse(withBody.body).reason, 'upgrade_not_supported')
  })
})

describe('WebSockets: trusted_proxies', () => {
  test('X-Forwarded-* from an untrusted peer are dropped on upgrades too; from a trusted one they are kept', async () => {
    const upstream = await startWsUpstream()
    for (const [trusted, expected] of [[['10.0.0.0/8'], { for: '127.0.0.1', proto: 'http' }], [['127.0.0.0/8'], { for: '6.6.6.6, 127.0.0.1', proto: 'https' }]] as const) {
      const gw = await startTestGateway({ upstream: upstream.url, trusted_proxies: trusted })
      try {
        const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
        const { ws } = await connect(wsUrl(gw.url, '/ws'), { cookie: cookie!, 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' })
        ws.close()
        const seen = upstream.upgrades.at(-1)!.headers
        assert.equal(seen['x-forwarded-for'], expected.for)
        assert.equal(seen['x-forwarded-proto'], expected.proto)
      } finally {
        await gw.close()
      }
    }
    await upstream.close()
  })
})

describe('WebSockets: bad upstreams', () => {
  test('an unreachable upstream is a clean 502 before any upgrade', async () => {
    const dead = createServer()
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve))
    const port = (dead.address() as AddressInfo).port
    await new Promise<void>((resolve) => dead.close(() => resolve()))
    const gw = await startTestGateway({ upstream: `http://127.0.0.1:${port}` })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const answer = await connect(wsUrl(gw.url, '/ws'), { cookie: cookie! }).then(() => null, (e: { status: number; body: string }) => e)
      assert.equal(answer?.status, 502)
      assert.equal(JSON.parse(answer!.body).reason, 'upstream_unreachable')
    } finally {
      await gw.close()
    }
  })

  test('an upstream that never answers the upgrade is a 504 after its timeout; shutdown closes open tunnels', async () => {
    const silent = createServer()
    silent.on('upgrade', () => undefined)
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const gw = await startTestGateway({ upstream: { url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, timeout: '300ms' } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const answer = await connect(wsUrl(gw.url, '/ws'), { cookie: cookie! }).then(() => null, (e: { status: number; body: string }) => e)
      assert.equal(answer?.status, 504)
    } finally {
      await gw.close()
      silent.closeAllConnections()
      silent.close()
    }
    const upstream = await startWsUpstream()
    const other = await startTestGateway({ upstream: upstream.url })
    const { cookie } = await login(other.url, ALICE.username, ALICE.password)
    const { ws } = await connect(wsUrl(other.url, '/ws'), { cookie: cookie! })
    await within(3000, Promise.all([other.close(), closed(ws)]), 'gateway closed with a tunnel open')
    await upstream.close()
  })
})
