import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ALICE, BOB, login, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { rawRequest } from './raw-http.js'

/**
 * Path variants against role-restricted routes, through the real gateway and the real echo
 * upstream. Routes: `/api/private/` (written with a trailing slash) needs `admin`, `/public` needs
 * nothing, everything else needs a session. The caller is bob (`viewer`): every variant that an
 * upstream (Express, Spring/Tomcat, IIS, nginx) could route to the private handler must come back
 * 403 (the route's role check) or 400 (refused as ambiguous or bad) — never 200.
 *
 * Each row: [request target, status, reason (for 400s), why].
 */
const PROBES: ReadonlyArray<readonly [string, number, string | null, string]> = [
  // The route itself: a trailing slash on the route or the path does not matter.
  ['/api/private', 403, null, 'route written /api/private/ covers /api/private'],
  ['/api/private/', 403, null, 'trailing slash'],
  ['/api/private/report', 403, null, 'below the route'],
  ['/api/private/x;jsessionid=1', 403, null, 'parameters inside the route keep the route'],
  ['/api/private/a%20b', 403, null, 'encoded character inside the route'],
  // Case: Express and IIS route case-insensitively.
  ['/API/private', 400, 'ambiguous_path', 'upper-case first segment'],
  ['/api/PRIVATE/x', 400, 'ambiguous_path', 'upper-case second segment'],
  ['/Api/Private/', 400, 'ambiguous_path', 'mixed case with trailing slash'],
  ['/api/%C4%B0private', 200, null, 'a different name whatever the case (İ lower-cases to i̇)'],
  // `;` parameters: Tomcat and Spring drop them before routing.
  ['/api/private;x=1', 400, 'ambiguous_path', 'matrix parameter on the last segment'],
  ['/api/private;', 400, 'ambiguous_path', 'empty parameter'],
  ['/api;x=1/private', 400, 'ambiguous_path', 'parameter on an earlier segment'],
  ['/api/private;x=1/y', 400, 'ambiguous_path', 'parameter then more path'],
  ['/api/private%3bx=1', 400, 'ambiguous_path', 'encoded ; (Spring decodes before stripping)'],
  ['/api/private%3Bx', 400, 'ambiguous_path', 'encoded ; upper-case hex'],
  // Encoded separators and other slashes.
  ['/api%2fprivate', 400, 'ambiguous_path', 'encoded /'],
  ['/api%2Fprivate/x', 400, 'ambiguous_path', 'encoded / upper-case hex'],
  ['/api%5cprivate', 400, 'ambiguous_path', 'encoded \\'],
  ['/api\\private', 400, 'ambiguous_path', 'backslash (IIS reads it as /)'],
  ['/api//private', 400, 'ambiguous_path', 'double slash (merged by most servers)'],
  ['//api/private', 400, 'ambiguous_path', 'leading double slash'],
  ['/api/%70rivate', 400, 'ambiguous_path', 'encoded letter'],
  ['/api/%2570rivate', 400, 'ambiguous_path', 'double-encoded letter (double decoding)'],
  ['/api%252fprivate', 400, 'ambiguous_path', 'double-encoded /'],
  // Trailing dots and spaces: IIS and Windows drop them.
  ['/api/private.', 400, 'ambiguous_path', 'trailing dot'],
  ['/api/private..', 400, 'ambiguous_path', 'two trailing dots'],
  ['/api/private./x', 400, 'ambiguous_path', 'trailing dot then more path'],
  ['/api./private', 400, 'ambiguous_path', 'trailing dot on an earlier segment'],
  ['/api/private%20', 400, 'ambiguous_path', 'trailing space'],
  ['/api/private%2e', 400, 'ambiguous_path', 'encoded trailing dot'],
  // Dot segments in any reading: refused whatever the routes.
  ['/public/../api/private', 400, 'bad_path', 'dot-dot'],
  ['/public/..;/api/private', 400, 'bad_path', 'Tomcat ..; traversal'],
  ['/public/%2e%2e/api/private', 400, 'bad_path', 'encoded dot-dot'],
  ['/public/%2e%2e%3b/api/private', 400, 'bad_path', 'encoded ..;'],
  ['/public/.%2e/api/private', 400, 'bad_path', 'half-encoded dot-dot'],
  ['/public/..%5capi/private', 400, 'bad_path', 'dot-dot with encoded backslash'],
  ['/public/%252e%252e/api/private', 400, 'bad_path', 'double-encoded dot-dot'],
  ['/public/.../api/private', 400, 'bad_path', 'dot-only segment (Windows)'],
  ['/public/.;x/api', 400, 'bad_path', 'dot with a parameter'],
  ['/api/private#x', 400, 'bad_path', 'a fragment in the request target'],
  ['/api/private%', 400, 'bad_path', 'malformed percent-encoding'],
  ['/api/private%0a', 400, 'bad_path', 'encoded control character'],
  // Variants of the less-protected route are refused too (an upstream may read them as another path).
  ['/Public/x', 400, 'ambiguous_path', 'case variant of the open route'],
  ['/public;x/y', 400, 'ambiguous_path', 'parameter on the open route'],
  ['/public/x', 200, null, 'the open route'],
  // Nothing special happens where no route boundary is involved.
  ['/api/privateer', 200, null, 'another name sharing the prefix'],
  ['/api/private-docs', 200, null, 'another name sharing the prefix'],
  ['/Other/Path;x=1.', 200, null, 'variants that all read as the catch-all route'],
  ['/files/report%20final.pdf', 200, null, 'ordinary encoding'],
  ['/a/b.c/d', 200, null, 'dots inside names'],
]

describe('security: path variants against role-restricted routes', () => {
  let gw: TestGateway
  let bob: string
  let alice: string
  before(async () => {
    gw = await startTestGateway({ routes: [{ path: '/api/private/', roles: ['admin'] }, { path: '/public', auth: 'none' }] })
    bob = (await login(gw.url, BOB.username, BOB.password)).cookie!
    alice = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
  })
  after(() => gw.close())

  for (const [target, status, reason, why] of PROBES) {
    test(`${target} → ${status}${reason ? ` ${reason}` : ''} (${why})`, async () => {
      const before = gw.received.length
      const response = await rawRequest(gw.url, target, { cookie: bob, accept: 'application/json' })
      assert.equal(response.status, status, response.body)
      if (reason) assert.equal(response.reason, reason)
      if (status !== 200) assert.equal(gw.received.length, before, 'a refused request must not reach the upstream')
    })
  }

  test('pathological paths are answered in linear time (no regex backtracking)', async () => {
    // A quadratic regex took ~0.6 s for the first of these alone; linear code takes milliseconds.
    const started = performance.now()
    for (const target of [`/a/${'.'.repeat(14000)}x`, `/a/${'.%20'.repeat(3500)}x`, `/a/${';'.repeat(14000)}`, `/${'%2e'.repeat(4600)}x`]) {
      const response = await rawRequest(gw.url, target, { cookie: bob, accept: 'application/json' })
      assert.ok(response.status < 500, `${response.status}`)
    }
    assert.ok(performance.now() - started < 400, `took ${Math.round(performance.now() - started)} ms`)
  })

  test('the role still lets its holders through, and the upstream gets the path as sent', async () => {
    for (const target of ['/api/private', '/api/private/', '/api/private/x;jsessionid=1']) {
      const response = await rawRequest(gw.url, target, { cookie: alice, accept: 'application/json' })
      assert.equal(response.status, 200, target)
      assert.equal(gw.received.at(-1)!.url, target)
    }
  })
})
