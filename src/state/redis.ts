import { connectRedis, whenReady, type RedisStoreOptions } from '../session/store/redis.js'
import { storeCall } from '../session/store/failure.js'
import { checkEntry, type Counter, type SharedState } from './shared-state.js'

// Redis expires keys itself (PX), so `now` only matters for the answer's resetAt.
// KEYS[1] counter; ARGV: by, ttlMs. Returns {count, pttl}.
const INCREMENT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}`

interface Scripts {
  ghStateIncrement(key: string, by: number, ttlMs: number): Promise<[number, number]>
}

/**
 * Keys `<session.redis.prefix>state:<key>` with native expiry; counters are plain integers
 * (INCRBY + PEXPIRE in one script, atomic), values plain strings. Each is one key, so on a
 * Cluster every call routes to that key's slot.
 */
export async function createRedisSharedState(options: RedisStoreOptions): Promise<SharedState> {
  const prefix = `${options.prefix}state:`
  const client = connectRedis(options)
  client.on('error', () => {})
  client.defineCommand('ghStateIncrement', { numberOfKeys: 1, lua: INCREMENT })
  const scripts = client as unknown as Scripts
  await whenReady(client, 3000)
  const call = <T>(work: () => Promise<T>) => storeCall('redis', work)
  const counterOf = async (key: string, now: number): Promise<Counter> => {
    const [raw, ttl] = await Promise.all([client.get(prefix + key), client.pttl(prefix + key)])
    const count = Number(raw)
    return raw !== null && Number.isFinite(count) && ttl > 0 ? { count, resetAt: now + ttl } : { count: 0, resetAt: now }
  }
  return {
    kind: 'redis',
    async increment(key, ttlMs, now, by = 1) {
      checkEntry(key)
      return call(async () => {
        const [count, ttl] = await scripts.ghStateIncrement(prefix + key, by, Math.max(1, Math.ceil(ttlMs)))
        return { count: Number(count), resetAt: now + Number(ttl) }
      })
    },
    count(key, now) {
      return call(() => counterOf(key, now))
    },
    get(key) {
      return call(() => client.get(prefix + key))
    },
    async set(key, value, ttlMs) {
      checkEntry(key, value)
      await call(() => client.set(prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs))))
    },
    async setIfAbsent(key, value, ttlMs) {
      checkEntry(key, value)
      return call(async () => (await client.set(prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK')
    },
    async delete(key) {
      await call(() => client.del(prefix + key))
    },
    async removeExpired() {
      return 0
    },
    async close() {
      client.disconnect()
    },
  }
}
