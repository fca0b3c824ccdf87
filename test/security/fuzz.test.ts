import assert from 'node:assert/strict'
import { createSecretKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { signJwt } from '../../src/auth/jwt.js'
import { startEchoUpstream } from '../../src/demo/echo-upstream.js'
import { ALICE, login, SECRET, testUsers } from '../helpers/gateway.js'
import { startGatewayProcess, type GatewayProcess } from '../helpers/processes.js'
import { makeProbes, type Probe, type ProbeKind } from './fuzz-probes.js'

/**
 * The fuzz pass (issue 9, "Tests and figures"): 10,000 malformed cookies, tokens (JWT in the
 * header, a cookie and the query), Basic values, API keys and paths — plus login bodies and
 * forward-auth headers — as raw bytes against a gateway in its own process, so a crash shows.
 * Expected: no 5xx, no hang, the process alive, its RSS stable. Seeded: FUZZ_SEED replays a run.
 */

const PROBES = Number(process.env.FUZZ_PROBES ?? 10_000)
const SEED = Number(process.env.FUZZ_SEED ?? 20261203)
const CONCURRENCY = 24
/** RSS growth allowed over the run, after a warm-up (JIT, pools, caches filled). */
const RSS_BOUND_MB = 48
const JWT_SECRET = 'fuzz-jwt-secret-0123456789abcdef0123'
const API_KEY = 'fuzz-api-key-0123456789abcdef'

interface Answer {
  status: number | 'hang' | 'reset' | 'garbled'
}

/** One request, the bytes as written; the status from the response line. */
function send(port: number, raw: string): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let done = false
    const finish = (answer: Answer) => {
      if (done) return
      done = true
      socket.destroy()
      resolve(answer)
    }
    socket.setTimeout(10_000, () => finish({ status: 'hang' }))
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      const head = Buffer.concat(chunks).toString('latin1')
      const line = /^HTTP\/1\.[01] (\d{3}) /.exec(head)
      if (line) finish({ status: Number(line[1]) })
      else if (head.length > 64) finish({ status: 'garbled' })
    })
    socket.on('error', () => finish({ status: 'reset' }))
    socket.on('end', () => finish({ status: chunks.length === 0 ? 'reset' : 'garbled' }))
    socket.write(Buffer.from(raw, 'latin1'))
  })
}

async function runAll(port: number, probes: readonly Probe[]): Promise<{ answers: Answer[]; ms: number }> {
  const answers: Answer[] = new Array(probes.length)
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < probes.length) {
        const index = next++
        answers[index] = await send(port, probes[index]!.raw)
      }
    }),
  )
  return { answers, ms: performance.now() - started }
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024
}

describe('security: fuzz pass against a gateway process', { timeout: 120_000 }, () => {
  let dir: string
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>
  let gateway: GatewayProcess
  let port: number
  let seeds: Parameters<typeof makeProbes>[2]

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-fuzz-'))
    upstream = await startEchoUpstream()
    gateway = await startGatewayProcess({
      listen: '127.0.0.1:0',
      upstream: upstream.url,
      secrets: [SECRET],
      users: await testUsers(),
      log: { level: 'error' },
      admin: { token: 'fuzz-admin-token-0123456789abcdef0123' },
      session: { storage: 'sqlite', sqlite: { path: join(dir, 'sessions.db') }, cookie: { secure: false }, logout: { query_arg: 'session_logout' } },
      routes: [
        { path: '/api/private', roles: ['admin'] },
        { path: '/open', auth: 'none' },
        { path: '/pub', auth: 'optional' },
        { path: '/', auth: 'required' },
      ],
      auth: {
        basic: { enabled: true },
        apikey: { header: 'X-API-Key', query: 'api_key', keys: [{ key: API_KEY, user: 'svc', roles: ['admin'] }] },
        jwt: { sources: ['header', 'cookie:access', 'query:jwt'], algorithms: ['HS256'], secret: JWT_SECRET },
        anonymous: { enabled: true },
      },
    })
    port = Number(new URL(gateway.url).port)
    const now = Math.floor(Date.now() / 1000)
    seeds = {
      sessionCookie: (await login(gateway.url, ALICE.username, ALICE.password)).cookie!,
      jwt: await signJwt(createSecretKey(Buffer.from(JWT_SECRET)), { alg: 'HS256' }, { sub: 'fuzzer', roles: ['admin'], iat: now, exp: now + 3600 }),
      apiKey: API_KEY,
      basic: Buffer.from(`${ALICE.username}:${ALICE.password}`).toString('base64'),
    }
  })
  after(async () => {
    await gateway?.stop()
    await upstream?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test(`${PROBES} malformed requests (seed ${SEED}): no 5xx, no hang, the process alive, RSS stable`, async (t) => {
    // Warm-up with other probes, so the RSS comparison is not JIT and pool growth.
    await runAll(port, makeProbes(SEED + 1, 1_500, seeds))
    const rssBefore = rssMb(gateway.child.pid!)
    const probes = makeProbes(SEED, PROBES, seeds)
    const { answers, ms } = await runAll(port, probes)
    const rssAfter = rssMb(gateway.child.pid!)

    const byStatus = new Map<string, number>()
    const bad: { kind: ProbeKind; status: Answer['status']; raw: string }[] = []
    answers.forEach((answer, index) => {
      byStatus.set(String(answer.status), (byStatus.get(String(answer.status)) ?? 0) + 1)
      // A reset is the server refusing bytes it cannot parse (Node answers most with 400 first).
      if (answer.status === 'hang' || answer.status === 'garbled' || (typeof answer.status === 'number' && answer.status >= 500)) {
        bad.push({ kind: probes[index]!.kind, status: answer.status, raw: probes[index]!.raw.slice(0, 400) })
      }
    })
    const summary = `${PROBES} probes in ${(ms / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}; RSS ${rssBefore.toFixed(1)} → ${rssAfter.toFixed(1)} MB`
    t.diagnostic(summary)
    process.stdout.write(`# fuzz: ${summary}\n`)

    assert.deepEqual(bad.slice(0, 5), [], `seed ${SEED}: ${bad.length} probes got a 5xx, a hang or a garbled answer`)
    assert.equal(gateway.child.exitCode, null, 'the gateway process is alive')
    const health = await fetch(`${gateway.url}/_gatehouse/healthz`)
    assert.equal(health.status, 200)
    assert.equal((await fetch(`${gateway.url}/app`, { headers: { cookie: seeds.sessionCookie } })).status, 200, 'and still serves a valid session')
    assert.ok(rssAfter - rssBefore < RSS_BOUND_MB, `RSS grew ${(rssAfter - rssBefore).toFixed(1)} MB (bound ${RSS_BOUND_MB} MB)`)
    assert.ok((byStatus.get('reset') ?? 0) < PROBES / 20, 'resets stay rare: most malformed requests get a proper 4xx')
  })
})
