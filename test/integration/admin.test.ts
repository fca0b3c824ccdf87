import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { ALICE, BOB, get, login, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { dropRedisPrefix, REDIS_URL, redisSkip } from '../helpers/services.js'

const TOKEN = 'admin-token-0123456789abcdef0123456789'
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-'))
const redisPrefixes: string[] = []
after(async () => {
  rmSync(dir, { recursive: true, force: true })
  if (!(await redisSkip())) for (const prefix of redisPrefixes) await dropRedisPrefix(REDIS_URL, prefix)
})

const admin = (gw: TestGateway, path: string, init: RequestInit = {}) =>
  fetch(`${gw.url}/_gatehouse/admin${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as object) } })

const storages = [
  { name: 'sqlite', session: () => ({ storage: 'sqlite', sqlite: { path: join(dir, `${randomUUID()}.db`) } }) },
  { name: 'redis', session: () => ({ storage: 'redis', redis: { url: REDIS_URL, prefix: redisPrefixes[redisPrefixes.push(`gh-admin-${randomUUID()}:`) - 1] } }), skip: redisSkip },
]

for (const storage of storages) {
  describe(`session management API on ${storage.name}`, async () => {
    const skip = storage.skip ? await storage.skip() : false

    test('who may call it: no credentials 401, wrong token 401, non-admin session 403, admin token and admin session 200', { skip }, async () => {
      const gw = await startTestGateway({ admin: { token: TOKEN }, session: storage.session() })
      try {
        assert.equal((await fetch(`${gw.url}/_gatehouse/admin/sessions`)).status, 401)
        assert.equal((await fetch(`${gw.url}/_gatehouse/admin/sessions`, { headers: { authorization: 'Bearer wrong-token-xxxxxxxxxxxxxxxxxxxxxxxx' } })).status, 401)
        const bob = await login(gw.url, BOB.username, BOB.password)
        assert.equal((await get(gw.url, '/_gatehouse/admin/sessions', { cookie: bob.cookie! })).status, 403)
        assert.equal((await admin(gw, '/sessions')).status, 200)
        const alice = await login(gw.url, ALICE.username, ALICE.password)
        const mine = await get(gw.url, '/_gatehouse/admin/sessions', { cookie: alice.cookie! })
        assert.equal(mine.status, 200)
        const body = (await mine.json()) as { sessions: { user: string; current: boolean }[] }
        assert.deepEqual(body.sessions.filter((s) => s.current).map((s) => s.user), ['alice'], 'the admin\'s own session is marked')
        // Cookie-authenticated writes must come from this origin.
        const crossSite = await fetch(`${gw.url}/_gatehouse/admin/sessions/_invalidate`, { method: 'POST', headers: { cookie: alice.cookie!, origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{"match":"all"}' })
        assert.equal(crossSite.status, 403)
      } finally {
        await gw.close()
      }
    })

    test('list with filters and pagination shows handles, never cookie values', { skip }, async () => {
      const gw = await startTestGateway({ admin: { token: TOKEN }, session: storage.session() })
      try {
        const cookies: string[] = []
        for (let i = 0; i < 3; i++) cookies.push((await login(gw.url, ALICE.username, ALICE.password, { 'user-agent': `agent-${i}` })).cookie!)
        await login(gw.url, BOB.username, BOB.password)
        const all = (await (await admin(gw, '/sessions')).json()) as { sessions: Record<string, unknown>[]; next_cursor: string | null }
        assert.equal(all.sessions.length, 4)
        const text = JSON.stringify(all)
        for (const c of cookies) assert.ok(!text.includes(c.split('=')[1]!.split('.')[0]!), 'no cookie value in the listing')
        const first = all.sessions[0]!
        assert.deepEqual(Object.keys(first).sort(), ['client', 'created_at', 'current', 'id', 'idle_expires_at', 'last_seen', 'lifespan_expires_at', 'provider', 'roles', 'user'])
        assert.match(first.id as string, /^[0-9a-f]{64}$/)

        const alices = (await (await admin(gw, '/sessions?username=alice')).json()) as { sessions: { client: { user_agent: string } }[] }
        assert.equal(alices.sessions.length, 3)
        assert.ok(alices.sessions.some((s) => s.client.user_agent === 'agent-1'))
        assert.equal(((await (await admin(gw, '/sessions?provider=form')).json()) as { sessions: unknown[] }).sessions.length, 4)
        assert.equal(((await (await admin(gw, '/sessions?provider=jwt')).json()) as { sessions: unknown[] }).sessions.length, 0)

        const seen = new Set<string>()
        let cursor = ''
        for (let pages = 0; pages < 10; pages++) {
          const page = (await (await admin(gw, `/sessions?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { sessions: { id: string }[]; next_cursor: string | null }
          page.sessions.forEach((s) => seen.add(s.id))
          if (!page.next_cursor) break
          cursor = page.next_cursor
        }
        assert.equal(seen.size, 4)
        assert.equal((await admin(gw, '/sessions?limit=0')).status, 400)
        assert.equal((await admin(gw, '/sessions?cursor=garbage')).status, 400)
      } finally {
        await gw.close()
      }
    })

    test('invalidate by query, by id, and all (Kibana\'s shapes); bad bodies are 400', { skip }, async () => {
      const gw = await startTestGateway({ admin: { token: TOKEN }, session: storage.session() })
      try {
        const a1 = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
        const a2 = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
        const b1 = (await login(gw.url, BOB.username, BOB.password)).cookie!
        const b2 = (await login(gw.url, BOB.username, BOB.password)).cookie!

        const byUser = await admin(gw, '/sessions/_invalidate', { method: 'POST', body: JSON.stringify({ match: 'query', query: { provider: { type: 'form', name: 'form' }, username: 'alice' } }) })
        assert.deepEqual(await byUser.json(), { total: 2 })
        assert.equal((await get(gw.url, '/x', { cookie: a1 })).status, 401)
        assert.equal((await get(gw.url, '/x', { cookie: a2 })).status, 401)
        assert.equal((await get(gw.url, '/x', { cookie: b1 })).status, 200)

        const list = (await (await admin(gw, '/sessions?username=bob')).json()) as { sessions: { id: string }[] }
        const one = list.sessions[0]!.id
        assert.deepEqual(await (await admin(gw, `/sessions/${one}`, { method: 'DELETE' })).json(), { total: 1 })
        assert.equal((await admin(gw, `/sessions/${one}`, { method: 'DELETE' })).status, 404)
        assert.equal((await admin(gw, '/sessions/not-an-id', { method: 'DELETE' })).status, 404)

        const all = await admin(gw, '/sessions/_invalidate', { method: 'POST', body: '{"match":"all"}' })
        assert.deepEqual(await all.json(), { total: 1 })
        assert.equal((await get(gw.url, '/x', { cookie: b1 })).status, 401)
        assert.equal((await get(gw.url, '/x', { cookie: b2 })).status, 401)

        for (const body of ['{"match":"some"}', '{"match":"query","query":{}}', '[]', '{', '{"match":"all","extra":1}']) {
          const response = await admin(gw, '/sessions/_invalidate', { method: 'POST', body })
          assert.equal(response.status, 400, body)
        }
        const audit = gw.logs.filter((l) => l.includes('"audit":true') && l.includes('"event":"admin_'))
        assert.ok(audit.some((l) => l.includes('"event":"admin_invalidate_sessions"') && l.includes('"actor":"token"')))
        assert.ok(audit.some((l) => l.includes('"event":"admin_delete_session"')))
      } finally {
        await gw.close()
      }
    })
  })
}

