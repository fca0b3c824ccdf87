import { randomUUID } from 'node:crypto'
import { Redis, Cluster, type RedisOptions } from 'ioredis'
import { storeExpiry, type Session } from '../session.js'
import { decodeCursor, encodeCursor, isAfter, matchesFilter } from './query.js'
import { storeCall } from './failure.js'
import type { RecordStore, SessionFilter } from './store.js'

export interface RedisStoreOptions {
  url?: string | undefined
  prefix: string
  cluster?: readonly string[] | undefined
  sentinel?: { name: string; nodes: readonly string[]; password?: string | undefined } | undefined
}

/*
 * Layout (P = prefix; every key carries the hash tag {gh}, so on a Cluster every key of one
 * gateway lives in one slot and each Lua script — routed there by its one declared key, P{gh}:all —
 * stays atomic. The price: all sessions sit on one master; a second prefix gives a second slot):
 *   P{gh}:s:<id>   the session JSON, with PX = time to its store expiry
 *   P{gh}:u:<user> ZSET id by createdAt       (listing, max_sessions, per-user removal)
 *   P{gh}:all      ZSET id by createdAt       (listing and admin filters)
 *   P{gh}:exp      ZSET id by store expiry    (pruning index entries whose key expired)
 *   P{gh}:owner    HASH id → user             (to prune a user index after the key is gone)
 * Index entries whose session key has expired are pruned lazily by the scripts and by removeExpired.
 */
// KEYS[1] is always P{gh}:all: declared so a Cluster routes the script to the slot's master.
// ARGV[1] is always the calling gateway's instance id, taken off here: the scripts below see
// their own arguments from ARGV[1]. Invalidations are published by the script itself, in the
// same atomic step as the write: none is lost between a write and its announcement.
const LUA_HELPERS = `
local prefix = string.sub(KEYS[1], 1, -4)
local from = table.remove(ARGV, 1)
local function notify(ids)
  if ids == 'all' or #ids > 0 then redis.call('PUBLISH', prefix .. 'invalidate', cjson.encode({ from = from, ids = ids })) end
end
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

// ARGV: id, user, json, createdAt, ttl, expiresAt, maxSessions (0 = none), now
const INSERT = `${LUA_HELPERS}
local id, user, json, createdAt, ttl, expiresAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local max, now = tonumber(ARGV[7]), tonumber(ARGV[8])
local evicted = {}
-- Every login prunes the user's index entries whose key Redis expired (with or without max_sessions).
local live = {}
for _, sid in ipairs(redis.call('ZRANGE', prefix .. 'u:' .. user, 0, -1)) do
  local raw = redis.call('GET', prefix .. 's:' .. sid)
  local expiry = tonumber(redis.call('ZSCORE', prefix .. 'exp', sid))
  if not raw or (expiry and expiry <= now) then
    drop(sid)
  elseif max > 0 then
    local record = cjson.decode(raw)
    if record.graceUntil == nil or record.graceUntil == cjson.null then table.insert(live, raw) end
  end
end
if max > 0 then
  local ids = {}
  for i = 1, #live - max + 1 do
    local record = cjson.decode(live[i])
    drop(record.id)
    table.insert(evicted, live[i])
    table.insert(ids, record.id)
  end
  notify(ids)
