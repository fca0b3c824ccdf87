import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SessionTooLarge } from '../../src/errors.js'
import { SessionCookie } from '../../src/session/session-cookie.js'

const settings = { name: 'gh', path: '/', domain: 'example.com', secure: true, same_site: 'strict' as const }
const cookie = new SessionCookie(settings)
const pair = (line: string) => line.split(';')[0]!

describe('session cookie', () => {
  test('issues HttpOnly, Secure, SameSite=Strict with Domain, Path and Max-Age; browser-session without Max-Age', () => {
    const [line] = cookie.issue('tok', 3_600_000, undefined)
    assert.equal(line, 'gh=tok; Path=/; HttpOnly; Domain=example.com; Secure; SameSite=Strict; Max-Age=3600')
    assert.doesNotMatch(cookie.issue('tok', null, undefined)[0]!, /Max-Age|Expires/)
  })

  test('reads the token back; other cookies and look-alike names are ignored', () => {
    assert.equal(cookie.read('a=1; ghx=no; gh=tok; b=2'), 'tok')
    assert.equal(cookie.read('ghx=no'), undefined)
    assert.equal(cookie.read(undefined), undefined)
  })

  test('a long token is chunked and reassembled; a missing chunk reads as no cookie', () => {
    const token = 'x'.repeat(9000)
    const lines = cookie.issue(token, null, undefined)
    assert.equal(lines.length, 3)
    const header = lines.map(pair).join('; ')
    assert.equal(cookie.read(header), token)
    assert.equal(cookie.read(lines.slice(0, 2).map(pair).join('; ')), undefined)
  })

  test('a shorter token expires the chunks of an earlier, longer one', () => {
    const header = cookie.issue('y'.repeat(9000), null, undefined).map(pair).join('; ')
    const lines = cookie.issue('short', null, header)
    assert.equal(pair(lines[0]!), 'gh=short')
    assert.deepEqual(lines.slice(1).map(pair), ['gh.1=', 'gh.2='])
    assert.ok(lines.slice(1).every((line) => line.includes('Max-Age=0') && line.includes('Domain=example.com')))
  })

  test('a token too long for four cookies is refused with a typed error', () => {
    assert.throws(() => cookie.issue('z'.repeat(4 * 3800 + 1), null, undefined), SessionTooLarge)
  })

  test('expire deletes the cookie and every chunk sent, with the Domain and Path it was set with', () => {
    const lines = cookie.expire('gh=1~a; gh.1=b; gh.3=c; other=1')
    assert.deepEqual(lines.map(pair), ['gh=', 'gh.1=', 'gh.3='])
    assert.ok(lines.every((line) => /Max-Age=0; Expires=Thu, 01 Jan 1970/.test(line) && line.includes('Path=/') && line.includes('Domain=example.com')))
  })

  test('owns the cookie and its numbered chunks only', () => {
    assert.ok(cookie.owns('gh'))
    assert.ok(cookie.owns('gh.2'))
    assert.ok(!cookie.owns('gh.x'))
    assert.ok(!cookie.owns('ghost'))
    assert.ok(!cookie.owns('gh.'))
  })
})

describe('session cookie attributes: Partitioned and domains', () => {
  test('Partitioned on the cookie, its chunks and their deletion', () => {
    const partitioned = new SessionCookie({ name: 'gh', path: '/', secure: true, same_site: 'none', partitioned: true })
    assert.match(partitioned.issue('tok', null, undefined)[0]!, /; SameSite=None; Partitioned$/)
    assert.ok(partitioned.expire('gh=1; gh.1=2').every((line) => line.includes('Partitioned')))
  })

  test('domains: the listed domain the request host falls under (trusted X-Forwarded-Host first), host-only otherwise', () => {
    const several = new SessionCookie({ name: 'gh', path: '/', secure: true, same_site: 'strict', domains: ['Example.com', '.example.org'] })
    const domainOf = (headers: Record<string, string | undefined>) => /Domain=([^;]+)/.exec(several.issue('t', null, headers)[0]!)?.[1]
    assert.equal(domainOf({ host: 'a.example.com' }), 'example.com')
    assert.equal(domainOf({ host: 'x.example.org:8443' }), 'example.org')
    assert.equal(domainOf({ host: 'evil-example.com' }), undefined)
    assert.equal(domainOf({ host: 'example.com.evil.net' }), undefined)
    assert.equal(domainOf({ host: 'proxy.internal', 'x-forwarded-host': 'shop.example.org, other.example.com' }), 'example.org')
    assert.equal(domainOf({}), undefined)
    assert.equal(/Domain=/.test(several.issue('t', null, 'gh=1')[0]!), false, 'no host known: host-only')
    const fixed = new SessionCookie({ name: 'gh', path: '/', secure: true, same_site: 'strict', domains: ['example.com', 'example.org'] }, { publicUrl: 'https://gate.example.org' })
    assert.match(fixed.issue('t', null, { host: 'a.example.com' })[0]!, /Domain=example\.org/)
  })

  test('readAll lists each distinct presented token (tossed ones too); read refuses two', () => {
    assert.deepEqual(cookie.readAll('gh=a; gh=b; gh=a'), ['a', 'b'])
    assert.throws(() => cookie.read('gh=a; gh=b'), /two different session cookies/)
    assert.equal(cookie.read('gh=a; gh=a'), 'a')
  })
})
