import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { parseConfig } from '../src/config/load.js'
import { deriveKeys, sign } from '../src/session/keys.js'
import { hashSessionId, newSessionId, storeExpiry, type Session } from '../src/session/session.js'
import { systemClock } from '../src/clock.js'
import { createServerSideStore } from '../src/session/store/server-side.js'
import { createSqliteStore } from '../src/session/store/sqlite.js'

/*
 * Issue 8, point 4 (scale), on the default store (SQLite):
 *  - lookup with 1,000 vs 1,000,000 stored sessions: a real store read (no cache: what a cache
 *    miss costs) and what the gateway's hot path pays (`load(cookie)` through the read cache);
 *  - cleanup: p99 of requests through a real gateway process (bin/gatehouse.js, its own
 *    process, cleanup_interval 30 s) while it deletes 1,000,000 expired sessions, vs the same
 *    gateway idle before (after a 10 s warm-up) and after; rows/s under load and overall.
 * Load from Debian's wrk with --latency, pinned with taskset: wrk on core 0, gateway and
 * upstream on core 1. `node --import tsx bench/scale.ts [load] [scale]` runs it alone; the
 * gateway must be built (`npm run build`); GATEHOUSE_ROOT points at another built checkout.
 */
const SMALL = 1_000
const LARGE = Number(process.env.BENCH_SCALE ?? 1_000_000)
const LOOKUPS = 20_000
const SECRET = 'bench-scale-secret-0123456789abcdef012345'
const ROOT = process.env.GATEHOUSE_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '..')
const WRK_SECONDS = Number(process.env.BENCH_SCALE_WRK_SECONDS ?? 5)
const WARMUP_SECONDS = 10
const CONNECTIONS = 50
/** How long to wait for the cleanup to finish before reporting it unfinished. */
const CLEANUP_WAIT_MS = Number(process.env.BENCH_SCALE_CLEANUP_WAIT_S ?? 600) * 1000

/** A stored record like a real login's; `expired` ones are past their idle expiry. */
function record(i: number, now: number, expired: boolean): Session {
  const createdAt = now - 3_600_000 + (i % 3_000_000)
  return {
    id: hashSessionId(`bench-${i}`),
    user: `user${i % 50_000}`,
    roles: ['viewer'],
    email: `user${i % 50_000}@example.com`,
    // JWT-started sessions carry their own identity: the gateway does not sweep them against its (empty) users list.
    provider: { type: 'jwt', name: 'jwt' },
    createdAt,
    lastSeen: createdAt,
    renewedAt: createdAt,
    idleExpiresAt: expired ? now - 60_000 : now + 8 * 3_600_000,
    lifespanExpiresAt: now + 30 * 86_400_000,
    client: { ip: '127.0.0.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) bench' },
  }
}

/**
 * A SQLite session file with `count` records, written in one transaction with one prepared
 * statement, in the store's own format (`store.insert` per record would take minutes).
 */
function seedSqlite(path: string, count: number, now: number, expired: boolean, extra: Session[] = []): number {
  void createSqliteStore(path).close() // the store's own schema
  const started = performance.now()
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const insert = db.prepare(
    'INSERT OR IGNORE INTO gatehouse_sessions (k, id, user, provider_type, provider_name, created_at, expires_at, replaced, record) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)',
  )
  // The key is the id's first 48 bits (see sqlite.ts); a collision (p ≈ 0.2 % per 1,000,000 records) drops one record.
  const put = (session: Session) => {
    const { id, ...rest } = session
    insert.run(parseInt(id.slice(0, 12), 16), Buffer.from(id, 'hex'), session.user, session.provider.type, session.provider.name, session.createdAt, storeExpiry(session), JSON.stringify(rest))
  }
  db.transaction(() => {
    for (let i = 0; i < count; i++) put(record(i, now, expired))
    for (const session of extra) put(session)
  })()
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  return (performance.now() - started) / 1000
}

async function loadAverage(): Promise<string> {
  const { loadavg } = await import('node:os')
  return loadavg().map((v) => v.toFixed(2)).join(' / ') + ' (1 / 5 / 15 min)'
}

function removeDb(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
}

