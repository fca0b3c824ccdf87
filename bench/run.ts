// `npm run bench`: Gatehouse against nginx + auth_request and against the express peer stack,
// side by side in one run, every server started here on 127.0.0.1 and stopped at the end.
// Pinned mode: wrk on core 0, every server process on core 1. Then an unpinned multi-worker mode,
// gateway RSS with 100,000 live sessions, and (full runs) the store scale cases.
// A benchmark, not a test: it prints and writes bench/results.md; it asserts nothing.
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createRequire } from 'node:module'
import { connect } from 'node:net'
import { cpus, loadavg, tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { benchPasswordHash, loginCookie, ROOT, startGatehouse } from './gatehouse.js'
import { measureInterleaved, median, ratioToReference, wrk, type CaseResult, type LoadCase, type LoadSettings } from './load.js'
import { startNginx, nginxVersion } from './nginx.js'
import { assertLocal, cpuSeconds, processTree, rssKiB, startProcess, stopAll, type Started } from './proc.js'

const quick = process.argv.includes('--quick')
/** `--only=<regex>`: only the pinned stacks whose name matches (and the reference); no other section, results.md untouched. */
const onlyArg = process.argv.find((a) => a.startsWith('--only='))
const only = onlyArg ? new RegExp(onlyArg.slice('--only='.length), 'i') : undefined
const twoCores = cpus().length >= 2
const SERVER_CORE = twoCores ? '1' : undefined
const LOAD_CORE = twoCores ? '0' : undefined
const numberArg = (name: string): number | undefined => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  return arg ? Number(arg.slice(name.length + 3)) : undefined
}
/** `--rounds=N`, `--seconds=S`: override the rounds and run length (defaults below). */
const pinned: LoadSettings = { connections: 50, threads: 1, seconds: numberArg('seconds') ?? (quick ? 3 : 5), warmupSeconds: 2, repeats: numberArg('rounds') ?? (quick ? 1 : 5), pin: LOAD_CORE }
const unpinned: LoadSettings = { ...pinned, threads: 2, pin: undefined }
const SESSIONS_FOR_RSS = Number(process.env.BENCH_RSS_SESSIONS ?? 100_000)
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'))
const tag = `${process.pid}_${Date.now().toString(36)}`
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const postgresUrl = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test'
const tsx = ['--import', 'tsx']
const benchFile = (name: string) => join(ROOT, 'bench', name)
const log = (line: string) => process.stderr.write(`${line}\n`)

// ---------------------------------------------------------------- setup

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** nginx and wrk from Debian, installed if missing; taskset is in util-linux. */
function setup(): void {
  const missing = ['nginx', 'wrk'].filter((c) => !has(c))
  if (missing.length > 0) {
    log(`installing ${missing.join(', ')} with apt-get`)
    const sudo = process.getuid?.() === 0 ? [] : ['sudo']
    const apt = (args: string[]) => execFileSync(sudo[0] ?? 'apt-get', [...(sudo.length ? ['apt-get'] : []), ...args], { stdio: 'inherit', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    apt(['update'])
    apt(['install', '-y', '--no-install-recommends', ...missing])
  }
  for (const c of ['nginx', 'wrk', 'taskset']) if (!has(c)) throw new Error(`${c} is required and could not be installed`)
}

function machine(): string[] {
  const wrkVersion = (() => {
    try {
      return execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!
    } catch (error) {
      return String((error as { stdout?: string }).stdout ?? '').split('\n')[0] || 'unknown'
    }
  })()
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown'
  return [`${cpus().length} cores (${model})`, `Node ${process.version}`, nginxVersion().replace('nginx version: ', ''), wrkVersion.replace(/ Copyright.*/, '')]
}

// ---------------------------------------------------------------- servers

async function nodeServer(name: string, file: string, env: Record<string, string> = {}, pin = SERVER_CORE): Promise<{ url: string; proc: Started; info: { port: number; cookie?: string } }> {
  const proc = startProcess(name, process.execPath, [...tsx, benchFile(file)], { pin, env: { ...process.env, ...env }, cwd: ROOT })
  const info = await proc.firstJson<{ port: number; cookie?: string }>(20_000)
  return { url: `http://127.0.0.1:${info.port}`, proc, info }
}

async function expressCookie(url: string): Promise<string> {
  const response = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench' }) })
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('connect.sid='))
  if (response.status !== 200 || !cookie) throw new Error(`express login failed: ${response.status}`)
  return cookie.split(';')[0]!
}

type Storage = [label: string, session: Record<string, unknown>, cleanup?: () => Promise<void>]

function storages(): Storage[] {
  const redisPrefix = `gh-bench-${tag}:`
  const pgTable = `gh_bench_${tag}`.toLowerCase().replace(/[^a-z0-9_]/g, '_')
  return [
    ['memory', { storage: 'memory' }],
    ['sqlite', { storage: 'sqlite', sqlite: { path: join(tmp, 'sessions.db') } }],
    ['redis', { storage: 'redis', redis: { url: redisUrl, prefix: redisPrefix } }, () => dropRedisKeys(redisPrefix)],
    ['postgres', { storage: 'postgres', postgres: { url: postgresUrl, table: pgTable } }, () => dropPostgresTable(pgTable)],
    ['cookie', { storage: 'cookie' }],
  ]
}

async function dropRedisKeys(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 })
  try {
    await redis.connect()
    let cursor = '0'
    let removed = 0
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length) removed += await redis.del(...keys)
    } while (cursor !== '0')
    log(`  redis: removed ${removed} keys under ${prefix}`)
  } finally {
    redis.disconnect()
  }
}

