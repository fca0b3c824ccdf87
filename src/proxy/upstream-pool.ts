import { Pool } from 'undici'
import type { UpstreamConfig } from '../config/schema.js'

/** One keep-alive connection pool per upstream origin, shared by every route that points there. */
export interface UpstreamPools {
  /** The pool for this upstream and the path prefix its URL carries (`http://app:8080/base` → `/base`). */
  target(upstream: UpstreamConfig): UpstreamTarget
  close(): Promise<void>
}

export interface UpstreamTarget {
  readonly pool: Pool
  readonly basePath: string
  readonly timeout: number
  /** `idle_timeout`: longest silence within a response body; null = none. */
  readonly idleTimeout: number | null
}

export function createUpstreamPools(): UpstreamPools {
  const pools = new Map<string, Pool>()
  const targets = new Map<UpstreamConfig, UpstreamTarget>()
  return {
    target(upstream) {
      let target = targets.get(upstream)
      if (target) return target
      const url = new URL(upstream.url)
      let pool = pools.get(url.origin)
      if (!pool) {
        pool = new Pool(url.origin, {
          // Enough sockets for a busy gateway; idle ones are kept 30 s so bursts reuse them.
          connections: 256,
          pipelining: 1,
          keepAliveTimeout: 30_000,
          connect: { timeout: upstream.connect_timeout },
        })
        pools.set(url.origin, pool)
      }
      target = { pool, basePath: url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname, timeout: upstream.timeout, idleTimeout: upstream.idle_timeout }
      targets.set(upstream, target)
      return target
    },
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()))
      pools.clear()
      targets.clear()
    },
  }
}
