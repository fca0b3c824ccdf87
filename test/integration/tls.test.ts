// `tls: {cert_file, key_file}`: the real CLI listens with HTTPS; a real https client checks
// the certificate it is shown. SIGHUP re-reads both files (new connections get the new pair,
// open ones keep working); bad files are a config error at start and a refused reload later.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { Agent, request } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { TLSSocket } from 'node:tls'
import { runCli } from '../helpers/cli.js'
import { startCli, type StartedCli } from '../helpers/cli-process.js'
import { ALICE, SECRET, testUsers } from '../helpers/gateway.js'

/** A self-signed certificate for 127.0.0.1 and localhost (openssl, as an operator makes one). */
function selfSigned(dir: string, name: string): { cert: string; key: string; pem: string; fingerprint: string } {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' })
  const pem = readFileSync(cert, 'utf8')
  return { cert, key, pem, fingerprint: new X509Certificate(pem).fingerprint256 }
}

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  fingerprint: string
  localPort: number
}

function send(base: string, path: string, options: { ca: string[]; agent?: Agent; method?: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: options.method ?? 'GET', ca: options.ca, agent: options.agent ?? false, headers: options.headers }, (res) => {
      let body = ''
      const socket = res.socket as TLSSocket
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, fingerprint: socket.getPeerCertificate().fingerprint256, localPort: socket.localPort! }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

describe('TLS listener', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'))
  const certFile = join(dir, 'gatehouse.crt')
  const keyFile = join(dir, 'gatehouse.key')
  const file = join(dir, 'gatehouse.yaml')
  let first: ReturnType<typeof selfSigned>
  let second: ReturnType<typeof selfSigned>
  let upstream: Server
  let config: Record<string, unknown>
  let gateway: StartedCli

  before(async () => {
    first = selfSigned(dir, 'first')
    second = selfSigned(dir, 'second')
    copyFileSync(first.cert, certFile)
    copyFileSync(first.key, keyFile)
    upstream = createServer((req, res) => (res.writeHead(200, { 'content-type': 'application/json' }), res.end(JSON.stringify({ user: req.headers['x-forwarded-user'], proto: req.headers['x-forwarded-proto'] }))))
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    // The default cookie.secure: true, as it should be over https.
    config = {
      listen: '127.0.0.1:0',
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      secrets: [SECRET],
      users: await testUsers(),
      session: { storage: 'memory' },
      tls: { cert_file: certFile, key_file: keyFile },
    }
    writeFileSync(file, JSON.stringify(config))
    gateway = await startCli(file)
  })

  after(async () => {
    await gateway?.stop()
    await new Promise<void>((resolve) => (upstream.closeAllConnections(), upstream.close(() => resolve())))
    rmSync(dir, { recursive: true, force: true })
  })

  test('speaks HTTPS with the configured certificate; login sets a Secure cookie; the upstream sees X-Forwarded-Proto: https', async () => {
    assert.match(gateway.address, /^https:\/\/127\.0\.0\.1:\d+$/)
    const ca = [first.pem, second.pem]
    const health = await send(gateway.address, '/_gatehouse/healthz', { ca })
    assert.equal(health.status, 200)
    assert.equal(health.fingerprint, first.fingerprint)
    const login = await send(gateway.address, '/_gatehouse/login', { ca, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: ALICE.username, password: ALICE.password }) })
    assert.equal(login.status, 200, login.body)
    const setCookie = ((login.headers['set-cookie'] as string[]) ?? []).find((line) => line.startsWith('gatehouse_session='))!
    assert.match(setCookie, /; Secure/i)
    const proxied = await send(gateway.address, '/', { ca, headers: { cookie: setCookie.split(';')[0]! } })
    assert.deepEqual(JSON.parse(proxied.body), { user: 'alice', proto: 'https' })
  })

  test('SIGHUP re-reads both files: new connections get the new certificate, an open one keeps working', async () => {
    const ca = [first.pem, second.pem]
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const before = await send(gateway.address, '/_gatehouse/healthz', { ca, agent })
    assert.equal(before.fingerprint, first.fingerprint)
    copyFileSync(second.cert, certFile)
    copyFileSync(second.key, keyFile)
    const reloaded = gateway.lines().filter((line) => line.event === 'reloaded').length
    gateway.child.kill('SIGHUP')
    await gateway.waitFor('the reload', (line) => line.event === 'reloaded', reloaded + 1)
    const fresh = await send(gateway.address, '/_gatehouse/healthz', { ca })
    assert.equal(fresh.fingerprint, second.fingerprint, 'a new connection gets the new certificate')
    const kept = await send(gateway.address, '/_gatehouse/healthz', { ca, agent })
    assert.equal(kept.status, 200)
    assert.equal(kept.localPort, before.localPort, 'the open connection was not dropped')
    agent.destroy()
  })

  test('a reload with a bad key, a bad certificate or a mismatched pair is refused by key path; the certificate in use stays', async () => {
    const cases: [string, () => void, RegExp][] = [
      ['garbage key', () => (copyFileSync(second.cert, certFile), writeFileSync(keyFile, 'not a key\n')), /^tls\.key_file: not a PEM private key/],
      ['garbage certificate', () => (writeFileSync(certFile, 'not a certificate\n'), copyFileSync(second.key, keyFile)), /^tls\.cert_file: not a PEM certificate/],
      ['mismatched pair', () => (copyFileSync(first.cert, certFile), copyFileSync(second.key, keyFile)), /^tls\.key_file: cannot be used with the certificate in tls\.cert_file/],
      ['unreadable key', () => (copyFileSync(second.cert, certFile), rmSync(keyFile)), /^tls\.key_file: cannot read .*ENOENT/],
    ]
    for (const [name, spoil, expected] of cases) {
      spoil()
      const refused = gateway.lines().filter((line) => line.event === 'reload_refused').length
      gateway.child.kill('SIGHUP')
      const [line] = (await gateway.waitFor(`the refusal (${name})`, (l) => l.event === 'reload_refused', refused + 1)).slice(refused)
      assert.ok((line!.problems as string[]).some((p) => expected.test(p)), `${name}: ${(line!.problems as string[]).join('; ')}`)
      const still = await send(gateway.address, '/_gatehouse/healthz', { ca: [first.pem, second.pem] })
      assert.equal(still.fingerprint, second.fingerprint, `${name}: the certificate in use stays`)
    }
  })

  test('at start, an unreadable or invalid file is a config error naming its key (exit 2)', async () => {
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, JSON.stringify({ ...config, tls: { cert_file: join(dir, 'nope.crt'), key_file: first.cert } }))
    const result = await runCli(['start', '-c', bad])
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /tls\.cert_file: cannot read .*nope\.crt/)
    assert.match(result.stderr, /tls\.key_file: not a PEM private key/)
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  })
})
