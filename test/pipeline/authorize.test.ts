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
