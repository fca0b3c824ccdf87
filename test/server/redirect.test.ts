import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hostAllowed, safeRedirect } from '../../src/http/hosts.js'

const own = ['gate.example.com']
const allowed = ['app.example.com', '.corp.example.org']

describe('rd open-redirect guard', () => {
  const accepted: [string, string][] = [
    ['/', '/'],
    ['/dash?x=1#y', '/dash?x=1#y'],
    ['https://gate.example.com/x', 'https://gate.example.com/x'],
    ['https://app.example.com/logout', 'https://app.example.com/logout'],
    ['https://kibana.corp.example.org/', 'https://kibana.corp.example.org/'],
  ]
  for (const [input, output] of accepted) {
    test(`accepts ${input}`, () => assert.equal(safeRedirect(input, own, allowed), output))
  }

  const refused = [
    '//evil.com',
    '///evil.com',
    '/\\evil.com',
    '\\\\evil.com',
    '/\tevil.com',
    '/\t/evil.com',
    '/\n/evil.com',
    ' //evil.com',
    'https://evil.com',
    'https://gate.example.com@evil.com',
    'https://user:pw@app.example.com/',
    'https://app.example.com.evil.com/',
    'https://evilapp.example.com/',
    'https://corp.example.org/',
    'https://xcorp.example.org/',
    'javascript:alert(1)',
    'data:text/html,hi',
    'ftp://app.example.com/',
    'evil.com',
    '',
  ]
  for (const input of refused) {
    test(`refuses ${JSON.stringify(input)}`, () => assert.equal(safeRedirect(input, own, allowed), null))
  }

  test('an allowed host matches with or without a port (the Origin check uses the same rule)', () => {
    assert.equal(safeRedirect('https://app.example.com:8443/x', own, allowed), 'https://app.example.com:8443/x')
    assert.ok(hostAllowed(new URL('https://app.example.com:8443'), own, allowed))
    assert.ok(!hostAllowed(new URL('https://gate.example.com:9999'), own, allowed), 'the gateway itself only on its own port')
  })

  test('refuses non-strings', () => {
    assert.equal(safeRedirect(['/a'], own, allowed), null)
    assert.equal(safeRedirect(undefined, own, allowed), null)
  })
})
