import { randomUUID } from 'node:crypto'
import { Redis, Cluster, type RedisOptions } from 'ioredis'
import { GatehouseError, StoreUnavailable } from '../../errors.js'
import { storeExpiry, type Session } from '../session.js'
import { decodeCursor, encodeCursor, isAfter, matchesFilter } from './query.js'
import type { RecordStore, SessionFilter } from './store.js'

export interface RedisStoreOptions {
  url?: string | undefined
  prefix: string
  cluster?: readonly string[] | undefined
  sentinel?: { name: string; nodes: readonly string[]; password?: string | undefined } | undefined
}

/*
 * Layout (P = prefix; every key carries the hash tag {gh} so the Lua scripts stay atomic on a
 * Cluster — at the price of keeping all sessions in one slot):
 *   P{gh}:s:<id>   the session JSON, with PX = time to its store expiry
 *   P{gh}:u:<user> ZSET id by createdAt       (listing, max_sessions, per-user removal)
 *   P{gh}:all      ZSET id by createdAt       (listing and admin filters)
 *   P{gh}:exp      ZSET id by store expiry    (pruning index entries whose key expired)
 *   P{gh}:owner    HASH id → user             (to prune a user index after the key is gone)
 * Index entries whose session key has expired are pruned lazily by the scripts and by removeExpired.
 */
const LUA_HELPERS = `
local prefix = ARGV[1]
local function drop(id)
  local user = redis.call('HGET', prefix .. 'owner', id)
  redis.call('DEL', prefix .. 's:' .. id)
  if user then redis.call('ZREM', prefix .. 'u:' .. user, id) end
  redis.call('ZREM', prefix .. 'all', id)
  redis.call('ZREM', prefix .. 'exp', id)
  redis.call('HDEL', prefix .. 'owner', id)
end
local function put(id, user, json, createdAt, ttl, expiresAt)
  if tonumber(ttl) > 0 then
    redis.call('SET', prefix .. 's:' .. id, json, 'PX', ttl)
  else
    redis.call('SET', prefix .. 's:' .. id, json)
  end
  redis.call('ZADD', prefix .. 'u:' .. user, createdAt, id)
  redis.call('ZADD', prefix .. 'all', createdAt, id)
  redis.call('HSET', prefix .. 'owner', id, user)
  if tonumber(expiresAt) > 0 then redis.call('ZADD', prefix .. 'exp', expiresAt, id) else redis.call('ZREM', prefix .. 'exp', id) end
end
`

// ARGV: prefix, id, user, json, createdAt, ttl, expiresAt, maxSessions (0 = none), now
const INSERT = `${LUA_HELPERS}
local id, user, json, createdAt, ttl, expiresAt = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local max, now = tonumber(ARGV[8]), tonumber(ARGV[9])
local evicted = {}
if max > 0 then
  local live = {}
  for _, sid in ipairs(redis.call('ZRANGE', prefix .. 'u:' .. user, 0, -1)) do
    local raw = redis.call('GET', prefix .. 's:' .. sid)
    local expiry = tonumber(redis.call('ZSCORE', prefix .. 'exp', sid))
    if not raw or (expiry and expiry <= now) then
      drop(sid)
    else
      local record = cjson.decode(raw)
      if record.graceUntil == nil or record.graceUntil == cjson.null then table.insert(live, raw) end
    end
  end
  for i = 1, #live - max + 1 do
    local record = cjson.decode(live[i])
    drop(record.id)
    table.insert(evicted, live[i])
  end
end
put(id, user, json, createdAt, ttl, expiresAt)
return evicted
`

// ARGV: prefix, id, user, json, createdAt, ttl, expiresAt — only if the record still exists.
const UPDATE = `${LUA_HELPERS}
if redis.call('EXISTS', prefix .. 's:' .. ARGV[2]) == 0 then return 0 end
put(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
return 1
`

// ARGV: prefix, then previous (id, user, json, createdAt, ttl, expiresAt), then next (same six).
const REPLACE = `${LUA_HELPERS}
if redis.call('EXISTS', prefix .. 's:' .. ARGV[2]) == 1 then put(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]) end
put(ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13])
return 1
`

// ARGV: prefix, ids...
const REMOVE = `${LUA_HELPERS}
local removed = 0
for i = 2, #ARGV do
  if redis.call('EXISTS', prefix .. 's:' .. ARGV[i]) == 1 then removed = removed + 1 end
  drop(ARGV[i])
end
return removed
`

// ARGV: prefix, now, batch → ids pruned because their store expiry passed
const PRUNE = `${LUA_HELPERS}
local ids = redis.call('ZRANGEBYSCORE', prefix .. 'exp', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do drop(id) end
return #ids
`

type Client = Redis | Cluster

interface Scripts {
  ghInsert(...args: (string | number)[]): Promise<string[]>
  ghUpdate(...args: (string | number)[]): Promise<number>
  ghReplace(...args: (string | number)[]): Promise<number>
  ghRemove(...args: (string | number)[]): Promise<number>
  ghPrune(...args: (string | number)[]): Promise<number>
}

const CONNECTION: RedisOptions = {
  // Fail fast while Redis is down (503 within about a second), keep reconnecting forever.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  commandTimeout: 2000,
  retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  lazyConnect: false,
}

function connect(options: RedisStoreOptions): Client {
  if (options.cluster && options.cluster.length > 0) {
    return new Cluster(options.cluster.map(parseNode), { enableOfflineQueue: false, redisOptions: CONNECTION, clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2000) })
  }
  if (options.sentinel) {
    return new Redis({ ...CONNECTION, sentinels: options.sentinel.nodes.map(parseNode), name: options.sentinel.name, password: options.sentinel.password })
  }
  return new Redis(options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', CONNECTION)
}

