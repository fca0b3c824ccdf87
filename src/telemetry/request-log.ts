import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'

export type RequestKind = 'gateway' | 'proxy'

/**
 * One line per request (method, path without the query, status, duration, user) and the request
 * metrics, for the proxy and the gateway's endpoints alike. Label children are resolved once:
 * prom-client's per-call label lookup showed up in the proxy's profile.
 */
export function createRequestLog(log: Logger, metrics: Metrics) {
  const counters = new Map<string, { inc(): void }>()
  const durations = { gateway: metrics.duration.labels('gateway'), proxy: metrics.duration.labels('proxy') }
  const infoEnabled = () => log.isLevelEnabled('info')
  return (kind: RequestKind, method: string, path: string, status: number, durationMs: number, user: string | null): void => {
    const statusClass = `${Math.floor(status / 100)}xx`
    const key = `${kind}:${statusClass}`
    let counter = counters.get(key)
    if (!counter) counters.set(key, (counter = metrics.requests.labels(kind, statusClass)))
    counter.inc()
    durations[kind].observe(durationMs / 1000)
    if (infoEnabled()) {
      log.info({ method, path: path.slice(0, 512), status, duration_ms: Math.round(durationMs * 100) / 100, user }, 'request')
    }
  }
}
export type RequestLog = ReturnType<typeof createRequestLog>