end
put(id, user, json, createdAt, ttl, expiresAt)
return evicted
`

// ARGV: id, user, json, createdAt, ttl, expiresAt — only if the record still exists.
const UPDATE = `${LUA_HELPERS}
if redis.call('EXISTS', prefix .. 's:' .. ARGV[1]) == 0 then return 0 end
put(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
notify({ ARGV[1] })
return 1
`

// ARGV: previous (id, user, json, createdAt, ttl, expiresAt), then next (the same six).
// Only while previous exists and is not replaced yet: a logout racing the renewal wins.
const REPLACE = `${LUA_HELPERS}
local raw = redis.call('GET', prefix .. 's:' .. ARGV[1])
if not raw then return 0 end
local current = cjson.decode(raw)
if current.graceUntil ~= nil and current.graceUntil ~= cjson.null then return 0 end
put(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
notify({ ARGV[1] })
put(ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12])
return 1
`

// ARGV: ids...
const REMOVE = `${LUA_HELPERS}
local removed = {}
for i = 1, #ARGV do
  if redis.call('EXISTS', prefix .. 's:' .. ARGV[i]) == 1 then table.insert(removed, ARGV[i]) end
  drop(ARGV[i])
end
notify(removed)
return #removed
`

// ARGV: now, batch → how many ids were pruned because their store expiry passed
const PRUNE = `${LUA_HELPERS}
local ids = redis.call('ZRANGEBYSCORE', prefix .. 'exp', '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do drop(id) end
return #ids
`

export type RedisClient = Redis | Cluster
const SCAN_BATCH = 200

interface Scripts {
  ghInsert(...args: (string | number)[]): Promise<string[]>
  ghUpdate(...args: (string | number)[]): Promise<number>
  ghReplace(...args: (string | number)[]): Promise<number>
  ghRemove(...args: (string | number)[]): Promise<number>
  ghPrune(...args: (string | number)[]): Promise<number>
}

const retry = (attempt: number) => Math.min(attempt * 200, 2000)
const CONNECTION: RedisOptions = {
  // Fail fast while Redis is down or hangs (503 within about a second); keep reconnecting forever.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  commandTimeout: 1000,
  retryStrategy: retry,
}

/** A client for `session.redis` (URL, Cluster or Sentinel), failing fast while Redis is down. */
export function connectRedis(options: RedisStoreOptions): RedisClient {
  if (options.cluster && options.cluster.length > 0) {
    const nodes = options.cluster.map(parseNode)
    // Credentials and TLS are the cluster's, taken from the first node URL that names them.
    const auth = nodes.find((node) => node.password !== undefined) ?? nodes[0]!
    const redisOptions = { ...CONNECTION, username: auth.username, password: auth.password, ...(nodes.some((node) => node.tls) ? { tls: {} } : {}) }
    return new Cluster(nodes.map(({ host, port }) => ({ host, port })), { enableOfflineQueue: false, clusterRetryStrategy: retry, redisOptions })
  }
  if (options.sentinel) {
    // sentinel.password opens the sentinels and, unless `url` carries the master's own, the master.
    const master = options.url ? parseNode(options.url) : undefined
    const { name, nodes, password } = options.sentinel
    return new Redis({
      ...CONNECTION,
      sentinels: nodes.map(parseNode).map(({ host, port }) => ({ host, port })),
      name,
      sentinelPassword: password,
      username: master?.username,
      password: master?.password ?? password,
      db: master?.db ?? 0,
      sentinelRetryStrategy: retry,
    })
  }
  return new Redis(options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', CONNECTION)
}

interface Node {
  host: string
  port: number
  username?: string | undefined
  password?: string | undefined
  db?: number | undefined
  tls: boolean
}

/** `host:port` or a `redis://` / `rediss://` URL with optional credentials and db. */
function parseNode(node: string): Node {
  const url = new URL(node.includes('://') ? node : `redis://${node}`)
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: Number.isInteger(db) ? db : undefined,
    tls: url.protocol === 'rediss:',
  }
}

/**
 * Waits for the first connection, at most `ms`. A single server that refuses it is down now:
 * no point waiting longer. A Cluster may report errors on some nodes while it still forms.
 */
export function whenReady(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  const giveUpOn = client instanceof Cluster ? [] : ['error']
  return new Promise((resolve) => {
    const events = ['ready', ...giveUpOn]
    const done = () => (clearTimeout(timer), events.forEach((event) => client.off(event, done)), resolve())
    const timer = setTimeout(done, ms)
    events.forEach((event) => client.once(event, done))
  })
}

/** Sessions in Redis (or a Cluster, or behind Sentinel) with native TTLs and Lua-atomic writes. */
export async function createRedisStore(options: RedisStoreOptions): Promise<RecordStore> {
  const prefix = `${options.prefix}{gh}:`
  const client = connectRedis(options)
  // Errors surface per command as StoreUnavailable; the connection's own events must not crash the process.
  client.on('error', () => {})
  for (const [name, lua] of [['ghInsert', INSERT], ['ghUpdate', UPDATE], ['ghReplace', REPLACE], ['ghRemove', REMOVE], ['ghPrune', PRUNE]] as const) {
    client.defineCommand(name, { numberOfKeys: 1, lua })
  }
  const scripts = client as unknown as Scripts
  const route = `${prefix}all`
  // Start even when Redis is down: requests get 503 until it is back, readyz says so.
  await whenReady(client, 3000)

  const instance = randomUUID()
  const channel = `${prefix}invalidate`
  let deliver: (ids: readonly string[] | 'all') => void = () => undefined
  // Subscribed from the start, so the channel is up by the time a cache wants it. While it is
  // not subscribed (Redis down, reconnecting) invalidations may be lost: freshen() is false, the
  // cache is bypassed, and it is cleared once subscribed again.
  let subscribed = false
  const subscriber = client.duplicate()
  subscriber.on('error', () => {})
  const subscribe = () =>
    void subscriber.subscribe(channel).then(
      () => {
        deliver('all')
        subscribed = true
      },
      () => undefined,
    )
  for (const event of ['close', 'end', 'reconnecting']) subscriber.on(event, () => (subscribed = false))
  // Also on every (re)connection: a SUBSCRIBE that failed while Redis was down is not retried by ioredis.
  subscriber.on('ready', subscribe)
  if (subscriber.status === 'ready') subscribe()
  subscriber.on('message', (_channel: string, message: string) => {
    try {
      const { from, ids } = JSON.parse(message) as { from: string; ids: string[] | 'all' }
      if (from !== instance) deliver(Array.isArray(ids) || ids === 'all' ? ids : [])
    } catch {
      deliver('all') // not understood: assume the worst
    }
  })

  const call = <T>(work: () => Promise<T>): Promise<T> => storeCall('redis', work)
  // Expiries are on the gateway's clock, TTLs on Redis's. Counting from the earlier of the
  // record's last use and the wall clock never makes a key vanish before the gateway's own
  // expiry check would (a test clock may run behind); a later key is harmless, getRecord checks.
  const fields = (session: Session) => {
    const expiresAt = storeExpiry(session)
    const ttl = expiresAt === null ? 0 : Math.max(1, expiresAt - Math.min(session.lastSeen, Date.now()))
    return [session.id, session.user, JSON.stringify(session), session.createdAt, ttl, expiresAt ?? 0]
  }
  const parse = (raw: string | null): Session | null => (raw ? (JSON.parse(raw) as Session) : null)

  /**
   * Walks an index in (createdAt, id) order after the cursor, loading records and applying the
   * filter. Each batch restarts from the last position seen (keyset, not offset), so concurrent
   * removals cannot make it skip entries; ties on createdAt are ordered by id, as in ZSETs.
   */
  async function* scan(filter: SessionFilter, cursor?: string, now?: number) {
    let after = decodeCursor(cursor)
    const index = filter.user !== undefined ? `${prefix}u:${filter.user}` : `${prefix}all`
    for (let ties = 0; ; ) {
      const flat = await client.zrangebyscore(index, after ? after.createdAt : '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, SCAN_BATCH + ties)
      const entries: { id: string; createdAt: number }[] = []
      for (let i = 0; i < flat.length; i += 2) entries.push({ id: flat[i]!, createdAt: Number(flat[i + 1]) })
      const fresh = entries.filter((entry) => isAfter(entry, after))
      if (fresh.length === 0) {
        // A full window of entries at or before the position (many ties): widen it, else done.
        if (entries.length < SCAN_BATCH + ties) return
        ties += SCAN_BATCH
        continue
      }
      const raws = await client.mget(...fresh.map((entry) => `${prefix}s:${entry.id}`))
      for (const raw of raws) {
        const session = parse(raw)
        if (!session || !matchesFilter(session, filter)) continue
        // Redis drops keys on its own clock; the listing judges expiry on the gateway's.
        const expiry = now === undefined ? null : storeExpiry(session)
        if (expiry === null || expiry > now!) yield session
      }
      const last = fresh.at(-1)!
      ties = last.createdAt === after?.createdAt ? ties + fresh.length : fresh.filter((entry) => entry.createdAt === last.createdAt).length
      after = last
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
        return (await scripts.ghInsert(route, instance, ...fields(session), maxSessions ?? 0, now)).map((raw) => JSON.parse(raw) as Session)
      }),
    update: (session) =>
      call(async () => {
        await scripts.ghUpdate(route, instance, ...fields(session))
      }),
    replace: (previous, next) => call(async () => (await scripts.ghReplace(route, instance, ...fields(previous), ...fields(next))) === 1),
    remove: (ids) =>
      call(async () => {
        if (ids.length === 0) return 0
        return await scripts.ghRemove(route, instance, ...ids)
      }),
    list: (query) =>
      call(async () => {
        const sessions: Session[] = []
        for await (const session of scan(query, query.cursor, query.now)) {
          sessions.push(session)
          if (sessions.length > query.limit) break
        }
        const page = sessions.slice(0, query.limit)
        const last = page.at(-1)
        return { sessions: page, nextCursor: sessions.length > query.limit && last ? encodeCursor(last) : null }
      }),
    removeMatching: (filter) =>
      call(async () => {
        // Removed in atomic batches while scanning: the keyset scan is not thrown off by removals.
        let batch: string[] = []
        let removed = 0
        const flush = async () => {
          if (batch.length > 0) removed += await scripts.ghRemove(route, instance, ...batch)
          batch = []
        }
        for await (const session of scan(filter)) {
          batch.push(session.id)
          if (batch.length >= 500) await flush()
        }
        await flush()
        return removed
      }),
    removeExpired: (now, batchSize) => call(() => scripts.ghPrune(route, instance, now, batchSize)),
    onInvalidate(listener) {
      deliver = listener
    },
    freshen: () => subscribed,
    ping: () => call(async () => void (await client.ping())),
    async close() {
      subscribed = false
      subscriber.disconnect()
      client.disconnect()
    },
  }
}