async function dropPostgresTable(table: string): Promise<void> {
  const { default: pg } = await import('pg')
  // Like the gateway's store: the OS user name when the URL names none.
  const url = new URL(postgresUrl)
  if (!url.username) url.username = process.env.PGUSER ?? userInfo().username
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    // Any tables the store made with this unique name as prefix (sessions and helpers).
    const { rows } = await client.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE tablename LIKE $1`, [`${table}%`])
    for (const { tablename } of rows) await client.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`)
    log(`  postgres: dropped ${rows.map((r) => r.tablename).join(', ') || 'nothing'}`)
  } finally {
    await client.end()
  }
}

function localOrNote(url: string): string | undefined {
  try {
    assertLocal(url)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

function skipped(name: string, why: unknown): CaseResult {
  const message = (why instanceof Error ? why.message : String(why)).split('\n')[0]!.slice(0, 200)
  log(`  ${name}: ${message}`)
  return { name, runs: [], note: message }
}

// ---------------------------------------------------------------- keep-alive check

interface KeepAliveFinding {
  headers: string
  http10: string
  rows: string[]
}

/** Raw HTTP/1.1 and HTTP/1.0 requests to see what Gatehouse says about the connection. */
function rawRequest(url: string, path: string, version: '1.0' | '1.1', cookie: string): Promise<string> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1')
    let data = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve(`${data.split('\r\n\r\n')[0]}\n(connection still open after 1.5 s)`)
    }, 1500)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (data += chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(`${data.split('\r\n\r\n')[0]}\n(connection closed by the server)`)
    })
    socket.write(`GET ${path} HTTP/${version}\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\nX-Original-URI: /x\r\nX-Original-Method: GET\r\n\r\n`)
  })
}

