// SIGHUP to the primary of `gatehouse start` with `workers: 2`: it forwards the signal and
// every worker reloads the same way. Each request goes over a fresh connection, so node's
// round-robin scheduler spreads them over both workers.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { childPids, startCli, type StartedCli } from '../helpers/cli-process.js'
import { ALICE, BOB, SECRET, testUsers } from '../helpers/gateway.js'

function send(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: options.method ?? 'GET', agent: false, headers: { connection: 'close', ...options.headers } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

const loginStatus = async (base: string, user: { username: string; password: string }) =>
  (await send(base, '/_gatehouse/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user.username, password: user.password }) }))

describe('SIGHUP reload with workers: 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-reload-workers-'))
  const file = join(dir, 'gatehouse.yaml')
  const usersFile = join(dir, 'users.yaml')
  let upstream: Server
  let gateway: StartedCli
  let config: Record<string, unknown>
  let users: unknown[]

  before(async () => {
    upstream = createServer((req, res) => (res.writeHead(200, { 'content-type': 'application/json' }), res.end(JSON.stringify({ user: req.headers['x-forwarded-user'] }))))
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    users = await testUsers()
    writeFileSync(usersFile, JSON.stringify([users[0]])) // alice only
    config = {
      listen: '127.0.0.1:0',
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      secrets: [SECRET],
      users: { file: usersFile },
      workers: 2,
      log: { level: 'info' },
      session: { storage: 'sqlite', sqlite: { path: join(dir, 'sessions.db') }, cookie: { secure: false } },
    }
    writeFileSync(file, JSON.stringify(config))
    gateway = await startCli(file, { workers: 2 })
  })

  after(async () => {
    await gateway?.stop()
    await new Promise<void>((resolve) => (upstream.closeAllConnections(), upstream.close(() => resolve())))
    rmSync(dir, { recursive: true, force: true })
  })

  test('every worker reloads: new users and routes everywhere, sessions still valid, no worker replaced', async () => {
    const base = gateway.address
    const workersBefore = childPids(gateway.child.pid!).sort()
    assert.equal(workersBefore.length, 2)
    const alice = await loginStatus(base, ALICE)
    assert.equal(alice.status, 200)
    const cookie = ((alice.headers['set-cookie'] as string[]) ?? []).map((l) => l.split(';')[0]!).find((p) => p.startsWith('gatehouse_session=') && p.length > 18)!

    writeFileSync(usersFile, JSON.stringify(users))
    writeFileSync(file, JSON.stringify({ ...config, routes: [{ path: '/private', roles: ['nobody'] }, { path: '/' }] }))
    gateway.child.kill('SIGHUP')
    const reloaded = await gateway.waitFor('both workers to reload', (line) => line.event === 'reloaded', 2)
    assert.deepEqual(reloaded.map((line) => line.worker).sort(), [0, 1])

    for (let i = 0; i < 8; i++) {
      assert.equal((await loginStatus(base, BOB)).status, 200, `bob logs in on every worker (${i})`)
      assert.equal((await send(base, '/', { headers: { cookie } })).status, 200, `alice's session is valid on every worker (${i})`)
      assert.equal((await send(base, '/private', { headers: { cookie } })).status, 403, `the new route applies on every worker (${i})`)
    }
    assert.deepEqual(childPids(gateway.child.pid!).sort(), workersBefore, 'the same two workers: none was killed by SIGHUP')
  })

  test('an invalid config is refused by every worker, which keep serving', async () => {
    const base = gateway.address
    writeFileSync(file, JSON.stringify({ ...config, routes: [{ path: '/', auth: 'sometimes' }] }))
    gateway.child.kill('SIGHUP')
    const refused = await gateway.waitFor('both workers to refuse', (line) => line.event === 'reload_refused', 2)
    for (const line of refused) assert.ok((line.problems as string[]).some((p) => p.startsWith('routes[0].auth:')), JSON.stringify(line.problems))
    for (let i = 0; i < 6; i++) assert.equal((await loginStatus(base, BOB)).status, 200, `still the reloaded users (${i})`)
  })
})
