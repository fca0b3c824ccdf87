// `gatehouse start` with `workers: 2` on one SQLite file, as an operator runs it: the real CLI
// in its own process (the cluster primary) forking two workers that share the port, in front
// of a real upstream. Every request goes over a fresh connection, so node's round-robin
// scheduler spreads them over both workers.
import assert from 'node:assert/strict'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { ALICE, BOB, SECRET, testUsers } from '../helpers/gateway.js'

const SLOW_MS = 1500

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** One request on its own connection (no keep-alive, no pool). */
function send(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
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

async function login(base: string, user: { username: string; password: string }): Promise<string> {
  const reply = await send(base, '/_gatehouse/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: user.password }),
  })
  assert.equal(reply.status, 200, reply.body)
  const pair = ((reply.headers['set-cookie'] as string[] | undefined) ?? []).map((line) => line.split(';')[0]!).find((p) => p.startsWith('gatehouse_session=') && p.length > 'gatehouse_session='.length)
  assert.ok(pair, 'login sets the session cookie')
  return pair
}

function children(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0)
  } catch {
    return [] // ps exits 1 when there are none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

describe('gatehouse start with workers: 2 on sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-workers-'))
  let upstream: Server
  const slowArrived: (() => void)[] = []
  let primary: ChildProcess
  let output = ''
  let base = ''
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  const logLines = () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)

  before(async () => {
    upstream = createServer((req, res) => {
      const answer = () => (res.writeHead(200, { 'content-type': 'application/json' }), res.end(JSON.stringify({ url: req.url, user: req.headers['x-forwarded-user'] })))
      if (req.url === '/slow') {
        for (const notify of slowArrived.splice(0)) notify()
        setTimeout(answer, SLOW_MS)
      } else answer()
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    const config = {
      listen: '127.0.0.1:0',
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      secrets: [SECRET],
      users: await testUsers(),
      workers: 2,
      log: { level: 'info' },
      session: { storage: 'sqlite', sqlite: { path: join(dir, 'sessions.db') }, max_sessions: 2, cookie: { secure: false } },
    }
    const file = join(dir, 'gatehouse.yaml')
    writeFileSync(file, JSON.stringify(config)) // JSON is YAML
    primary = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/run-cli.ts', 'start', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] })
    primary.stdout!.on('data', (chunk) => (output += chunk))
    primary.stderr!.on('data', (chunk) => (output += chunk))
    exited = new Promise((resolve) => primary.once('exit', (code, signal) => resolve({ code, signal })))
    const started = await until('the primary to report both workers listening', () => {
      if (primary.exitCode !== null) throw new Error(`gatehouse start exited (${primary.exitCode}):\n${output}`)
      return logLines().find((line) => line.event === 'started' && line.workers === 2)
    })
    base = String(started.address)
    assert.equal(children(primary.pid!).length, 2, 'two worker processes')
  })

  after(async () => {
    if (primary && primary.exitCode === null && primary.signalCode === null) {
      for (const pid of children(primary.pid!)) process.kill(pid, 'SIGKILL')
      primary.kill('SIGKILL')
    }
    await new Promise<void>((resolve) => (upstream.closeAllConnections(), upstream.close(() => resolve())))
    rmSync(dir, { recursive: true, force: true })
  })

  test('max_sessions: 2 stays exact under 12 parallel logins of one user spread over both workers', async () => {
    const cookies = await Promise.all(Array.from({ length: 12 }, () => login(base, ALICE)))
    assert.equal(new Set(cookies).size, 12)
    let valid = 0
    for (const cookie of cookies) {
      // Two requests, two connections: the round robin sends them to different workers.
      const [first, second] = [await send(base, '/x', { headers: { cookie } }), await send(base, '/x', { headers: { cookie } })]
      assert.equal(first.status, second.status, 'both workers agree')
      if (first.status === 200) valid++
      else assert.equal(first.status, 401, first.body)
    }
    assert.equal(valid, 2)
    await until('request logs from both workers', () => new Set(logLines().filter((line) => line.worker !== undefined && (line.path ?? line.url) === '/x').map((line) => line.pid)).size === 2, 5000)
  })

  test('a logout is effective on every worker at once', async () => {
    const cookie = await login(base, BOB)
    // Both workers have now seen (and may cache) the session.
    for (let i = 0; i < 6; i++) assert.equal((await send(base, '/warm', { headers: { cookie } })).status, 200)
    const logout = await send(base, '/_gatehouse/logout', { method: 'POST', headers: { cookie, accept: 'application/json' } })
    assert.ok(logout.status < 400, `logout answered ${logout.status}: ${logout.body}`)
    const replies = await Promise.all(Array.from({ length: 20 }, () => send(base, '/after-logout', { headers: { cookie } })))
    assert.deepEqual(replies.map((r) => r.status), Array(20).fill(401), replies.map((r) => r.body).join('\n'))
  })

  test('a killed worker is replaced and the gateway keeps serving', async () => {
    const cookie = await login(base, BOB)
    const before = children(primary.pid!)
    assert.equal(before.length, 2)
    const victim = before[0]!
    process.kill(victim, 'SIGKILL')
    await until('the primary to notice the dead worker', () => logLines().some((line) => line.event === 'worker_exited' && line.pid === victim && line.signal === 'SIGKILL'))
    const during = await Promise.all(Array.from({ length: 10 }, () => send(base, '/meanwhile', { headers: { cookie } })))
    assert.deepEqual(during.map((r) => r.status), Array(10).fill(200))
    const replacement = await until('a replacement worker listening', () => {
      const now = children(primary.pid!)
      const fresh = now.find((pid) => !before.includes(pid))
      return now.length === 2 && fresh && logLines().some((line) => line.event === 'started' && line.pid === fresh) ? fresh : undefined
    })
    assert.ok(!alive(victim))
    // One after the other, so the round robin alternates between the old worker and the new one.
    for (let i = 0; i < 10; i++) assert.equal((await send(base, '/afterwards', { headers: { cookie } })).status, 200)
    await until('the replacement to log a request it served', () => logLines().some((line) => (line.path ?? line.url) === '/afterwards' && line.pid === replacement), 5000)
  })

  test('SIGTERM drains: a request in flight completes with 200, then every process exits 0', async () => {
    const cookie = await login(base, BOB)
    const workers = children(primary.pid!)
    const arrived = new Promise<void>((resolve) => slowArrived.push(resolve))
    const slow = send(base, '/slow', { headers: { cookie } })
    await arrived
    primary.kill('SIGTERM')
    const reply = await slow
    assert.equal(reply.status, 200, reply.body)
    assert.equal(JSON.parse(reply.body).user, BOB.username)
    const { code, signal } = await exited
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, output)
    for (const pid of workers) assert.ok(!alive(pid), `worker ${pid} is gone`)
    const stopped = logLines().filter((line) => line.event === 'worker_stopped')
    assert.deepEqual(stopped.map((line) => line.code), [0, 0])
  })
})
