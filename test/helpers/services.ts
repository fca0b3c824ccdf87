import { randomUUID } from 'node:crypto'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { connect, createServer, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import pg from 'pg'
import { withDefaultUser } from '../../src/session/store/postgres.js'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test'

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || defaultPort) })
    const done = (ok: boolean) => (socket.destroy(), resolve(ok))
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * `false` when the real server answers. Otherwise a skip message outside CI; under CI=true an
 * unreachable server is a failure, never a skip.
 */
async function skipUnless(name: string, url: string, variable: string, defaultPort: number): Promise<false | string> {
  if (await reachable(url, defaultPort)) return false
  const message = `${name} not reachable at ${url} (set ${variable})`
  if (process.env.CI) throw new Error(`${message}: CI=true, so this is a failure, not a skip`)
  return `${message}; skipped outside CI`
}

export const redisSkip = () => skipUnless('Redis', REDIS_URL, 'REDIS_URL', 6379)
export const postgresSkip = () => skipUnless('PostgreSQL', DATABASE_URL, 'DATABASE_URL', 5432)

/** True when the `redis-server` binary is installed (for tests that run a private Redis). */
export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0

/** Skip message for tests needing the redis-server binary; under CI a missing binary fails instead. */
export const redisServerSkip: false | string = hasRedisServer || process.env.CI ? false : 'redis-server binary not installed; skipped outside CI'

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * A private, non-persistent redis-server on `port` (so stopping it never disturbs the shared
 * one); resolves once it accepts connections. `args` are extra command-line options.
 */
export async function startPrivateRedis(port: number, args: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let output = ''
    const fail = (why: string) => (clearTimeout(timer), reject(new Error(`redis-server on :${port} ${why}:\n${output}`)))
    const timer = setTimeout(() => (child.kill('SIGKILL'), fail('did not start')), 10_000)
    child.stdout!.on('data', (chunk) => {
      output += chunk
      if (/Ready to accept connections|Sentinel ID is/.test(output)) (clearTimeout(timer), child.removeAllListeners('exit'), resolve())
    })
    child.once('error', (error) => fail(error.message))
    child.once('exit', (code) => fail(`exited (${code})`))
  })
  child.stdout!.resume()
  return child
}

/** Kills a child process (SIGKILL: an abrupt outage) and waits for it to be gone. */
export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGKILL'))))
}

/** Deletes every key under `prefix` (a test's own namespace) from the Redis at `url`. */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    // The prefix is random per test, so glob characters in it are not a concern; braces are literal.
    for await (const keys of client.scanStream({ match: `${prefix}*`, count: 1000 })) {
      if ((keys as string[]).length > 0) await client.unlink(...(keys as string[]))
    }
  } finally {
    client.disconnect()
  }
}

/** Drops a test's own table from the PostgreSQL at `url`. */
export async function dropPostgresTable(url: string, table: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDefaultUser(url) })
  await client.connect()
  try {
    await client.query(`DROP TABLE IF EXISTS ${table}`)
  } finally {
    await client.end()
  }
}

/** A random name usable as a table name or key prefix, so parallel test files never collide. */
export const uniqueName = (stem: string): string => `${stem}_${randomUUID().replace(/-/g, '').slice(0, 12)}`

export interface TcpCut {
  readonly port: number
  /** Stops listening and drops every open connection: the server is gone, as far as clients see. */
  cut(): Promise<void>
  /** Listens again on the same port. */
  restore(): Promise<void>
}

/**
 * A TCP relay on a free port to `target` (host:port), to take a real server away from a client
 * and give it back without stopping that server (which other tests share). Starts cut.
 */
export async function tcpCut(target: { host: string; port: number }): Promise<TcpCut> {
  const port = await freePort()
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => (sockets.add(socket), socket.once('close', () => sockets.delete(socket)))
  const server = createServer((client) => {
    const upstream = connect(target)
    track(client)
    track(upstream)
    client.pipe(upstream).pipe(client)
    client.once('error', () => upstream.destroy())
    upstream.once('error', () => client.destroy())
  })
  return {
    port,
    cut: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        if (!server.listening) return resolve()
        server.close(() => resolve())
      }),
    restore: () => new Promise<void>((resolve, reject) => (server.once('error', reject), server.listen(port, '127.0.0.1', () => (server.off('error', reject), resolve())))),
  }
}
