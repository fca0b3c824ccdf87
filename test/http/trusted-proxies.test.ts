import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseConfig } from '../../src/config/load.js'
import { createTrustedProxies, parseCidr } from '../../src/http/trusted-proxies.js'

describe('trusted_proxies (CIDR matching, X-Forwarded-* reading)', () => {
  test('CIDRs: IPv4, IPv6, IPv4-mapped IPv6, bare addresses; nothing else', () => {
    const trusted = createTrustedProxies(['127.0.0.0/8', '::1/128', '10.1.0.0/16', '2001:db8::/32', '192.0.2.7'])
    for (const ip of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1', '10.1.200.3', '::ffff:10.1.0.1', '2001:db8::42', '192.0.2.7']) assert.ok(trusted.trusts(ip), ip)
    for (const ip of ['128.0.0.1', '10.2.0.1', '::2', '2001:db9::1', '192.0.2.8', '', undefined, 'localhost', '::ffff:8.8.8.8']) assert.ok(!trusted.trusts(ip), String(ip))
    assert.ok(!createTrustedProxies([]).trusts('127.0.0.1'))
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, type: 'ipv4' })
    for (const bad of ['10.0.0.0/33', '::/129', 'example.com/8', '10.0.0/8', '10.0.0.0/x', '']) assert.equal(parseCidr(bad), null, bad)
    assert.throws(() => createTrustedProxies(['nope']))
  })

  test('the client is the right-most untrusted X-Forwarded-For hop; proto and host only from a trusted peer', () => {
    const trusted = createTrustedProxies(['127.0.0.0/8', '10.0.0.0/8'])
    const headers = { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.5', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.test:8443', host: 'gatehouse:4180' }
    assert.deepEqual(trusted.client('127.0.0.1', headers, 'http'), { ip: '198.51.100.7', protocol: 'https', host: 'app.example.test:8443', viaTrustedProxy: true })
    assert.deepEqual(trusted.client('203.0.113.1', headers, 'http'), { ip: '203.0.113.1', protocol: 'http', host: 'gatehouse:4180', viaTrustedProxy: false })
    // Garbage in the chain stops the walk; a bad proto or host is not believed.
    assert.equal(trusted.client('127.0.0.1', { 'x-forwarded-for': 'junk, 10.0.0.9' }, 'http').ip, '10.0.0.9')
    const odd = trusted.client('127.0.0.1', { 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'a/b@c', host: 'h' }, 'https')
    assert.equal(odd.protocol, 'https')
    assert.equal(odd.host, 'h')
  })

  test('remembered answers stay right past the memo bound (many distinct peers, asked twice)', () => {
    const trusted = createTrustedProxies(['10.0.0.0/16'])
    const peers = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? `10.0.${(i >> 8) & 255}.${i & 255}` : `10.1.${(i >> 8) & 255}.${i & 255}`))
    for (let round = 0; round < 2; round++) for (const [i, ip] of peers.entries()) assert.equal(trusted.trusts(ip), i % 2 === 1, `${ip} round ${round}`)
  })

  test('config: trusted_proxies defaults to loopback; a bad CIDR is a config error naming the key', () => {
    const base = { upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(40)] }
    assert.deepEqual(parseConfig(base, {}).trusted_proxies, ['127.0.0.0/8', '::1/128'])
    assert.deepEqual(parseConfig({ ...base, trusted_proxies: ['10.0.0.0/8', '::1'] }, {}).trusted_proxies, ['10.0.0.0/8', '::1'])
    assert.throws(() => parseConfig({ ...base, trusted_proxies: ['10.0.0.0/40'] }, {}), (error: { problems?: string[] }) => String(error.problems).includes('trusted_proxies[0]: expected a CIDR'))
  })
})
