import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { ALICE, BOB, get, login, startTestGateway } from '../helpers/gateway.js'

const dirs: string[] = []
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'))
  dirs.push(dir)
  return join(dir, 'sessions.db')
}
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

describe('session lifecycle', () => {
  test('logout deletes the server-side session: replaying the old cookie gets 401', async () => {
    const gw = await startTestGateway()
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200)
      const out = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: cookie! } })
      assert.equal(out.status, 200)
      const expired = out.headers.getSetCookie().find((line) => line.startsWith('gatehouse_session=;'))
      assert.ok(expired, 'the cookie is expired')
      assert.match(expired!, /Max-Age=0/)
      assert.match(expired!, /Path=\//)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 401)
      assert.equal((await get(gw.url, '/_gatehouse/session', { cookie: cookie! })).status, 401)
    } finally {
      await gw.close()
    }
  })

  test('GET logout from a browser redirects to the login page', async () => {
    const gw = await startTestGateway()
    try {
      const { cookie } = await login(gw.url, BOB.username, BOB.password)
      const out = await get(gw.url, '/_gatehouse/logout', { cookie: cookie!, accept: 'text/html' })
      assert.equal(out.status, 302)
      assert.equal(out.headers.get('location'), '/_gatehouse/login')
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 401)
    } finally {
      await gw.close()
    }
  })

  test('sessions on SQLite survive a gateway restart', async () => {
    const path = tempDb()
    const first = await startTestGateway({ session: { storage: 'sqlite', sqlite: { path } } })
    const { cookie } = await login(first.url, ALICE.username, ALICE.password)
    assert.equal((await get(first.url, '/x', { cookie: cookie! })).status, 200)
    await first.close()

    const second = await startTestGateway({ session: { storage: 'sqlite', sqlite: { path } } })
    try {
      const response = await get(second.url, '/after-restart', { cookie: cookie! })
      assert.equal(response.status, 200)
      assert.equal(second.received.at(-1)!.headers['x-forwarded-user'], 'alice')
    } finally {
      await second.close()
    }
  })

  test('sessions in memory do not survive a restart (documented behaviour)', async () => {
    const first = await startTestGateway()
    const { cookie } = await login(first.url, ALICE.username, ALICE.password)
    await first.close()
    const second = await startTestGateway()
    try {
      assert.equal((await get(second.url, '/x', { cookie: cookie! })).status, 401)
    } finally {
      await second.close()
    }
  })

  test('a store that fails gives 503 JSON (never anonymous access, never 500), and readyz reports it once in the log', async () => {
    const gw = await startTestGateway({ session: { storage: 'sqlite', sqlite: { path: tempDb() } } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const before = gw.received.length
      await gw.gateway.store.close()
      for (let i = 0; i < 3; i++) {
        const response = await get(gw.url, '/x', { cookie: cookie! })
        assert.equal(response.status, 503)
        assert.equal(((await response.json()) as { code: string }).code, 'ERR_STORE_UNAVAILABLE')
      }
      assert.equal(gw.received.length, before, 'nothing reached the upstream')
      const failedLogin = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal(failedLogin.response.status, 503)
      assert.equal((await get(gw.url, '/_gatehouse/readyz')).status, 503)
      const outages = gw.logs.filter((line) => line.includes('"event":"store_unavailable"'))
      assert.equal(outages.length, 1, 'logged once per incident, not per request')
    } finally {
      await gw.close()
    }
  })
})