/** TIME_WAIT sockets touching `port`: on the server's side (it closed first) or the client's. */
function timeWait(port: number): { server: number; client: number } {
  const out = execFileSync('ss', ['-Htan', 'state', 'time-wait', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  let server = 0
  let client = 0
  for (const line of out.split('\n')) {
    const cols = line.trim().split(/\s+/)
    if (cols.length < 4) continue
    const [local, peer] = [cols[cols.length - 2]!, cols[cols.length - 1]!]
    if (local.endsWith(`:${port}`)) server++
    else if (peer.endsWith(`:${port}`)) client++
  }
  return { server, client }
}

function established(port: number): number {
  const out = execFileSync('ss', ['-Htan', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  return out.split('\n').filter((l) => l.trim()).length
}

interface Backend {
  label: string
  /** Starts a fresh backend (a fresh port, so no earlier TIME_WAIT sockets are counted). */
  start(): Promise<{ port: number; pid: number; cookie: string; stop(): Promise<void> }>
}

/**
 * nginx auth_request → each backend, one short pinned run each: who closes the connections
 * between nginx and the auth backend, how many, and what that costs.
 */
async function keepAliveCheck(upstream: string): Promise<KeepAliveFinding> {
  const checkWith = (body: boolean): Backend['start'] => async () => {
    const check = await nodeServer('auth check', 'auth-check-process.ts', body ? { BODY: '1' } : {})
    return { port: check.info.port, pid: check.proc.pid, cookie: check.info.cookie!, stop: () => check.proc.stop() }
  }
  let n = 0
  const gatehouse: Backend['start'] = async () => {
    const g = await startGatehouse(tmp, { upstream, session: { storage: 'sqlite', sqlite: { path: join(tmp, `keepalive-${++n}.db`) } }, pin: SERVER_CORE })
    try {
      return { port: Number(new URL(g.url).port), pid: g.proc.pid, cookie: await loginCookie(g.url), stop: () => g.proc.stop() }
    } catch (error) {
      await g.proc.stop()
      throw error
    }
  }
  const variants: [string, string, Backend['start'], boolean][] = [
    ['minimal Node check, empty 200 (as in the reference)', '/check', checkWith(false), true],
    ['minimal Node check answering a 34-byte JSON body', '/check', checkWith(true), true],
    ['Gatehouse `/_gatehouse/auth`', '/_gatehouse/auth', gatehouse, true],
    ['Gatehouse `/_gatehouse/auth`', '/_gatehouse/auth', gatehouse, false],
  ]
  const rows: string[] = []
  let headers = ''
  let http10 = ''
  for (const [label, path, start, keepalive] of variants) {
    const backend = await start()
    try {
      if (path === '/_gatehouse/auth' && !headers) {
        headers = await rawRequest(`http://127.0.0.1:${backend.port}`, path, '1.1', backend.cookie)
        http10 = await rawRequest(`http://127.0.0.1:${backend.port}`, path, '1.0', backend.cookie)
      }
      const nginx = await startNginx(join(tmp, `nginx-ka-${rows.length}`), { workers: 1, upstreamPort: Number(new URL(upstream).port), auth: { port: backend.port, path }, keepalive, pin: SERVER_CORE })
      try {
        const settings = { ...pinned, repeats: 1, seconds: 3 }
        const warm = await wrk(`${nginx.url}/x`, 1, settings, { cookie: backend.cookie })
        const backendCpu0 = cpuSeconds(backend.pid)
        const nginxCpu0 = cpuSeconds(nginx.proc.pid)
        const t0 = performance.now()
        let peak = 0
        const sampler = setInterval(() => (peak = Math.max(peak, established(backend.port))), 500)
        const result = await wrk(`${nginx.url}/x`, settings.seconds, settings, { cookie: backend.cookie })
        clearInterval(sampler)
        const wall = (performance.now() - t0) / 1000
        const backendCpu = (cpuSeconds(backend.pid) - backendCpu0) / wall
        const nginxCpu = (cpuSeconds(nginx.proc.pid) - nginxCpu0) / wall
        const closed = timeWait(backend.port)
        const requests = warm.requests + result.requests
        const pct = (x: number) => `${(x * 100).toFixed(0)} %`
        rows.push(
          `| ${label} | ${keepalive ? 'on' : 'off (nginx defaults)'} | ${fmt(result.requestsPerSecond)} | ${result.p99.toFixed(2)} | ${pct(backendCpu)} | ${pct(nginxCpu)} | ${peak} | ${closed.client.toLocaleString('en')} | ${closed.server.toLocaleString('en')} | ${requests.toLocaleString('en')} |`,
        )
        log(`  keep-alive check, ${label}, keepalive ${keepalive}: ${Math.round(result.requestsPerSecond)} req/s, backend CPU ${pct(backendCpu)}, nginx CPU ${pct(nginxCpu)}, closed by nginx ${closed.client}, by backend ${closed.server}, requests ${requests}`)
      } finally {
        await nginx.proc.stop()
      }
    } finally {
      await backend.stop()
    }
  }
  return { headers, http10, rows }
}

// ---------------------------------------------------------------- RSS with live sessions

/** `?jwt=` logins through the gateway (each one creates a session), then the gateway's VmRSS. */
async function rssWithSessions(upstream: string): Promise<string[]> {
  const secret = 'bench-rss-jwt-secret-0123456789abcdef'
  const dbPath = join(tmp, 'rss-sessions.db')
  const gatehouse = await startGatehouse(tmp, {
    upstream,
    session: { storage: 'sqlite', sqlite: { path: dbPath } },
    extra: { auth: { form: { enabled: true }, jwt: { secret, algorithms: ['HS256'], sources: ['header', 'query:jwt'], issuer: 'bench' } } },
  })
  try {
    const token = await new SignJWT({ roles: ['bench'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('rss').setIssuer('bench').setIssuedAt().setExpirationTime('2h').sign(new TextEncoder().encode(secret))
    const cookie = await loginCookie(gatehouse.url)
    await wrk(`${gatehouse.url}/x`, 2, pinned, { cookie })
    const idle = rssKiB(gatehouse.proc.pid)
    const agent = new Agent({ keepAlive: true, maxSockets: 64 })
    const { port } = new URL(gatehouse.url)
    let created = 0
    let failed = 0
    let next = 0
    const deadline = Date.now() + 240_000
    const one = () =>
      new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: `/x?jwt=${token}`, agent, headers: { accept: 'application/json' } }, (res) => {
          const ok = res.statusCode === 302 && (res.headers['set-cookie'] ?? []).some((c) => c.startsWith('gatehouse_session'))
          if (ok) created++
          else failed++
          res.resume()
          res.on('end', resolve)
        })
        req.on('error', () => {
          failed++
          resolve()
        })
        req.end()
      })
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < SESSIONS_FOR_RSS && Date.now() < deadline && failed < 1000) {
          next++
          await one()
        }
      }),
    )
    agent.destroy()
    const seconds = (performance.now() - t0) / 1000
    const stored = countSqliteSessions(dbPath)
    await wrk(`${gatehouse.url}/x`, 3, pinned, { cookie })
    const full = rssKiB(gatehouse.proc.pid)
    const tree = processTree(gatehouse.proc.pid)
    const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`
    log(`  RSS: ${mib(idle)} idle, ${mib(full)} with ${created} sessions (${stored} stored rows), ${failed} failures, ${seconds.toFixed(0)} s`)
    return [
      `## Gateway memory with ${SESSIONS_FOR_RSS.toLocaleString('en')} live sessions (sqlite)`,
      '',
      `Sessions created through the gateway itself: \`GET /x?jwt=<HS256 token>\` (a query-parameter JWT login creates a session and answers 302 with its cookie), 64 concurrent clients, ${created.toLocaleString('en')} sessions created in ${seconds.toFixed(0)} s (${failed} other answers or errors${created < SESSIONS_FOR_RSS ? '; stopped early: time bound or failures' : ''}); ${stored === undefined ? 'stored rows not counted' : `${stored.toLocaleString('en')} rows in the session database afterwards`}. VmRSS of the gateway process (${tree.length} process${tree.length > 1 ? 'es in its tree; main only' : ''}), each after 2–3 s of load on one session:`,
      '',
      '| state | gateway VmRSS |',
      '|---|---:|',
      `| after start + 1 session | ${mib(idle)} |`,
      `| with ${created.toLocaleString('en')} sessions | ${mib(full)} |`,
      '',
    ]
  } finally {
    await gatehouse.proc.stop()
  }
}

