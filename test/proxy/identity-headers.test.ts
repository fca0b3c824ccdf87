import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseConfig } from '../../src/config/load.js'
import type { Authenticator } from '../../src/auth/authenticator.js'
import { consumedCredentials } from '../../src/pipeline/credentials.js'
import { createHeaderRewriter } from '../../src/proxy/identity-headers.js'
import { SessionCookie } from '../../src/session/session-cookie.js'

const cookie = new SessionCookie(parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)] }, {}).session.cookie)
const sessionCookie = { ownsCookie: (name: string) => cookie.owns(name) }
const noCredentials = consumedCredentials([], sessionCookie)
const base = { upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)] }
const client = { ip: '10.0.0.9', protocol: 'https', host: 'gate.example.com' }
const alice = { user: 'alice', roles: ['a', 'b'], email: 'a@x', provider: { type: 'form', name: 'form' } }

describe('identity headers', () => {
  const rewriter = createHeaderRewriter(parseConfig(base, {}).identity_headers, noCredentials)

  test('forged identity headers are dropped in every spelling; the verified identity is set', () => {
    const out = rewriter.rewrite(
      { 'x-forwarded-user': 'm', x_forwarded_user: 'm', 'x-forwarded_groups': 'root', 'remote-user': 'm', 'x-remote-user': 'm', accept: '*/*' },
      alice,
      client,
    )
    assert.equal(out['x-forwarded-user'], 'alice')
    assert.equal(out['x-forwarded-groups'], 'a,b')
    assert.equal(out['x-forwarded-email'], 'a@x')
    assert.equal(out.x_forwarded_user, undefined)
    assert.equal(out['x-forwarded_groups'], undefined)
    assert.equal(out['remote-user'], undefined)
    assert.equal(out['x-remote-user'], undefined)
    assert.equal(out.accept, '*/*')
  })

  test('without an identity nothing identity-like is forwarded', () => {
    const out = rewriter.rewrite({ 'x-forwarded-user': 'm', 'x-forwarded-email': 'e' }, null, client)
    assert.equal(out['x-forwarded-user'], undefined)
    assert.equal(out['x-forwarded-email'], undefined)
  })

  test('X-Forwarded-Access-Token comes only from the gateway (OIDC pass_access_token): a client copy is dropped in every spelling', () => {
    const forged = { 'x-forwarded-access-token': 'forged', x_forwarded_access_token: 'forged' }
    const without = rewriter.rewrite(forged, alice, client)
    assert.equal(without['x-forwarded-access-token'], undefined)
    assert.equal(without.x_forwarded_access_token, undefined)
    assert.equal(rewriter.rewrite(forged, null, client)['x-forwarded-access-token'], undefined)
    assert.equal(rewriter.rewrite(forged, alice, client, undefined, 'from-the-provider')['x-forwarded-access-token'], 'from-the-provider')
  })

  test('the session cookie and its chunks are removed; other cookies kept', () => {
    const out = rewriter.rewrite({ cookie: 'a=1; gatehouse_session=s; gatehouse_session.1=t; gatehouse_sessionx=keep; b=2' }, alice, client)
    assert.equal(out.cookie, 'a=1; gatehouse_sessionx=keep; b=2')
  })

  test('X-Forwarded-For is appended to, Proto and Host are the gateway\'s', () => {
    const out = rewriter.rewrite({ 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'evil' }, alice, client)
    assert.equal(out['x-forwarded-for'], '1.2.3.4, 10.0.0.9')
    assert.equal(out['x-forwarded-proto'], 'https')
    assert.equal(out['x-forwarded-host'], 'gate.example.com')
  })

  test('custom header names are honoured and their client copies stripped too', () => {
    const custom = createHeaderRewriter(parseConfig({ ...base, identity_headers: { user: 'X-Kibana-User', groups: 'X-Kibana-Roles', email: 'X-Kibana-Mail' } }, {}).identity_headers, noCredentials)
    const out = custom.rewrite({ 'x-kibana-user': 'm', x_kibana_roles: 'root', 'x-forwarded-user': 'm' }, alice, client)
    assert.equal(out['x-kibana-user'], 'alice')
    assert.equal(out['x-kibana-roles'], 'a,b')
    assert.equal(out.x_kibana_roles, undefined)
    assert.equal(out['x-forwarded-user'], undefined)
  })

  test('a method\'s declared credentials never reach the upstream: headers, cookies, and Authorization once identified', () => {
    const custom: Authenticator = {
      name: 'custom',
      type: 'custom',
      credentials: { headers: ['X-Custom-Token'], cookies: ['custom_cookie'], authorizationSchemes: ['token'] },
      authenticate: async () => null,
    }
    const consumed = consumedCredentials([custom], sessionCookie)
    const rewriter = createHeaderRewriter(parseConfig(base, {}).identity_headers, consumed)
    const headers = { 'x-custom-token': 'secret', x_custom_token: 'secret', cookie: 'custom_cookie=s; gatehouse_session=t; app=1', authorization: 'Token secret', accept: '*/*' }
    const identified = rewriter.rewrite(headers, alice, client)
    assert.equal(identified['x-custom-token'], undefined)
    assert.equal(identified.x_custom_token, undefined)
    assert.equal(identified.cookie, 'app=1')
    assert.equal(identified.authorization, undefined)
    // Not identified (an `auth: none` route): Authorization is the upstream's own business.
    assert.equal(rewriter.rewrite(headers, null, client).authorization, 'Token secret')
  })

  test('credential query parameters declared by a method are removed from the upstream URL', () => {
    const custom: Authenticator = { name: 'c', type: 'c', credentials: { queryParams: ['ticket'] }, authenticate: async () => null }
    const consumed = consumedCredentials([custom], sessionCookie)
    assert.equal(consumed.withoutQueryCredentials('/a?ticket=s&b=1'), '/a?b=1')
    assert.equal(consumed.withoutQueryCredentials('/a?ticket=s'), '/a')
  })
})
