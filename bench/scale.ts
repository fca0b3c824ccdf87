import { performance } from 'node:perf_hooks'
import { parseConfig } from '../src/config/load.js'
import type { Session } from '../src/session/session.js'
import { createRecordStore } from '../src/session/store/index.js'
import type { RecordStore } from '../src/session/store/store.js'

const SMALL = 1_000
const LARGE = Number(process.env.BENCH_SCALE ?? 1_000_000)
const SAMPLES = 200

function record(i: number, now: number): Session {
  const id = i.toString(16).padStart(64, '0')
  return {
    id,
    user: `user${i % 50_000}`,
    roles: ['viewer'],
    provider: { type: 'form', name: 'form' },
    createdAt: now - i,
    lastSeen: now,
    renewedAt: now,
    // One in ten expired, so cleanup has work to do.
    idleExpiresAt: i % 10 === 0 ? now - 1000 : now + 3600_000,
    lifespanExpiresAt: now + 86_400_000,
    client: { ip: '127.0.0.1', userAgent: 'bench' },
  }
}

async function fill(store: RecordStore, count: number, now: number): Promise<void> {
  const chunk = 2000
  for (let start = 0; start < count; start += chunk) {
    const batch = []
    for (let i = start; i < Math.min(count, start + chunk); i++) batch.push(store.insert(record(i, now), undefined, now))
    await Promise.all(batch)
  }
}

async function timeEach(samples: number, work: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  const times: number[] = []
  for (let i = 0; i < samples; i++) {
    const start = performance.now()
    await work(i)
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  return { p50: times[Math.floor(samples * 0.5)]!, p99: times[Math.floor(samples * 0.99)]! }
}

/** Login (insert with max_sessions), lookup and cleanup latency with 1,000 vs 1,000,000 stored sessions. */
export async function runScaleCases(): Promise<string[]> {
  const lines = ['## Store scale: 1,000 vs ' + LARGE.toLocaleString('en') + ' stored sessions', '', '| store | stored | fill time s | login p50/p99 ms | lookup p50/p99 ms | cleanup of 500 expired ms |', '|---|---:|---:|---:|---:|---:|']
  for (const kind of ['sqlite', 'redis'] as const) {
    for (const count of [SMALL, LARGE]) {
      const session = parseConfig(
        {
          upstream: 'http://127.0.0.1:1',
          secrets: ['s'.repeat(32)],
          session: { storage: kind, sqlite: { path: `/tmp/gatehouse-scale-${process.pid}-${count}.db` }, redis: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: `gh-scale-${process.pid}-${count}:` } },
        },
        process.env,
      ).session
      let store: RecordStore
      try {
        store = await createRecordStore(session)
      } catch (error) {
        lines.push(`| ${kind} | ${count.toLocaleString('en')} | – | – | – | skipped: ${(error as Error).message.split('\n')[0]} |`)
        continue
      }
      const now = Date.now()
      const fillStart = performance.now()
      await fill(store, count, now)
      const fillSeconds = ((performance.now() - fillStart) / 1000).toFixed(1)
      const login = await timeEach(SAMPLES, (i) => store.insert({ ...record(count + i, now), user: `user${i}` }, 5, now))
      const lookup = await timeEach(SAMPLES, (i) => store.getRecord(record((i * 7919) % count, now).id, now))
      const cleanupStart = performance.now()
      await store.removeExpired(now, 500)
      const cleanup = performance.now() - cleanupStart
      lines.push(`| ${kind} | ${count.toLocaleString('en')} | ${fillSeconds} | ${login.p50.toFixed(3)} / ${login.p99.toFixed(3)} | ${lookup.p50.toFixed(3)} / ${lookup.p99.toFixed(3)} | ${cleanup.toFixed(1)} |`)
      await store.removeMatching({})
      await store.close()
    }
  }
  return lines
}
