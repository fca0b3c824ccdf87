import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AnonymousDenied, Forbidden, Unauthenticated } from '../../src/errors.js'
import { authorize } from '../../src/pipeline/authorize.js'
import type { Caller } from '../../src/pipeline/identify.js'
import type { Route } from '../../src/pipeline/router.js'

const route = (fields: Partial<Route>): Route => ({ path: '/', auth: 'required', ...fields })
const caller = (roles: string[], type = 'form'): Caller => ({ identity: { user: 'u', roles, provider: { type, name: type } }, session: null })

describe('authorize', () => {
  test('auth: none lets everyone through; optional lets the unidentified through', () => {
    assert.equal(authorize(route({ auth: 'none' }), null), null)
    assert.equal(authorize(route({ auth: 'optional' }), null), null)
  })

  test('required without a caller is 401 no_credentials', () => {
    const refusal = authorize(route({}), null)
    assert.ok(refusal?.error instanceof Unauthenticated)
    assert.equal(refusal.status, 401)
    assert.equal(refusal.error.reason, 'no_credentials')
  })

  test('roles: one shared role suffices; none is 403 role_not_allowed', () => {
    assert.equal(authorize(route({ roles: ['ops', 'admin'] }), caller(['admin'])), null)
    const refusal = authorize(route({ roles: ['ops'] }), caller(['viewer']))
    assert.ok(refusal?.error instanceof Forbidden)
    assert.equal(refusal.error.reason, 'role_not_allowed')
  })

  test('deny_anonymous answers the anonymous identity with the route\'s status and message, before roles', () => {
    const refusal = authorize(route({ roles: ['x'], deny_anonymous: { status: 451, message: 'sign in first' } }), caller([], 'anonymous'))
    assert.ok(refusal?.error instanceof AnonymousDenied)
    assert.equal(refusal.status, 451)
    assert.equal(refusal.error.message, 'sign in first')
    assert.equal(authorize(route({ deny_anonymous: { status: 451, message: 'm' } }), caller([])), null)
  })
})

describe('authorize: the anonymous identity (contract, "Anonymous")', () => {
  test('never satisfies auth: required — it is refused like a caller without credentials (401 no_credentials)', () => {
    const refusal = authorize(route({}), caller([], 'anonymous'))
    assert.ok(refusal?.error instanceof Unauthenticated)
    assert.equal(refusal.status, 401)
    assert.equal(refusal.error.reason, 'no_credentials')
    // Even when the anonymous roles would match the route's.
    assert.ok(authorize(route({ roles: ['public'] }), caller(['public'], 'anonymous'))?.error instanceof Unauthenticated)
  })

  test('auth: optional lets it through (its roles still checked against the route\'s roles)', () => {
    assert.equal(authorize(route({ auth: 'optional' }), caller([], 'anonymous')), null)
    assert.equal(authorize(route({ auth: 'optional', roles: ['public'] }), caller(['public'], 'anonymous')), null)
    assert.ok(authorize(route({ auth: 'optional', roles: ['staff'] }), caller(['public'], 'anonymous'))?.error instanceof Forbidden)
  })

  test('deny_anonymous answers it before any other rule, on required and optional routes alike', () => {
    for (const auth of ['required', 'optional'] as const) {
      const refusal = authorize(route({ auth, deny_anonymous: { status: 451, message: 'm' } }), caller([], 'anonymous'))
      assert.ok(refusal?.error instanceof AnonymousDenied, auth)
      assert.equal(refusal.status, 451)
    }
  })
})
