import { connect } from 'node:net'

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