/**
 * µs per read of a random stored session, two ways: uncached (`getRecord`, a real SQLite read:
 * the cost of a cache miss) and what the gateway's hot path pays (`SessionStore.load(cookie)` with
 * the default 2 s read cache, 20,000 distinct sessions in turn: verified-cookie Map,
 * `PRAGMA data_version`, record Map; a miss every 2 s per session). Median of 5 rounds of
 * LOOKUPS reads, and p99 of single uncached reads.
 */
interface LookupBench {
  /** µs per uncached store read over one batch of LOOKUPS random ids. */
  uncachedBatch(): Promise<number>
  /** µs per `load(cookie)` through the 2 s read cache over one batch. */
  cachedBatch(): Promise<number>
  /** p99 µs of 5,000 single uncached reads. */
  singleP99(): Promise<number>
  close(): Promise<void>
}

async function openLookups(path: string, count: number, now: number): Promise<LookupBench> {
  const store = createSqliteStore(path)
  const cachedStore = createServerSideStore(createSqliteStore(path), deriveKeys([SECRET], 'session-cookie-mac'), systemClock, { cacheTtlMs: 2_000 })
  const picks = Array.from({ length: LOOKUPS }, (_, i) => Math.floor((((i * 2_654_435_761) % 4_294_967_296) / 4_294_967_296) * count))
  const ids = picks.map((i) => record(i, now, false).id)
  const tokens = picks.map((i) => sign(`bench-${i}`, deriveKeys([SECRET], 'session-cookie-mac')))
  for (const id of ids) if (!(await store.getRecord(id, now))) throw new Error('seeded record not found')
  for (const token of tokens) if (!(await cachedStore.load(token))) throw new Error('seeded session not loaded')
  const batch = async (read: (i: number) => Promise<unknown>) => {
    const started = performance.now()
    for (let i = 0; i < LOOKUPS; i++) await read(i)
    return ((performance.now() - started) * 1000) / LOOKUPS
  }
  return {
    uncachedBatch: () => batch((i) => store.getRecord(ids[i]!, now)),
    cachedBatch: () => batch((i) => cachedStore.load(tokens[i]!)),
    async singleP99() {
      const single: number[] = []
      for (const id of ids.slice(0, 5_000)) {
        const started = performance.now()
        await store.getRecord(id, now)
        single.push((performance.now() - started) * 1000)
      }
      single.sort((a, b) => a - b)
      return single[Math.floor(single.length * 0.99)]!
    },
    async close() {
      await store.close()
      await cachedStore.close()
    },
  }
}

/**
 * Both databases open side by side and measured in alternating batches (5 rounds, the order
 * swapped every round): measured one after the other, half a minute of seeding apart, the two
 * would see a VM running at different speeds (1.56× and 0.98× were both seen that way).
 */
async function lookupCosts(paths: Record<number, string>, now: number): Promise<Record<number, { median: number; p99: number; cached: number }>> {
  const counts = Object.keys(paths).map(Number)
  const benches = new Map<number, LookupBench>()
  try {
    for (const count of counts) benches.set(count, await openLookups(paths[count]!, count, now))
    const uncached = new Map<number, number[]>(counts.map((c) => [c, []]))
    const cached = new Map<number, number[]>(counts.map((c) => [c, []]))
    for (let round = 0; round < 5; round++) {
      const order = round % 2 === 0 ? counts : [...counts].reverse()
      for (const count of order) uncached.get(count)!.push(await benches.get(count)!.uncachedBatch())
      for (const count of order) cached.get(count)!.push(await benches.get(count)!.cachedBatch())
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!
    const result: Record<number, { median: number; p99: number; cached: number }> = {}
    for (const count of counts) result[count] = { median: median(uncached.get(count)!), p99: await benches.get(count)!.singleP99(), cached: median(cached.get(count)!) }
    return result
  } finally {
    for (const bench of benches.values()) await bench.close()
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolvePort(port))
    })
  })
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface WrkResult {
  rps: number
  p50: number
  p99: number
  errors: string
}

function parseMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value.trim())
  if (!match) return Number.NaN
  return Number(match[1]) * (match[2] === 'us' ? 0.001 : match[2] === 's' ? 1000 : 1)
}

