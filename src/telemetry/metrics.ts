import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Prometheus metrics for one gateway instance (its own registry, so tests can build several). */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' })
  return {
    registry,
    requests: new Counter({
      name: 'gatehouse_http_requests_total',
      help: 'Requests answered, by kind (proxy or gateway endpoint) and status class',
      labelNames: ['kind', 'status'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'Time from request to response end',
      labelNames: ['kind'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    logins: new Counter({
      name: 'gatehouse_logins_total',
      help: 'Login attempts by result',
      labelNames: ['provider', 'result'] as const,
      registers: [registry],
    }),
    sessionEvents: new Counter({
      name: 'gatehouse_session_events_total',
      help: 'Session lifecycle events (created, renewed, expired, evicted, logout)',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
  }
}
export type Metrics = ReturnType<typeof createMetrics>