function parseNode(node: string): { host: string; port: number } {
  const url = new URL(node.includes('://') ? node : `redis://${node}`)
  return { host: url.hostname, port: Number(url.port || 6379) }
}

function whenReady(client: Client, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => (clearTimeout(timer), client.off('ready', done), resolve())
    const timer = setTimeout(done, ms)
    client.once('ready', done)
  })
}

/** Sessions in Redis (or a Cluster, or behind Sentinel) with native TTLs and Lua-atomic writes. */
export async function createRedisStore(options: RedisStoreOptions): Promise<RecordStore> {
  const prefix = `${options.prefix}{gh}:`
  const client = connect(options)
  // Errors surface per command as StoreUnavailable; the connection's own events must not crash the process.
  client.on('error', () => {})
  for (const [name, lua] of [['ghInsert', INSERT], ['ghUpdate', UPDATE], ['ghReplace', REPLACE], ['ghRemove', REMOVE], ['ghPrune', PRUNE]] as const) {
    client.defineCommand(name, { numberOfKeys: 0, lua })
  }
  const scripts = client as unknown as Scripts
  // Start even when Redis is down: requests get 503 until it is back, readyz says so.
  await whenReady(client, 3000)

  const instance = randomUUID()
  const channel = `${prefix}invalidate`
  let subscriber: Client | undefined
  const publish = (ids: readonly string[] | 'all') => client.publish(channel, JSON.stringify({ from: instance, ids })).catch(() => undefined)

  const call = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work()
    } catch (error) {
      if (error instanceof GatehouseError) throw error
      throw new StoreUnavailable('session store (redis) failed', { cause: error })
    }
  }
  const fields = (session: Session, now = Date.now()) => {
    const expiresAt = storeExpiry(session)
    const ttl = expiresAt === null ? 0 : Math.max(1, expiresAt - now)
    return [session.id, session.user, JSON.stringify(session), session.createdAt, ttl, expiresAt ?? 0]
  }
  const parse = (raw: string | null): Session | null => (raw ? (JSON.parse(raw) as Session) : null)

  /** Walks an index in createdAt order from the cursor, loading records and applying the filter. */
  async function* scan(filter: SessionFilter, cursor?: string) {
    const after = decodeCursor(cursor)
    const index = filter.user !== undefined ? `${prefix}u:${filter.user}` : `${prefix}all`
    let offset = 0
    for (;;) {
      const ids = await client.zrangebyscore(index, after ? after.createdAt : '-inf', '+inf', 'LIMIT', offset, 200)
      if (ids.length === 0) return
      offset += ids.length
      const raws = await client.mget(...ids.map((id) => `${prefix}s:${id}`))
      for (const raw of raws) {
        const session = parse(raw)
        if (session && isAfter(session, after) && matchesFilter(session, filter)) yield session
      }
    }
  }

  return {
    kind: 'redis',
    getRecord: (id, now) =>
      call(async () => {
        const session = parse(await client.get(`${prefix}s:${id}`))
        const expiry = session && storeExpiry(session)
        return session && (expiry === null || expiry > now) ? session : null
      }),
    get: (id) => call(async () => parse(await client.get(`${prefix}s:${id}`))),
    insert: (session, maxSessions, now) =>
      call(async () => {
        const evicted = (await scripts.ghInsert(prefix, ...fields(session, now), maxSessions ?? 0, now)).map((raw) => JSON.parse(raw) as Session)
        if (evicted.length > 0) void publish(evicted.map((old) => old.id))
        return evicted
      }),
    update: (session) =>
      call(async () => {
        await scripts.ghUpdate(prefix, ...fields(session))
        void publish([session.id])
      }),
    replace: (previous, next) =>
      call(async () => {
        await scripts.ghReplace(prefix, ...fields(previous), ...fields(next))
        void publish([previous.id])
      }),
    remove: (ids) =>
      call(async () => {
        if (ids.length === 0) return 0
        const removed = await scripts.ghRemove(prefix, ...ids)
        void publish(ids)
        return removed
      }),
    list: (query) =>
      call(async () => {
        const sessions: Session[] = []
        for await (const session of scan(query, query.cursor)) {
          sessions.push(session)
          if (sessions.length > query.limit) break
        }
        const page = sessions.slice(0, query.limit)
        const last = page.at(-1)
        return { sessions: page, nextCursor: sessions.length > query.limit && last ? encodeCursor(last) : null }
      }),
    removeMatching: (filter) =>
      call(async () => {
        const ids: string[] = []
        for await (const session of scan(filter)) ids.push(session.id)
        let removed = 0
        for (let i = 0; i < ids.length; i += 500) removed += await scripts.ghRemove(prefix, ...ids.slice(i, i + 500))
        void publish('all')
        return removed
      }),
    removeExpired: (now, batchSize) => call(() => scripts.ghPrune(prefix, now, batchSize)),
    onInvalidate(listener) {
      subscriber ??= client.duplicate()
      subscriber.on('error', () => {})
      void subscriber.subscribe(channel).catch(() => undefined)
      subscriber.on('message', (_channel: string, message: string) => {
        try {
          const { from, ids } = JSON.parse(message) as { from: string; ids: string[] | 'all' }
          if (from !== instance) listener(ids)
        } catch {
          // Not ours or malformed: ignore.
        }
      })
    },
    ping: () => call(async () => void (await client.ping())),
    async close() {
      subscriber?.disconnect()
      client.disconnect()
    },
  }
}
