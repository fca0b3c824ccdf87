// The reference's session check, shared by the Node auth check (nginx auth_request) and the
// minimal Node proxy: a cookie `bench_sid=<id>.<HMAC-SHA256(id) base64url>`, verified in constant
// time, and the id looked up in an in-process Map of a few thousand sessions.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export interface BenchSession {
  readonly user: string
  readonly roles: string
}

export function createBenchSessions(count = 5000): { cookie: string; sessionOf(cookieHeader: string | undefined): BenchSession | undefined } {
  const secret = randomBytes(32)
  const sessions = new Map<string, BenchSession>()
  const sign = (id: string) => createHmac('sha256', secret).update(id).digest('base64url')
  // A few thousand sessions so the Map is not trivially small; the bench uses one of them.
  for (let i = 0; i < count; i++) sessions.set(randomBytes(24).toString('base64url'), { user: `user${i}`, roles: 'bench' })
  const [benchId] = sessions.keys()
  return {
    cookie: `bench_sid=${benchId}.${sign(benchId!)}`,
    sessionOf(cookieHeader) {
      if (!cookieHeader) return undefined
      const start = cookieHeader.indexOf('bench_sid=')
      if (start < 0) return undefined
      let end = cookieHeader.indexOf(';', start)
      if (end < 0) end = cookieHeader.length
      const value = cookieHeader.slice(start + 'bench_sid='.length, end).trim()
      const dot = value.lastIndexOf('.')
      if (dot <= 0) return undefined
      const id = value.slice(0, dot)
      const given = Buffer.from(value.slice(dot + 1))
      const expected = Buffer.from(sign(id))
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
      return sessions.get(id)
    },
  }
}