/** Rows in the largest table of the gateway's sqlite file (read-only; no knowledge of its schema needed). */
function countSqliteSessions(path: string): number | undefined {
  try {
    const require = createRequire(import.meta.url)
    const Database = require('better-sqlite3') as new (path: string, options: { readonly: boolean }) => { prepare(sql: string): { all(): { name: string }[]; get(): { n: number } }; close(): void }
    const db = new Database(path, { readonly: true })
    try {
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%session%'`).all()
      let most = 0
      for (const { name } of tables) most = Math.max(most, db.prepare(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`).get().n)
      return tables.length ? most : undefined
    } finally {
      db.close()
    }
  } catch {
    return undefined
  }
}


// ---------------------------------------------------------------- report

const fmt = (n: number) => Math.round(n).toLocaleString('en')

function summarize(result: CaseResult): { rps: number; min: number; max: number; p50: number; p99: number; p99Median: number; errors: number; cpu?: number; steal?: number } {
  const rps = result.runs.map((r) => r.requestsPerSecond)
  const cpu = result.runs.map((r) => r.serverCpu).filter((c): c is number => c !== undefined)
  const steal = result.runs.map((r) => r.steal).filter((c): c is number => c !== undefined)
  return {
    rps: median(rps),
    min: Math.min(...rps),
    max: Math.max(...rps),
    p50: median(result.runs.map((r) => r.p50)),
    p99: Math.max(...result.runs.map((r) => r.p99)),
    p99Median: median(result.runs.map((r) => r.p99)),
    errors: result.runs.reduce((sum, r) => sum + r.socketErrors + r.non2xx, 0),
    cpu: cpu.length ? median(cpu) : undefined,
    steal: steal.length ? Math.max(...steal) : undefined,
  }
}

/** Median (min–max) of per-round values, as text. */
function spreadText(values: number[], digits = 2): string {
  if (!values.length) return '–'
  const m = median(values).toFixed(digits)
  return values.length > 1 ? `${m} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})` : m
}

function table(results: CaseResult[], showCpu: boolean): { lines: string[] } {
  const ref = results.find((r) => r.reference && r.runs.length)
  const lines = [
    `| stack | req/s median (min–max) | p50 ms | p99 ms | errors | vs reference, per round: median (min–max) |${showCpu ? ' server CPU | CPU stolen (worst run) |' : ''}`,
    `|---|---:|---:|---:|---:|---:|${showCpu ? '---:|---:|' : ''}`,
  ]
  for (const r of results) {
    if (!r.runs.length) {
      lines.push(`| ${r.name} | ${r.note ?? 'not measured'} | – | – | – | – |${showCpu ? ' – | – |' : ''}`)
      continue
    }
    const s = summarize(r)
    const range = r.runs.length > 1 ? ` (${fmt(s.min)}–${fmt(s.max)})` : ''
    const vs = ref ? (r.reference ? '**1.00**' : spreadText(ratioToReference(r, ref))) : '–'
    const name = r.reference ? `**${r.name}** (reference)` : r.name
    const pct = (x?: number, digits = 0) => (x === undefined ? '–' : `${(x * 100).toFixed(digits)} %`)
    lines.push(`| ${name} | ${fmt(s.rps)}${range} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.errors} | ${vs} |${showCpu ? ` ${pct(s.cpu)} | ${pct(s.steal, 1)} |` : ''}${r.note ? ` (${r.note})` : ''}`)
  }
  return { lines }
}

/** Per round: `of(runs of that round by case name)`, for the rounds where every named case ran. */
function perRound(results: CaseResult[], names: string[], of: (runs: Map<string, number>) => number): number[] {
  const rounds = new Set(results.flatMap((r) => r.runs.map((run) => run.round ?? 0)))
  const values: number[] = []
  for (const round of rounds) {
    const runs = new Map<string, number>()
    for (const name of names) {
      const run = results.find((r) => r.name === name)?.runs.find((x) => (x.round ?? 0) === round)
      if (run) runs.set(name, run.requestsPerSecond)
    }
    if (runs.size === names.length) values.push(of(runs))
  }
  return values
}

function goals(results: CaseResult[]): string[] {
  const ref = results.find((r) => r.reference && r.runs.length)
  if (!ref) return ['Goals: not evaluated (the reference did not run).']
  const mark = (values: number[], ok: (median: number) => boolean) => (values.length === 0 ? 'not measured' : ok(median(values)) ? 'met' : '**not met**')
  const vs = (name: string) => perRound(results, [name, ref.name], (runs) => runs.get(name)! / runs.get(ref.name)!)
  const sqlite = vs(GH('sqlite'))
  const viaNginx = vs(NGINX_GH)
  const express = perRound(results, [GH('sqlite'), EXPRESS], (runs) => runs.get(GH('sqlite'))! / runs.get(EXPRESS)!)
  const storeNames = ['memory', 'sqlite', 'redis', 'postgres', 'cookie'].map(GH).filter((name) => results.some((r) => r.name === name && r.runs.length))
  const spread = storeNames.length > 1 ? perRound(results, storeNames, (runs) => Math.max(...runs.values()) / Math.min(...runs.values()) - 1) : []
  const gatehouseRows = results.filter((r) => r.name.startsWith('Gatehouse') && r.runs.length).map(summarize)
  const worstP99 = gatehouseRows.length ? Math.max(...gatehouseRows.map((s) => s.p99)) : undefined
  const worstMedianP99 = gatehouseRows.length ? Math.max(...gatehouseRows.map((s) => s.p99Median)) : undefined
  const errors = gatehouseRows.reduce((sum, s) => sum + s.errors, 0)
  const x = (n?: number, digits = 2) => (n === undefined ? '–' : n.toFixed(digits))
  const times = (values: number[], digits = 2) => (values.length ? `${spreadText(values, digits)}×` : '–')
  return [
    '## Issue 8 goals (point 2), from the table above',
    '',
    'Ratios are taken per round (both stacks measured minutes apart at most), then the median over the rounds is compared with the goal; the range shows how much the rounds disagreed.',
    '',
    '| goal | measured: median over rounds (min–max) | |',
    '|---|---:|---|',
    `| Gatehouse sqlite ≥ 0.8× reference (aim 1.0×) | ${times(sqlite)} | ${mark(sqlite, (m) => m >= 0.8)} |`,
    `| memory / sqlite / redis / postgres / cookie within 10 % (max ÷ min − 1, per round) | ${spread.length ? `${spreadText(spread.map((v) => v * 100), 0)} % over ${storeNames.length} stores` : '–'} | ${mark(spread, (m) => m <= 0.1)} |`,
    `| nginx + auth_request → Gatehouse ≥ 0.9× reference | ${times(viaNginx)} | ${mark(viaNginx, (m) => m >= 0.9)} |`,
    `| Gatehouse sqlite ≥ 5× express peer stack | ${times(express, 1)} | ${mark(express, (m) => m >= 5)} |`,
    `| p99 ≤ 20 ms in every Gatehouse case (worst run of the worst case; in brackets the worst case's median run) | ${x(worstP99)} ms (${x(worstMedianP99)} ms) | ${worstP99 === undefined ? 'not measured' : worstP99 <= 20 ? 'met' : '**not met**'} |`,
    `| no errors in any Gatehouse case | ${errors} | ${gatehouseRows.length ? (errors === 0 ? 'met' : '**not met**') : 'not measured'} |`,
    '',
  ]
}

const GH = (storage: string) => `Gatehouse, ${storage} session${storage === 'sqlite' ? ' (the default)' : ''}`
const EXPRESS = 'express + express-session (MemoryStore) + http-proxy-middleware (keep-alive agent)'
const REFERENCE = 'nginx + `auth_request` → minimal Node cookie check (HMAC cookie + in-process Map)'
const MINIMAL_PROXY = 'node:http + undici Pool.dispatch + the same HMAC cookie + Map check (the least a Node proxy can do)'
const NODE_CLIENT_PROXY = 'the same minimal proxy with node:http\'s own client (keep-alive Agent) instead of undici'
const TCP_RELAY = 'raw TCP relay in Node (no HTTP parsing, no auth: not a gateway)'
const JWT_CASE = 'Gatehouse, bearer JWT (EdDSA, per request, no session)'
const NGINX_GH = 'nginx + `auth_request` → Gatehouse `/_gatehouse/auth` (sqlite)'

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  setup()
  const startedAt = new Date()
  const load0 = loadavg()
  const t0 = performance.now()
  await benchPasswordHash()
  for (const url of [redisUrl, postgresUrl]) localOrNote(url)

  // -------- pinned: wrk on core 0, every server process on core 1
  log(`pinned mode: wrk on core ${LOAD_CORE ?? '(unpinned: fewer than 2 cores)'}, servers on core ${SERVER_CORE ?? '(unpinned)'}`)
  // Every stack is started first and stays up (idle ones cost nothing), so the rounds of
  // measureInterleaved compare them on the same machine minutes.
  const stoppers: (() => Promise<unknown>)[] = []
  const cases: LoadCase[] = []
  const notStarted: CaseResult[] = []
  /** Starts one stack; a stack that cannot start is listed as not measured, with why. */
  const prepare = async (name: string, start: () => Promise<Omit<LoadCase, 'name'> | undefined>): Promise<void> => {
    if (only && name !== REFERENCE && !only.test(name) && !(name === GH('sqlite') && only.test(NGINX_GH))) return
    try {
      const c = await start()
      if (c) cases.push({ name, ...c })
    } catch (error) {
      notStarted.push(skipped(name, error))
    }
  }
  let results: CaseResult[] = []
  const upstream = await nodeServer('upstream', 'upstream-process.ts')
  const upstreamPort = Number(new URL(upstream.url).port)
  let keepAlive: KeepAliveFinding | undefined
  try {
    await prepare('upstream hit directly (node:http)', async () => ({ url: `${upstream.url}/x`, headers: {}, serverPids: [upstream.proc.pid] }))
    await prepare('nginx reverse proxy, no auth', async () => {
      const plain = await startNginx(join(tmp, 'nginx-plain'), { workers: 1, upstreamPort, pin: SERVER_CORE })
      stoppers.push(() => plain.proc.stop())
      return { url: `${plain.url}/x`, headers: {}, serverPids: [upstream.proc.pid, plain.proc.pid] }
    })
    await prepare(REFERENCE, async () => {
      const check = await nodeServer('auth check', 'auth-check-process.ts')
      stoppers.push(() => check.proc.stop())
      const nginx = await startNginx(join(tmp, 'nginx-check'), { workers: 1, upstreamPort, auth: { port: check.info.port, path: '/check' }, pin: SERVER_CORE })
      stoppers.push(() => nginx.proc.stop())
      return { url: `${nginx.url}/x`, headers: { cookie: check.info.cookie! }, serverPids: [upstream.proc.pid, nginx.proc.pid, check.proc.pid], reference: true }
    })
    await prepare(MINIMAL_PROXY, async () => {
      const proxy = await nodeServer('minimal proxy', 'minimal-proxy-process.ts', { UPSTREAM: upstream.url })
      stoppers.push(() => proxy.proc.stop())
      return { url: `${proxy.url}/x`, headers: { cookie: proxy.info.cookie! }, serverPids: [upstream.proc.pid, proxy.proc.pid] }
    })
    await prepare(NODE_CLIENT_PROXY, async () => {
      const proxy = await nodeServer('minimal proxy (node:http client)', 'minimal-proxy-process.ts', { UPSTREAM: upstream.url, CLIENT: 'node' })
      stoppers.push(() => proxy.proc.stop())
      return { url: `${proxy.url}/x`, headers: { cookie: proxy.info.cookie! }, serverPids: [upstream.proc.pid, proxy.proc.pid] }
    })
    await prepare(TCP_RELAY, async () => {
      const relay = await nodeServer('tcp relay', 'tcp-relay-process.ts', { UPSTREAM: upstream.url })
      stoppers.push(() => relay.proc.stop())
      return { url: `${relay.url}/x`, headers: {}, serverPids: [upstream.proc.pid, relay.proc.pid] }
    })
    await prepare(EXPRESS, async () => {
      const express = await nodeServer('express', 'express-process.ts', { UPSTREAM: upstream.url })
      stoppers.push(() => express.proc.stop())
      return { url: `${express.url}/x`, headers: { cookie: await expressCookie(express.url) }, serverPids: [upstream.proc.pid, express.proc.pid] }
    })
    for (const [label, session, cleanup] of storages()) {
      const url = label === 'redis' ? redisUrl : label === 'postgres' ? postgresUrl : undefined
      const refused = url ? localOrNote(url) : undefined
      if (refused) {
        notStarted.push(skipped(GH(label), refused))
        continue
      }
      let sqliteGateway: { url: string; cookie: string; pid: number } | undefined
      await prepare(GH(label), async () => {
        const gatehouse = await startGatehouse(tmp, { upstream: upstream.url, session, pin: SERVER_CORE }).catch((error: Error) => {
          throw new Error(`gateway did not start: ${error.message.split('\n').slice(0, 3).join(' / ')}`)
        })
        stoppers.push(async () => {
          await gatehouse.proc.stop()
          await cleanup?.().catch((e: Error) => log(`  cleanup: ${e.message}`))
        })
        const cookie = await loginCookie(gatehouse.url)
        if (label === 'sqlite') sqliteGateway = { url: gatehouse.url, cookie, pid: gatehouse.proc.pid }
        return { url: `${gatehouse.url}/x`, headers: { cookie }, serverPids: [upstream.proc.pid, gatehouse.proc.pid] }
      })
      if (sqliteGateway) {
        const gateway = sqliteGateway
        // The same gateway as nginx's auth_request endpoint.
        await prepare(NGINX_GH, async () => {
          const nginx = await startNginx(join(tmp, 'nginx-gatehouse'), { workers: 1, upstreamPort, auth: { port: Number(new URL(gateway.url).port), path: '/_gatehouse/auth' }, pin: SERVER_CORE })
          stoppers.push(() => nginx.proc.stop())
          return { url: `${nginx.url}/x`, headers: { cookie: gateway.cookie }, serverPids: [upstream.proc.pid, nginx.proc.pid, gateway.pid] }
        })
      }
    }

    // Per-request credentials, no session.
    const ed = generateKeyPairSync('ed25519')
    const apiKey = 'bench-api-key-0123456789abcdef'
    const credentialCases: [string, Record<string, unknown>, () => Promise<Record<string, string>>][] = [
      [JWT_CASE, { jwt: { public_key: ed.publicKey.export({ type: 'spki', format: 'pem' }), algorithms: ['EdDSA'], issuer: 'bench' } }, async () => ({ authorization: `Bearer ${await mint(ed.privateKey, 'EdDSA')}` })],
      ['Gatehouse, API key (per request, no session)', { apikey: { keys: [{ key: apiKey, user: 'bot', roles: ['bench'] }] } }, async () => ({ 'x-api-key': apiKey })],
    ]
    for (const [name, auth, headers] of credentialCases) {
      await prepare(name, async () => {
        const gatehouse = await startGatehouse(tmp, { upstream: upstream.url, session: { storage: 'sqlite', sqlite: { path: join(tmp, `credentials-${cases.length}.db`) } }, extra: { auth }, pin: SERVER_CORE })
        stoppers.push(() => gatehouse.proc.stop())
        return { url: `${gatehouse.url}/x`, headers: await headers(), serverPids: [upstream.proc.pid, gatehouse.proc.pid] }
      })
    }
    log(`  ${cases.length} stacks up; ${pinned.repeats} interleaved rounds`)
    const measured = await measureInterleaved(cases, pinned, log)
    // Table order: as prepared, with the stacks that did not start in their place by name.
    results = [...measured, ...notStarted]
    for (const r of results) if (r.note) log(`  ${r.name}: ${r.note}`)
    while (stoppers.length) await stoppers.pop()!()
    if (only) {
      process.stdout.write([...table(results, true).lines, '', ...goals(results)].join('\n') + '\n')
      return
    }
    log('keep-alive check')
    keepAlive = await keepAliveCheck(upstream.url).catch((error: Error) => {
      log(`  keep-alive check failed: ${error.message}`)
      return undefined
    })
  } finally {
    while (stoppers.length) await stoppers.pop()!().catch(() => undefined)
    await upstream.proc.stop()
  }

  // -------- unpinned, several workers
  log('unpinned multi-worker mode')
  const multiCases: LoadCase[] = []
  const multiNotStarted: CaseResult[] = []
  const freeUpstream = await nodeServer('upstream (unpinned)', 'upstream-process.ts', {}, undefined)
  const freeUpstreamPort = Number(new URL(freeUpstream.url).port)
  let workerNote = ''
  let multi: CaseResult[] = []
  try {
    const refName = 'nginx (2 workers) + `auth_request` → minimal Node cookie check'
    try {
      const check = await nodeServer('auth check (unpinned)', 'auth-check-process.ts', {}, undefined)
      stoppers.push(() => check.proc.stop())
      const nginx = await startNginx(join(tmp, 'nginx-check-2'), { workers: 2, upstreamPort: freeUpstreamPort, auth: { port: check.info.port, path: '/check' } })
      stoppers.push(() => nginx.proc.stop())
      multiCases.push({ name: refName, url: `${nginx.url}/x`, headers: { cookie: check.info.cookie! }, serverPids: [], reference: true })
    } catch (error) {
      multiNotStarted.push(skipped(refName, error))
    }
    for (const workers of [1, 2]) {
      const name = `Gatehouse, sqlite session, \`workers: ${workers}\``
      try {
        const gatehouse = await startGatehouse(tmp, { upstream: freeUpstream.url, session: { storage: 'sqlite', sqlite: { path: join(tmp, `workers-${workers}.db`) } }, extra: { workers } })
        stoppers.push(() => gatehouse.proc.stop())
        const processes = processTree(gatehouse.proc.pid).length
        if (workers > 1) workerNote = `With \`workers: 2\` the gateway's process tree had ${processes} processes.`
        multiCases.push({ name, url: `${gatehouse.url}/x`, headers: { cookie: await loginCookie(gatehouse.url) }, serverPids: [] })
      } catch (error) {
        const message = (error as Error).message
        multiNotStarted.push(skipped(name, `gateway did not start: ${message.split('\n').slice(0, 3).join(' / ')}`))
      }
    }
    multi = [...(await measureInterleaved(multiCases, unpinned, log)), ...multiNotStarted]
  } finally {
    while (stoppers.length) await stoppers.pop()!().catch(() => undefined)
    await freeUpstream.proc.stop()
  }

  let rss: string[] = []
  const rssUpstream = await nodeServer('upstream (rss)', 'upstream-process.ts', {}, SERVER_CORE)
  try {
    log(`RSS with ${SESSIONS_FOR_RSS} sessions`)
    rss = await rssWithSessions(rssUpstream.url)
  } catch (error) {
    rss = ['## Gateway memory with live sessions', '', `Not measured: ${(error as Error).message.split('\n')[0]}`, '']
  } finally {
    await rssUpstream.proc.stop()
  }

  let scale: string[] = []
  if (!quick) {
    log('store scale cases (bench/scale.ts)')
    try {
      const { runScaleCases } = await import('./scale.js')
      scale = await runScaleCases()
    } catch (error) {
      scale = ['## Store scale', '', `runScaleCases() failed: ${(error as Error).message.split('\n')[0]}`]
    }
  }

  const minutes = (performance.now() - t0) / 60_000
  const pinnedTable = table(results, true)
  const multiTable = table(multi, false)
  const expressRatios = perRound(results, [GH('sqlite'), EXPRESS], (runs) => runs.get(GH('sqlite'))! / runs.get(EXPRESS)!)
  const load1 = loadavg()
  const report = [
    '# Gatehouse benchmark',
    '',
    `${startedAt.toISOString()}${quick ? ' · **--quick** (1 repeat of 3 s: a smoke run, not a measurement)' : ''} · ${machine().join(' · ')} · load average ${load0.map((l) => l.toFixed(2)).join(' ')} at start, ${load1.map((l) => l.toFixed(2)).join(' ')} at the end · ${minutes.toFixed(1)} min`,
    '',
    `Method: everything on 127.0.0.1, started and stopped by \`npm run bench\`. Pinned mode: \`taskset -c ${LOAD_CORE ?? '-'} wrk -t1 -c50 -d${pinned.seconds}s --latency\`; every server process (upstream, nginx with \`worker_processes 1\`, the Node auth check, express, Gatehouse) under \`taskset -c ${SERVER_CORE ?? '-'}\`; the Redis and PostgreSQL servers are the machine's own services and are not pinned. nginx talks HTTP/1.1 with keep-alive (\`keepalive 64\`) to every Node backend. Every stack is started first and stays up; then ${pinned.repeats} rounds, alternately in forward and reverse order, give each stack a ${pinned.warmupSeconds} s warm-up and one ${pinned.seconds} s run (this machine is a VM whose speed drifts over minutes: measured one stack after another, two stacks would see different machines; interleaved, each round compares them on nearly the same one). req/s is the median (min–max) of the rounds, p50 the median of the runs' p50, p99 the worst run's p99 (from wrk's latency distribution); errors = socket errors + non-2xx answers over all runs (an answer is also checked to be 2xx before the first and after the last round). "vs reference" divides each run by the reference's run of the same round, then takes the median (min–max) of those ratios. Every request carries a valid credential. Server CPU: CPU time of all the bench's server processes in the case (upstream, nginx, auth backend, express or Gatehouse) per second of wall time; 100 % = all of core 1, so a value well below 100 % means core 1 was idle or taken by something else on the machine. CPU stolen: the share of both cores' time the hypervisor gave to other guests during the run (from /proc/stat), the worst run shown.`,
    '',
    '## Pinned: one core for wrk, one core for all servers',
    '',
    ...pinnedTable.lines,
    '',
    expressRatios.length ? `Express ratio: Gatehouse (sqlite) does ${spreadText(expressRatios, 1)}× the req/s of express + express-session + http-proxy-middleware (per round: median (min–max)).` : 'Express ratio: not measured.',
    '',
    ...goals(results),
    '## Unpinned, several workers',
    '',
    `wrk \`-t2 -c50\` unpinned; nginx \`worker_processes 2\`; the upstream and the Node auth check are single processes; nothing pinned, so load generator and servers share both cores. ${workerNote}`,
    '',
    ...multiTable.lines,
    '',
    ...(keepAlive
      ? [
          '## Keep-alive between nginx and Gatehouse',
          '',
          'nginx (`worker_processes 1`) with `auth_request` to each backend, pinned as above, each backend freshly started on a new port, a 1 s warm-up and one 3 s run. A TCP connection stays in TIME_WAIT (60 s) on the side that closed it first, so TIME_WAIT sockets on the backend\'s port count the connections closed over both runs: "closed by nginx" (nginx\'s side) and "closed by the backend". "keep-alive on" = `upstream { keepalive 64; }`, `proxy_http_version 1.1`, `proxy_set_header Connection ""`, as in every measured case; "off" = nginx\'s defaults (HTTP/1.0 with `Connection: close`). CPU: per wall second, 100 % = one core.',
          '',
          '| auth backend | keep-alive | req/s | p99 ms | backend CPU | nginx CPU | connections to the backend (peak) | closed by nginx | closed by the backend | requests |',
          '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
          ...keepAlive.rows,
          '',
          'What Gatehouse answers on `/_gatehouse/auth` over HTTP/1.1 (status line and headers):',
          '',
          '```',
          keepAlive.headers.replace(/(set-cookie:[^\n]*=)[^;\n]+/gi, '$1…'),
          '```',
          '',
          'and over HTTP/1.0 without `Connection: keep-alive` (what nginx sends without `proxy_http_version 1.1`):',
          '',
          '```',
          keepAlive.http10.replace(/(set-cookie:[^\n]*=)[^;\n]+/gi, '$1…'),
          '```',
          '',
        ]
      : []),
    ...rss,
    ...scale,
    '',
  ].join('\n')
  process.stdout.write(report)
  // A smoke run does not overwrite the last real measurement.
  if (!quick) {
    writeFileSync(join(ROOT, 'bench', 'results.md'), report)
    log('wrote bench/results.md')
  }
}

function mint(key: KeyObject | Uint8Array, alg: string): Promise<string> {
  return new SignJWT({ roles: ['bench'] }).setProtectedHeader({ alg }).setSubject('bench').setIssuer('bench').setIssuedAt().setExpirationTime('2h').sign(key)
}

let stopping = false
async function finish(code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    await stopAll()
    rmSync(tmp, { recursive: true, force: true })
  }
  process.exit(code)
}
process.on('SIGINT', () => void finish(130))
process.on('SIGTERM', () => void finish(143))
main().then(
  () => finish(0),
  (error) => {
    console.error(error)
    return finish(1)
  },
)
