import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseConfig } from '../../src/config/load.js'
import { BadRequest } from '../../src/errors.js'
import { underPrefix } from '../../src/http/paths.js'
import { createRouter, pathReadings } from '../../src/pipeline/router.js'

const config = parseConfig(
  {
    upstream: 'http://127.0.0.1:1',
    secrets: ['s'.repeat(32)],
    routes: [
      { path: '/public', auth: 'none' },
      { path: '/public/admin', auth: 'required', roles: ['admin'] },
      { path: '/api', upstream: 'http://127.0.0.1:2' },
    ],
  },
  {},
)
const router = createRouter(config)

describe('routing', () => {
  test('longest prefix wins, on segment boundaries', () => {
    assert.equal(router.match('/public/x').auth, 'none')
    assert.equal(router.match('/public/admin/x').roles?.[0], 'admin')
    assert.equal(router.match('/publicity').path, '/')
    assert.equal(router.match('/api?x=/public').upstream?.url, 'http://127.0.0.1:2')
    assert.equal(router.match('/').path, '/')
  })

  test('underPrefix respects segment boundaries', () => {
    assert.ok(underPrefix('/a/b', '/a'))
    assert.ok(underPrefix('/a', '/a'))
    assert.ok(!underPrefix('/ab', '/a'))
    assert.ok(underPrefix('/ab', '/'))
  })

  for (const path of ['/public/../admin', '/public/%2e%2e/admin', '/public/%2E./admin', '/public\\..\\admin', '/public/.%2e/admin', '/./public']) {
    test(`dot segments are refused: ${path}`, () => assert.throws(() => router.match(path), BadRequest))
  }

  for (const path of ['/public%2fadmin/x', '/public%2Fadmin', '/public\\admin', '/public//admin']) {
    test(`readings that select different routes are refused: ${path}`, () => assert.throws(() => router.match(path), BadRequest))
  }

  test('encoded characters that do not change routing pass', () => {
    assert.equal(router.match('/public/a%20b').auth, 'none')
    assert.equal(router.match('/api/a%2Fb').path, '/api')
  })

  test('malformed percent-encoding and control characters are refused', () => {
    assert.throws(() => pathReadings('/a%'), BadRequest)
    assert.throws(() => pathReadings('/a%0a'), BadRequest)
    assert.throws(() => pathReadings('*'), BadRequest)
  })

  test('plain paths take the fast path (one reading)', () => {
    assert.deepEqual(pathReadings('/a/b.c'), ['/a/b.c'])
  })
})

describe('routing on every reading an upstream may make', () => {
  const guarded = createRouter(
    parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)], routes: [{ path: '/api/private/', roles: ['admin'] }, { path: '/Docs', auth: 'none' }] }, {}),
  )

  test('a route written with a trailing slash covers the path without it', () => {
    assert.equal(guarded.match('/api/private').roles?.[0], 'admin')
    assert.equal(guarded.match('/api/private/').roles?.[0], 'admin')
    assert.equal(guarded.match('/api/private/x').roles?.[0], 'admin')
    assert.equal(guarded.match('/api/privatex').path, '/')
  })

  for (const path of ['/API/private', '/api/private;x', '/api/private%3bx', '/api/private.', '/api/private%20', '/api/private%2e', '/docs', '/DOCS/x']) {
    test(`variants that change the route are refused: ${path}`, () => assert.throws(() => guarded.match(path), (e: BadRequest) => e.reason === 'ambiguous_path'))
  }

  for (const path of ['/public/..;/x', '/a/.../b', '/a/.;p/b', '/a#b', '/a/%252e%252e/b']) {
    test(`dot segments in any reading and fragments are bad paths: ${path}`, () => assert.throws(() => guarded.match(path), (e: BadRequest) => e.reason === 'bad_path'))
  }

  test('route paths keep their case: /Docs matches as written', () => {
    assert.equal(guarded.match('/Docs/x').auth, 'none')
  })

  test('variants that do not change the route pass', () => {
    assert.equal(guarded.match('/Other;x=1/Y.').path, '/')
    assert.equal(guarded.match('/api/private/X;jsessionid=1').roles?.[0], 'admin')
  })
})