describe('session management API on cookie storage', () => {
  test('says clearly that listing and revoking one are impossible (501), not an empty list; _invalidate revokes', async () => {
    const gw = await startTestGateway({ admin: { token: TOKEN }, session: { storage: 'cookie' } })
    try {
      const response = await admin(gw, '/sessions')
      assert.equal(response.status, 501)
      const body = (await response.json()) as { code: string; reason: string; message: string }
      assert.equal(body.code, 'ERR_STORAGE_NOT_LISTABLE')
      assert.match(body.message, /cannot be listed or revoked one by one/)
      assert.equal((await admin(gw, `/sessions/${'a'.repeat(64)}`, { method: 'DELETE' })).status, 501)
      const invalidated = await admin(gw, '/sessions/_invalidate', { method: 'POST', body: '{"match":"all"}' })
      assert.equal(invalidated.status, 200)
      assert.equal(((await invalidated.json()) as { total: unknown }).total, null, 'how many cookies exist is unknown')
    } finally {
      await gw.close()
    }
  })
})

describe('admin page', () => {
  test('is served with its own script and stylesheet under a strict CSP', async () => {
    const gw = await startTestGateway()
    try {
      const page = await get(gw.url, '/_gatehouse/admin/')
      assert.equal(page.status, 200)
      const csp = page.headers.get('content-security-policy')!
      assert.match(csp, /script-src 'self'/)
      assert.doesNotMatch(csp, /unsafe-eval/)
      const html = await page.text()
      assert.match(html, /<script src="\/_gatehouse\/admin\/app\.js" defer><\/script>/)
      assert.doesNotMatch(html, /https?:\/\//)
      assert.equal((await get(gw.url, '/_gatehouse/admin/app.js')).status, 200)
      assert.equal((await get(gw.url, '/_gatehouse/admin/app.css')).status, 200)
    } finally {
      await gw.close()
    }
  })
})

describe('admin page auto-refresh', () => {
  test('a poll (x-gatehouse-poll: 1) is not activity: the admin session still ends at its idle timeout; a manual load extends it', async () => {
    const gw = await startTestGateway({ admin: { token: TOKEN }, session: { storage: 'sqlite', sqlite: { path: join(dir, `${randomUUID()}.db`) }, idle_timeout: '10m' } })
    try {
      const polled = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      const used = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      gw.clock.advance(9 * 60_000)
      const poll = await get(gw.url, '/_gatehouse/admin/sessions', { cookie: polled, 'x-gatehouse-poll': '1' })
      assert.equal(poll.status, 200)
      assert.equal(poll.headers.getSetCookie().length, 0, 'a read-only resolve writes no cookie')
      assert.equal((await get(gw.url, '/_gatehouse/admin/sessions', { cookie: used })).status, 200)
      gw.clock.advance(2 * 60_000)
      const ended = await get(gw.url, '/_gatehouse/admin/sessions', { cookie: polled, 'x-gatehouse-poll': '1' })
      assert.equal(ended.status, 401, 'only polled: idle for 11 minutes')
      assert.equal(((await ended.json()) as { reason: string }).reason, 'session_expired', 'the 401 says the session ended, not that credentials are missing')
      assert.equal(ended.headers.get('gatehouse-session-end'), 'session_expired')
      assert.equal((await get(gw.url, '/_gatehouse/admin/sessions', { cookie: used })).status, 200, 'loaded by hand 2 minutes ago')
    } finally {
      await gw.close()
    }
  })
})
