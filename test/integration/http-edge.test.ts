import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import { parseConfig } from '../../src/config/load.js'
import { ALICE, BOB, get, login, SECRET, startTestGateway } from '../helpers/gateway.js'

/** An upstream whose /events sends one SSE event, stays silent for `silenceMs`, then sends another and ends. */
async function startSseUpstream(silenceMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/slow-headers') return void setTimeout(() => res.writeHead(200).end('late'), silenceMs)
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.write('data: first\n\n')
    setTimeout(() => res.end('data: second\n\n'), silenceMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Reads a whole streamed answer; `cut` when the connection ended before the body did. */
function stream(base: string, path: string, cookie: string): Promise<{ status: number; body: string; cut: boolean; ms: number }> {
  const url = new URL(base)
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, body, cut: false, ms: Date.now() - started }))
      res.on('error', () => resolve({ status: res.statusCode!, body, cut: true, ms: Date.now() - started }))
      res.on('aborted', () => resolve({ status: res.statusCode!, body, cut: true, ms: Date.now() - started }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('idle streams (SSE, long polling)', () => {
  test('a stream silent for longer than the header timeout stays open until the upstream closes it', async () => {
    const upstream = await startSseUpstream(1_500)
    const gw = await startTestGateway({ upstream: { url: upstream.url, timeout: '400ms' } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const result = await stream(gw.url, '/events', cookie!)
      assert.equal(result.status, 200)
      assert.equal(result.cut, false)
      assert.equal(result.body, 'data: first\n\ndata: second\n\n')
      assert.ok(result.ms >= 1_400, `the stream lasted ${result.ms} ms`)
      // The header timeout still applies to the start of an answer.
      assert.equal((await get(gw.url, '/slow-headers', { cookie: cookie! })).status, 504)
    } finally {
      await gw.close()
      await upstream.close()
    }
  })

  test('upstream.idle_timeout, when set, cuts a silent stream mid-body', async () => {
    const upstream = await startSseUpstream(1_500)
    const gw = await startTestGateway({ upstream: { url: upstream.url, timeout: '5s', idle_timeout: '300ms' } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const result = await stream(gw.url, '/events', cookie!)
      assert.equal(result.status, 200)
      assert.equal(result.cut, true)
      assert.equal(result.body, 'data: first\n\n')
      assert.ok(result.ms < 1_400, `cut after ${result.ms} ms`)
    } finally {
      await gw.close()
      await upstream.close()
    }
  })

  test('idle_timeout: off by default, a duration, or 0/false for off; also per route', () => {
    const base = { secrets: [SECRET] }
    assert.equal(parseConfig({ ...base, upstream: 'http://127.0.0.1:1' }, {}).upstream!.idle_timeout, null)
    assert.equal(parseConfig({ ...base, upstream: { url: 'http://127.0.0.1:1' } }, {}).upstream!.idle_timeout, null)
    assert.equal(parseConfig({ ...base, upstream: { url: 'http://127.0.0.1:1', idle_timeout: '5m' } }, {}).upstream!.idle_timeout, 300_000)
    assert.equal(parseConfig({ ...base, upstream: { url: 'http://127.0.0.1:1', idle_timeout: 0 } }, {}).upstream!.idle_timeout, null)
    const routed = parseConfig({ ...base, routes: [{ path: '/feed', upstream: { url: 'http://127.0.0.1:1', idle_timeout: '90s' } }] }, {})
    assert.equal(routed.routes[0]!.upstream!.idle_timeout, 90_000)
    assert.throws(() => parseConfig({ ...base, upstream: { url: 'http://127.0.0.1:1', idle_timeout: 'soon' } }, {}))
  })
})

void BOB
