import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hashPassword } from '../../src/auth/password.js'
import { ALICE, get, login, startTestGateway } from '../helpers/gateway.js'

/** All `name=value` pairs a response sets (non-empty values only), as a Cookie header. */
function cookiesFrom(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!)
    .filter((pair) => !pair.endsWith('='))
    .join('; ')
}

describe('cookie storage', () => {
  test('the whole session travels sealed in the cookie; it works, never reaches the upstream, and logout expires it', async () => {
    const gw = await startTestGateway({ session: { storage: 'cookie' } })
    try {
      const { response, cookie } = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal(response.status, 200)
      assert.ok(!cookie!.includes('alice'), 'sealed, not readable')
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'alice')
      assert.equal(gw.received.at(-1)!.headers.cookie, undefined)
      const out = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: cookie! } })
      assert.ok(out.headers.getSetCookie().some((l) => l.startsWith('gatehouse_session=;') && l.includes('Max-Age=0')))
    } finally {
      await gw.close()
    }
  })

  test('a session larger than one cookie is chunked, reassembled, and every chunk expired on logout', async () => {
    const roles = Array.from({ length: 180 }, (_, i) => `role-with-a-rather-long-name-${i}`)
    const gw = await startTestGateway({
      session: { storage: 'cookie' },
      users: [{ username: 'many', password_hash: await hashPassword('many-roles-pass'), roles }],
    })
    try {
      const response = (await login(gw.url, 'many', 'many-roles-pass')).response
      const names = response.headers.getSetCookie().map((l) => l.split('=')[0])
      assert.ok(names.includes('gatehouse_session.1'), `chunked: ${names}`)
      const cookie = cookiesFrom(response)
      assert.equal((await get(gw.url, '/x', { cookie: `${cookie}; other=1` })).status, 200)
      const seen = gw.received.at(-1)!
      assert.equal(seen.headers['x-forwarded-groups'], roles.join(','))
      assert.equal(seen.headers.cookie, 'other=1', 'no chunk reaches the upstream')

      const tampered = cookie.replace(/gatehouse_session\.1=(.)/, (_m, c: string) => `gatehouse_session.1=${c === 'A' ? 'B' : 'A'}`)
      assert.equal((await get(gw.url, '/x', { cookie: tampered })).status, 401)
      const missing = cookie.split('; ').filter((p) => !p.startsWith('gatehouse_session.1=')).join('; ')
      assert.equal((await get(gw.url, '/x', { cookie: missing })).status, 401)

      const out = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie } })
      const expired = out.headers.getSetCookie().filter((l) => l.includes('Max-Age=0')).map((l) => l.split('=')[0])
      for (const name of names) assert.ok(expired.includes(name), `${name} expired on logout`)
    } finally {
      await gw.close()
    }
  })

  test('forged, truncated and foreign cookies get 401, never 5xx', async () => {
    const gw = await startTestGateway({ session: { storage: 'cookie' } })
    const other = await startTestGateway({ session: { storage: 'cookie' }, secrets: ['another-secret-0123456789abcdefghijkl'] })
    try {
      const { cookie } = await login(other.url, ALICE.username, ALICE.password)
      const value = cookie!.split('=')[1]!
      for (const bad of [value, value.slice(0, 20), `${value}A`, '2~abc', '9~abc', 'AQ', '']) {
        assert.equal((await get(gw.url, '/x', { cookie: `gatehouse_session=${bad}` })).status, 401, bad.slice(0, 30))
      }
    } finally {
      await gw.close()
      await other.close()
    }
  })
})
