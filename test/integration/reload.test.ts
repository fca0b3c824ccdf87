// SIGHUP reloads `gatehouse start -c FILE` in place: the real CLI in its own process in front of
// a real upstream (HTTP and WebSocket). Connections, requests in flight, tunnels and sessions
// live through a valid reload; an invalid one is refused with every problem by key path, and
// the old config keeps serving.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import WebSocket, { WebSocketServer } from 'ws'
import { createPrivateKey } from 'node:crypto'
import { mintToken } from '../../src/auth/jwt-sign.js'
import { generatePemPair } from '../../src/cli/keygen.js'
import { startCli, type StartedCli } from '../helpers/cli-process.js'
import { ALICE, BOB, SECRET, testUsers } from '../helpers/gateway.js'

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  localPort: number
}

function send(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: options.method ?? 'GET', agent: options.agent ?? false, headers: options.headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, localPort: req.socket!.localPort! }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

async function login(base: string, user: { username: string; password: string }): Promise<Reply & { cookie: string }> {
  const reply = await send(base, '/_gatehouse/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user.username, password: user.password }) })
  const cookie = ((reply.headers['set-cookie'] as string[] | undefined) ?? []).map((line) => line.split(';')[0]!).find((pair) => pair.startsWith('gatehouse_session=') && pair.length > 18) ?? ''
  return { ...reply, cookie }
}

describe('SIGHUP reload (one process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-reload-'))
  const file = join(dir, 'gatehouse.yaml')
  const usersFile = join(dir, 'users.yaml')
  let upstream: Server
  let upstreamUrl = ''
  let gateway: StartedCli
  let users: Record<string, unknown>[]
  let slowStarted: () => void = () => {}
  const reloads = (event: string) => (line: Record<string, unknown>) => line.event === event

  const write = (overrides: Record<string, unknown> = {}) =>
    writeFileSync(file, JSON.stringify({
      listen: '127.0.0.1:0',
      upstream: upstreamUrl,
      secrets: [SECRET],
      users: { file: usersFile },
      log: { level: 'info' },
      session: { storage: 'memory', cookie: { secure: false } },
      ...overrides,
    }))

  before(async () => {
    const wss = new WebSocketServer({ noServer: true })
    wss.on('connection', (socket, req) => socket.on('message', (data) => socket.send(`${req.headers['x-forwarded-user']}:${String(data)}`)))
    upstream = createServer((req, res) => {
      const answer = () => (res.writeHead(200, { 'content-type': 'application/json' }), res.end(JSON.stringify({ url: req.url, user: req.headers['x-forwarded-user'] })))
      if (req.url === '/slow') (slowStarted(), setTimeout(answer, 1500))
      else answer()
    })
    upstream.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)))
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
    users = (await testUsers()) as Record<string, unknown>[]
    writeFileSync(usersFile, JSON.stringify([users[0]])) // alice only
    write()
    gateway = await startCli(file)
  })

  after(async () => {
    await gateway?.stop()
    await new Promise<void>((resolve) => (upstream.closeAllConnections(), upstream.close(() => resolve())))
    rmSync(dir, { recursive: true, force: true })
  })

  test('a valid new config takes effect; the keep-alive connection, a request in flight, a WebSocket and the session live through it', async () => {
    const base = gateway.address
    const alice = await login(base, ALICE)
    assert.equal(alice.status, 200, alice.body)
    assert.equal((await login(base, BOB)).status, 401, 'bob is not in the users file yet')
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const first = await send(base, '/private', { agent, headers: { cookie: alice.cookie } })
    assert.equal(first.status, 200)
    assert.equal(JSON.parse(first.body).user, 'alice')

    const ws = new WebSocket(`${base.replace('http', 'ws')}/socket`, { headers: { cookie: alice.cookie } })
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
    const echo = (text: string) => new Promise<string>((resolve) => (ws.once('message', (data) => resolve(String(data))), ws.send(text)))
    assert.equal(await echo('before'), 'alice:before')

    const arrived = new Promise<void>((resolve) => (slowStarted = resolve))
    const inFlight = send(base, '/slow', { headers: { cookie: alice.cookie } })
    await arrived

    // New: bob in the users file, and /private for a role alice does not have.
    writeFileSync(usersFile, JSON.stringify(users))
    write({ routes: [{ path: '/private', roles: ['nobody'] }, { path: '/' }] })
    gateway.child.kill('SIGHUP')
    await gateway.waitFor('the reload', reloads('reloaded'))

    assert.equal((await inFlight).status, 200, 'the request in flight during the reload completes')
    assert.equal(await echo('after'), 'alice:after', 'the WebSocket tunnel stays open')
    const again = await send(base, '/', { agent, headers: { cookie: alice.cookie } })
    assert.equal(again.status, 200, 'the session cookie is still valid')
    assert.equal(again.localPort, first.localPort, 'same keep-alive connection')
    assert.equal((await send(base, '/private', { agent, headers: { cookie: alice.cookie } })).status, 403, 'the new route rule applies')
    assert.equal((await login(base, BOB)).status, 200, 'the re-read users file applies')
    ws.close()
    agent.destroy()
  })

  test('an invalid config is refused with every problem by key path; the running config keeps serving', async () => {
    const base = gateway.address
    const alice = await login(base, ALICE)
    const before = gateway.lines().filter(reloads('reload_refused')).length
    write({ routes: [{ path: 'no-slash' }], session: { storage: 'memory', idle_timeout: 'soon' } })
    gateway.child.kill('SIGHUP')
    const [refused] = (await gateway.waitFor('the refusal', reloads('reload_refused'), before + 1)).slice(before)
    const problems = refused!.problems as string[]
    assert.ok(problems.some((p) => /^routes\[0\]\.path: must start with "\/"/.test(p)), problems.join('\n'))
    assert.ok(problems.some((p) => /^session\.idle_timeout: expected a duration/.test(p)), problems.join('\n'))
    assert.ok(gateway.lines().some((line) => line.event === 'reload_problem' && /^session\.idle_timeout:/.test(String(line.problem))), 'each problem has its own log line')
    // Still the config of the previous test: /private refused to alice, bob known.
    assert.equal((await send(base, '/private', { headers: { cookie: alice.cookie } })).status, 403)
    assert.equal((await send(base, '/other', { headers: { cookie: alice.cookie } })).status, 200)
    assert.equal((await login(base, BOB)).status, 200)
  })

  test('a config naming unreadable files is refused with each file by key path; nothing changes', async () => {
    const base = gateway.address
    const before = gateway.lines().filter(reloads('reload_refused')).length
    write({ users: { file: join(dir, 'missing-users.yaml') }, auth: { jwt: { public_key_file: join(dir, 'missing.pem') } } })
    gateway.child.kill('SIGHUP')
    const [refused] = (await gateway.waitFor('the refusal', reloads('reload_refused'), before + 1)).slice(before)
    const problems = (refused!.problems as string[]).join('\n')
    assert.match(problems, /^users\.file: cannot read .*missing-users\.yaml/m)
    assert.match(problems, /^auth\.jwt\.public_key_file: cannot read .*missing\.pem/m)
    assert.equal((await login(base, BOB)).status, 200, 'the users read before stay')
    assert.equal((await send(base, '/', { headers: { authorization: 'Bearer not-a-jwt' } })).status, 401, 'no JWT authenticator appeared')
  })

  test('a config file that cannot be read, or is not YAML, is refused; the gateway keeps serving', async () => {
    const base = gateway.address
    for (const [name, spoil, expected] of [
      ['removed', () => rmSync(file), /^\(file\): cannot read .*gatehouse\.yaml: file not found/],
      ['not YAML', () => writeFileSync(file, 'listen: [unclosed\n'), /^\(yaml\): /],
    ] as const) {
      spoil()
      const before = gateway.lines().filter(reloads('reload_refused')).length
      gateway.child.kill('SIGHUP')
      const [refused] = (await gateway.waitFor(`the refusal (${name})`, reloads('reload_refused'), before + 1)).slice(before)
      assert.ok((refused!.problems as string[]).some((p) => expected.test(p)), `${name}: ${JSON.stringify(refused!.problems)}`)
      assert.equal((await login(base, BOB)).status, 200, `${name}: still serving with the running config`)
    }
    write()
  })

  test('settings that need a restart are logged and keep their value; the rest applies', async () => {
    const base = gateway.address
    write({ listen: '127.0.0.1:1', session: { storage: 'sqlite', cookie: { secure: false } }, routes: [{ path: '/', auth: 'none' }] })
    const before = gateway.lines().filter(reloads('reloaded')).length
    gateway.child.kill('SIGHUP')
    await gateway.waitFor('the reload', reloads('reloaded'), before + 1)
    const restart = gateway.lines().filter(reloads('reload_needs_restart')).map((line) => line.key)
    assert.deepEqual(restart.sort(), ['listen', 'session.storage'])
    const open = await send(base, '/anything')
    assert.equal(open.status, 200, 'same address, and the new route applies')
    assert.equal(JSON.parse(open.body).user, undefined)
  })

  test('key files are re-read: the JWT verification key and the identity-token signing key; a generated signing key is kept', async () => {
    const base = gateway.address
    const jwks = async () => (JSON.parse((await send(base, '/_gatehouse/jwks.json')).body) as { keys: { x: string }[] }).keys[0]!.x
    const reload = async (overrides: Record<string, unknown>) => {
      const before = gateway.lines().filter(reloads('reloaded')).length
      write(overrides)
      gateway.child.kill('SIGHUP')
      await gateway.waitFor('the reload', reloads('reloaded'), before + 1)
    }
    await reload({ identity_headers: { jwt: {} } })
    const generated = await jwks()
    await reload({ identity_headers: { jwt: { ttl: '2m' } } })
    assert.equal(await jwks(), generated, 'without private_key_file the generated key survives a reload')

    const verifyFile = join(dir, 'jwt.pub')
    const signFile = join(dir, 'identity.key')
    const [p, q, a, b] = [generatePemPair('EdDSA'), generatePemPair('EdDSA'), generatePemPair('EdDSA'), generatePemPair('EdDSA')]
    const token = (pem: string) => mintToken(createPrivateKey(pem), 'EdDSA', { sub: 'carol', ttlSeconds: 300 })
    const overrides = { auth: { jwt: { public_key_file: verifyFile } }, identity_headers: { jwt: { private_key_file: signFile } } }
    writeFileSync(verifyFile, p.publicKey)
    writeFileSync(signFile, a.privateKey)
    await reload(overrides)
    const withP = await send(base, '/', { headers: { authorization: `Bearer ${await token(p.privateKey)}` } })
    assert.equal(withP.status, 200)
    assert.equal(JSON.parse(withP.body).user, 'carol')
    const fromA = await jwks()
    assert.notEqual(fromA, generated)

    writeFileSync(verifyFile, q.publicKey)
    writeFileSync(signFile, b.privateKey)
    await reload(overrides)
    assert.equal((await send(base, '/', { headers: { authorization: `Bearer ${await token(p.privateKey)}` } })).status, 401, 'the old verification key is gone')
    assert.equal((await send(base, '/', { headers: { authorization: `Bearer ${await token(q.privateKey)}` } })).status, 200, 'the new one verifies')
    const fromB = await jwks()
    assert.notEqual(fromB, fromA, 'the identity tokens are signed with the new key')
  })
})