/** wrk on core 0, 50 connections, `seconds` long, with the session cookie; p50/p99 in ms. */
function wrk(url: string, cookie: string, seconds: number): Promise<WrkResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('taskset', ['-c', '0', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-H', `Cookie: ${cookie}`, url], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.once('error', reject)
    child.once('exit', () => {
      const line = (label: string) => new RegExp(`^\\s*${label}\\s+(\\S+)`, 'm').exec(out)?.[1] ?? ''
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1]
      const socket = /Socket errors: (.*)/.exec(out)?.[1]
      resolveRun({
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
        p50: parseMs(line('50%')),
        p99: parseMs(line('99%')),
        errors: [non2xx ? `${non2xx} non-2xx` : '', socket ? `socket errors: ${socket}` : ''].filter(Boolean).join('; ') || 'none',
      })
    })
  })
}

/** The gateway's p99 idle, while it deletes LARGE expired sessions, and idle again afterwards. */
async function cleanupCase(dir: string): Promise<string[]> {
  const path = join(dir, 'cleanup.db')
  const now = Date.now()
  const secretId = newSessionId()
  const live: Session = { ...record(LARGE + 1, now, false), id: hashSessionId(secretId), user: 'bench' }
  const cookie = `gatehouse_session=${sign(secretId, deriveKeys([SECRET], 'session-cookie-mac'))}`
  const seedSeconds = seedSqlite(path, LARGE, now, true, [live])

  const children: ChildProcess[] = []
  const watcher = new Database(path, { readonly: true })
  try {
    const upstream = spawn('taskset', ['-c', '1', process.execPath, '-e', "require('http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',function(){console.log(this.address().port)})"], { stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(upstream)
    const upstreamPort = await new Promise<number>((r) => upstream.stdout!.once('data', (d) => r(Number(String(d).trim()))))
    const port = await freePort()
    const config = join(dir, 'gatehouse.yaml')
    writeFileSync(
      config,
      [`listen: 127.0.0.1:${port}`, `upstream: http://127.0.0.1:${upstreamPort}`, `secrets: ['${SECRET}']`, 'log: { level: warn }', 'session:', '  storage: sqlite', `  sqlite: { path: '${path}' }`, '  cleanup_interval: 30s', '  cookie: { secure: false }', ''].join('\n'),
    )
    const gateway = spawn('taskset', ['-c', '1', process.execPath, join(ROOT, 'bin/gatehouse.js'), 'start', '-c', config], { stdio: ['ignore', 'ignore', 'inherit'], cwd: dir })
    children.push(gateway)
    const started = Date.now()
    const url = `http://127.0.0.1:${port}/`
    await waitFor(async () => (await fetch(url, { headers: { cookie } }).then((r) => r.status, () => 0)) === 200, 10_000, 'the gateway to serve the seeded session')
    // Cleanup first runs cleanup_interval (30 s) after start: warm up (JIT, a few old-generation
    // GCs: the first seconds of a process have a p99 no later period has) and measure idle before that.
    await wrk(url, cookie, WARMUP_SECONDS)
    const idle = await wrk(url, cookie, WRK_SECONDS)
    if (Date.now() - started > 29_500) throw new Error('idle measurement overlapped the first cleanup; lower BENCH_SCALE_WRK_SECONDS')
    // Another connection's data_version moves at every batch the gateway commits.
    const version = watcher.prepare('PRAGMA data_version').pluck()
    const expiredLeft = watcher.prepare<[number], number>('SELECT count(*) FROM gatehouse_sessions WHERE expires_at <= ?').pluck()
    const before = version.get()
    await waitFor(() => version.get() !== before, 40_000, 'the cleanup to start')
    const cleanupStarted = performance.now()
    const leftBeforeWrk = expiredLeft.get(now)!
    const duringStarted = performance.now()
    const during = await wrk(url, cookie, WRK_SECONDS)
    const duringSeconds = (performance.now() - duringStarted) / 1000
    const leftAfterWrk = expiredLeft.get(now)!
    // Polled cheaply (one index probe) and not too often: this process is not pinned.
    const anyExpired = watcher.prepare<[number], number>('SELECT 1 FROM gatehouse_sessions WHERE expires_at <= ? LIMIT 1').pluck()
    const finished = await waitFor(async () => (await sleep(250), anyExpired.get(now) === undefined), CLEANUP_WAIT_MS, 'the cleanup to finish').then(() => true, () => false)
    const cleanupSeconds = (performance.now() - cleanupStarted) / 1000
    const left = expiredLeft.get(now)!
    const after = finished ? await wrk(url, cookie, WRK_SECONDS) : undefined
    const ms = (v: number) => v.toFixed(2)
    const row = (label: string, r: WrkResult) => `| ${label} | ${Math.round(r.rps).toLocaleString('en')} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.errors} |`
    return [
      `### Gateway p99 while cleanup deletes ${LARGE.toLocaleString('en')} expired SQLite sessions`,
      '',
      `Seeded in ${seedSeconds.toFixed(1)} s; ${finished ? `cleanup took ${cleanupSeconds.toFixed(1)} s` : `cleanup had not finished after ${cleanupSeconds.toFixed(0)} s (${left.toLocaleString('en')} expired left, ${Math.round((LARGE - left) / cleanupSeconds).toLocaleString('en')} removed/s)`}; ${leftAfterWrk.toLocaleString('en')} expired sessions were still left when the "during" run ended, so it overlapped cleanup${leftAfterWrk > 0 ? ' throughout' : ' only partly'}; under that load the cleanup removed ${Math.round((leftBeforeWrk - leftAfterWrk) / duringSeconds).toLocaleString('en')} rows/s (its thread runs at nice 19: it gets what requests leave), ${Math.round((LARGE - left) / cleanupSeconds).toLocaleString('en')} rows/s over the whole cleanup. wrk -c${CONNECTIONS} ${WRK_SECONDS} s on core 0; gateway + upstream on core 1. Load average at the end: ${await loadAverage()}.`,
      '',
      '| gateway state | req/s | p50 ms | p99 ms | errors |',
      '|---|---:|---:|---:|---:|',
      row('idle (before cleanup)', idle),
      row('during cleanup', during),
      ...(after ? [row('idle (after cleanup)', after)] : []),
      '',
      `p99 during cleanup / idle before: **${(during.p99 / idle.p99).toFixed(2)}×** (target ≤ 2×)${after ? `; / idle after: ${(during.p99 / after.p99).toFixed(2)}×` : ''}.`,
    ]
  } finally {
    watcher.close()
    for (const child of children) child.kill()
    await sleep(200)
  }
}

/** Issue 8 point 4 for SQLite: lookup cost at 1,000 vs 1,000,000 sessions and p99 during a 1,000,000-session cleanup. */
export async function runScaleCases(parts: readonly ('lookup' | 'cleanup')[] = ['lookup', 'cleanup']): Promise<string[]> {
  const lines = [`## Scale: SQLite with ${SMALL.toLocaleString('en')} vs ${LARGE.toLocaleString('en')} stored sessions`, '']
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-scale-'))
  try {
    const now = Date.now()
    const costs: Record<number, { median: number; p99: number; cached: number; seed: number }> = {}
    if (parts.includes('lookup')) {
      const paths: Record<number, string> = {}
      const seeds: Record<number, number> = {}
      for (const count of [SMALL, LARGE]) {
        paths[count] = join(dir, `lookup-${count}.db`)
        seeds[count] = seedSqlite(paths[count]!, count, now, false)
      }
      const measured = await lookupCosts(paths, now)
      for (const count of [SMALL, LARGE]) {
        costs[count] = { ...measured[count]!, seed: seeds[count]! }
        removeDb(paths[count]!)
      }
    }
    const load = await loadAverage()
    if (parts.includes('lookup')) lines.push(
      `Load average during the lookups: ${load}.`,
      '',
      '| stored sessions | seed s | uncached read µs (store read, median of 5 × 20,000 random ids, batches alternating between the two databases) | uncached single read p99 µs | gateway hot path µs (`load(cookie)`, 2 s cache) |',
      '|---:|---:|---:|---:|---:|',
    )
    if (parts.includes('lookup')) for (const count of [SMALL, LARGE]) lines.push(`| ${count.toLocaleString('en')} | ${costs[count]!.seed.toFixed(1)} | ${costs[count]!.median.toFixed(2)} | ${costs[count]!.p99.toFixed(2)} | ${costs[count]!.cached.toFixed(2)} |`)
    const ratio = (key: 'median' | 'cached') => (costs[LARGE]![key] / costs[SMALL]![key]).toFixed(2)
    if (parts.includes('lookup')) lines.push('', `${LARGE.toLocaleString('en')} / ${SMALL.toLocaleString('en')}: uncached read **${ratio('median')}×** (target ≤ 1.2×); gateway hot path **${ratio('cached')}×**.`, '')
    const tools = ['wrk', 'taskset'].filter((tool) => spawnSync('which', [tool]).status !== 0)
    if (!parts.includes('cleanup')) return lines
    if (tools.length > 0) lines.push(`Cleanup case skipped: ${tools.join(', ')} not installed.`)
    else lines.push(...(await cleanupCase(dir).catch((error: Error) => [`Cleanup case failed: ${error.message}`])))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return lines
}

/**
 * Microbenchmark of `SessionStore.load()` for a known, valid cookie, per storage: what the hot
 * path costs in-process (µs per call, median of 5 rounds). Printed, never asserted.
 */
export async function runLoadCases(iterations = Number(process.env.BENCH_LOAD_ITERATIONS ?? 50_000)): Promise<string[]> {
  const { createSessionStore } = await import('../src/session/store/index.js')
  const { systemClock } = await import('../src/clock.js')
  const lines = ['## SessionStore.load() with a valid cookie, in-process', '', '| storage | µs per load (median of 5) | min–max |', '|---|---:|---:|']
  for (const storage of ['memory', 'sqlite', 'redis', 'postgres', 'cookie'] as const) {
    const config = parseConfig(
      {
        upstream: 'http://127.0.0.1:1',
        secrets: ['s'.repeat(32)],
        session: { storage, sqlite: { path: `/tmp/gatehouse-load-${process.pid}.db` }, redis: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: `gh-load-${process.pid}:` }, postgres: { url: process.env.DATABASE_URL, table: `gh_load_${process.pid}` } },
      },
      process.env,
    )
    let store: Awaited<ReturnType<typeof createSessionStore>> | undefined
    try {
      store = await createSessionStore(config.session, config.secrets, systemClock)
      const now = Date.now()
      const { token } = await store.create(
        { user: 'bench', roles: ['viewer', 'admin'], email: 'bench@example.com', provider: { type: 'jwt', name: 'jwt' }, createdAt: now, lastSeen: now, renewedAt: now, idleExpiresAt: now + 3600_000, lifespanExpiresAt: now + 86_400_000, client: { ip: '127.0.0.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) bench' } },
        { now },
      )
      const rounds: number[] = []
      for (let round = 0; round < 6; round++) {
        const start = performance.now()
        for (let i = 0; i < iterations; i++) if (!(await store.load(token))) throw new Error('session not found')
        if (round > 0) rounds.push(((performance.now() - start) * 1000) / iterations)
      }
      rounds.sort((a, b) => a - b)
      lines.push(`| ${storage} | ${rounds[2]!.toFixed(2)} | ${rounds[0]!.toFixed(2)}–${rounds.at(-1)!.toFixed(2)} |`)
      await store.admin?.removeMatching({})
    } catch (error) {
      lines.push(`| ${storage} | – | skipped: ${(error as Error).message.split('\n')[0]} |`)
    } finally {
      await store?.close()
      if (storage === 'postgres') await dropTable(`gh_load_${process.pid}`)
    }
  }
  for (const suffix of ['', '-wal', '-shm']) await import('node:fs').then((fs) => fs.rmSync(`/tmp/gatehouse-load-${process.pid}.db${suffix}`, { force: true }))
  return lines
}

async function dropTable(table: string): Promise<void> {
  const { default: pg } = await import('pg')
  const { withDefaultUser } = await import('../src/session/store/postgres.js')
  const client = new pg.Client({ connectionString: withDefaultUser(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test') })
  await client.connect().then(() => client.query(`DROP TABLE IF EXISTS ${table}`)).catch(() => undefined)
  await client.end().catch(() => undefined)
}

// `node --import tsx bench/scale.ts [load] [scale | lookup | cleanup]` runs the cases on their own.
if (import.meta.url === `file://${process.argv[1]}`) {
  const which = process.argv.slice(2)
  const parts = which.filter((w): w is 'lookup' | 'cleanup' => w === 'lookup' || w === 'cleanup')
  const lines = [
    ...(which.length === 0 || which.includes('load') ? await runLoadCases() : []),
    ...(which.length === 0 || which.includes('scale') ? await runScaleCases() : []),
    ...(parts.length > 0 ? await runScaleCases(parts) : []),
  ]
  console.log(lines.join('\n'))
}
