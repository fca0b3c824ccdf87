import { createHash } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Clock } from '../clock.js'
import type { LoginLimitConfig } from '../config/schema.js'
import { TooManyAttempts } from '../errors.js'
import type { SharedState } from '../state/shared-state.js'

/**
 * One password check in progress, counted before the password is looked at (so a burst of
 * parallel guesses cannot slip past the limit). Exactly one of the three ends it.
 */
export interface LoginAttempt {
  /** The password was wrong: the attempt stays counted, and may start a block. */
  failed(): Promise<void>
  /** The password was right: the user name's count is reset, the IP's attempt given back. */
  succeeded(): Promise<void>
  /** Neither (the service that checks it is down): the attempt is given back on both counters. */
  abandoned(): Promise<void>
}

/**
 * `auth.login_limit` for every password login (form, JSON, Basic, external Basic). Counters and
 * blocks live in the SharedState, so every gateway process and worker on the same store sees
 * the same ones.
 *
 * The rule, per user name and per client IP alike:
 * - failures are counted in a fixed window of `window` from the first one;
 * - the failure that reaches the limit starts a block of exactly `block` and, once it ends, counting starts afresh;
 * - during a block every attempt is refused (429) without checking the password and without
 *   being counted: an attacker who keeps guessing cannot extend it, so a victim is locked out for
 *   at most `block` per `attempts` fresh failures (and those count against the attacker's IP);
 * - a success clears the user name's count and gives back the IP's attempt.
 */
export interface LoginLimiter {
  /** Throws TooManyAttempts when the name or the IP is blocked (or its limit is taken by attempts in flight); StoreUnavailable when the store is down. */
  begin(user: string, ip: string): Promise<LoginAttempt>
}

export type LimitScope = 'user' | 'ip'

/** What the gateway audits; `user` is the presented name (cut to 128 characters), never a password. */
export interface LoginLimitEvents {
  /** An attempt refused because of a block (the password was not checked). */
  refused?(event: { scope: LimitScope; user: string; ip: string; retryAfterSeconds: number }): void
  /** A block started (logged by the one process that started it). */
  blockStarted?(event: { scope: LimitScope; user: string; ip: string; until: number }): void
}

/** With `auth.login_limit: false`: every attempt goes ahead, nothing is stored. */
export const UNLIMITED: LoginLimiter = {
  async begin() {
    return NOTHING
  },
}
const NOTHING: LoginAttempt = { failed: async () => {}, succeeded: async () => {}, abandoned: async () => {} }

export interface LoginLimiterOptions {
  readonly events?: LoginLimitEvents | undefined
  /**
   * How long an attempt waits, in real time, while the limit is taken by attempts still in
   * flight (default 5 s): they end in a block (then it is refused unchecked) or in successes
   * (then it goes ahead), so a dozen parallel logins with the right password all succeed.
   */
  readonly inFlightWaitMs?: number | undefined
}

export function createLoginLimiter(settings: LoginLimitConfig, state: SharedState, clock: Clock, options: LoginLimiterOptions = {}): LoginLimiter {
  const { attempts, window, block, per_ip_attempts: perIp } = settings
  const events = options.events ?? {}
  const inFlightWaitMs = options.inFlightWaitMs ?? 5_000

  const refuse = (scope: LimitScope, user: string, ip: string, until: number, now: number): never => {
    const retryAfterSeconds = Math.max(1, Math.ceil((until - now) / 1000))
    events.refused?.({ scope, user: user.slice(0, 128), ip, retryAfterSeconds })
    throw new TooManyAttempts(`Too many failed sign-in attempts. Try again in ${waitText(retryAfterSeconds)}.`, { reason: 'too_many_attempts', retryAfterSeconds })
  }

  /**
   * setIfAbsent: a block, once started, is never moved, however many processes see the limit
   * reached. The process that started it moves the scope to a new generation: later attempts
   * count in a new, empty counter, while attempts already counted in the old one stay counted
   * (so a parallel burst gets exactly `attempts` checks, never fewer). Deleting the count instead
   * cannot tell an attempt counted before the block from one counted after it.
   */
  const startBlock = async (scope: LimitScope, keys: Keys, user: string, ip: string): Promise<void> => {
    const now = clock.now()
    const until = now + block
    const started = await state.setIfAbsent(scope === 'user' ? keys.userBlock : keys.ipBlock, String(until), block, now)
    if (!started) return
    // Outlives every counter of the old generation (each lasts `window` from its first attempt),
    // so when it expires and the scope falls back to generation 0, that counter is long gone.
    await state.set(scope === 'user' ? keys.userGeneration : keys.ipGeneration, String(until), window + block, now)
    events.blockStarted?.({ scope, user: user.slice(0, 128), ip, until })
  }

  /** Refuses when the name or the IP is blocked; otherwise the counters this attempt counts in. */
  const currentCounters = async (user: string, ip: string, keys: Keys, now: number): Promise<{ userCount: string; ipCount: string }> => {
    const [userBlock, ipBlock, userGeneration, ipGeneration] = await Promise.all([
      state.get(keys.userBlock, now),
      state.get(keys.ipBlock, now),
      state.get(keys.userGeneration, now),
      state.get(keys.ipGeneration, now),
    ])
    const userUntil = blockEnd(userBlock, now)
    const ipUntil = blockEnd(ipBlock, now)
    if (userUntil !== null || ipUntil !== null) {
      const scope: LimitScope = (userUntil ?? 0) >= (ipUntil ?? 0) ? 'user' : 'ip'
      refuse(scope, user, ip, Math.max(userUntil ?? 0, ipUntil ?? 0), now)
    }
    return { userCount: `${keys.userCount}:${userGeneration ?? 0}`, ipCount: `${keys.ipCount}:${ipGeneration ?? 0}` }
  }

  /** One try at reserving an attempt: the attempt, a refusal (thrown), or 'busy' when attempts in flight hold the limit. */
  const reserve = async (user: string, ip: string, keys: Keys, busyIsFinal: boolean): Promise<LoginAttempt | 'busy'> => {
    const now = clock.now()
    const counters = await currentCounters(user, ip, keys, now)

    // Counted before the password is checked, so parallel guesses cannot pass the limit. A block
    // started after the check above leaves these counters full (its generation is new), so this
    // increment then finds the limit taken and waits, and its retry is refused by the block.
    // Given back with the start time: a counter that expired meanwhile is not recreated as -1
    // (the stores treat it as still live at `now`; Redis, with native expiry, may start one at -1).
    const giveBack = (key: string) => state.increment(key, window, now, -1)
    const byUser = await state.increment(counters.userCount, window, now)
    if (byUser.count > attempts) {
      await giveBack(counters.userCount)
      if (!busyIsFinal) return 'busy'
      refuse('user', user, ip, now + 1000, now)
    }
    const byIp = await state.increment(counters.ipCount, window, now)
    if (byIp.count > perIp) {
      await Promise.all([giveBack(counters.userCount), giveBack(counters.ipCount)])
      if (!busyIsFinal) return 'busy'
      refuse('ip', user, ip, now + 1000, now)
    }

    let settled = false
    const once = async (work: () => Promise<unknown>): Promise<void> => {
      if (settled) return
      settled = true
      await work()
    }
    return {
      failed: () =>
        once(async () => {
          if (byUser.count >= attempts) await startBlock('user', keys, user, ip)
          if (byIp.count >= perIp) await startBlock('ip', keys, user, ip)
        }),
      succeeded: () => once(() => Promise.all([state.delete(counters.userCount), giveBack(counters.ipCount)])),
      abandoned: () => once(() => Promise.all([giveBack(counters.userCount), giveBack(counters.ipCount)])),
    }
  }

  return {
    async begin(user, ip) {
      const keys = keysFor(user, ip)
      const deadline = performance.now() + inFlightWaitMs
      for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
        const attempt = await reserve(user, ip, keys, performance.now() >= deadline)
        if (attempt !== 'busy') return attempt
        // Jittered, so waiting attempts do not come back all at once.
        await sleep(pause / 2 + Math.random() * pause)
      }
    },
  }
}

interface Keys {
  /** Counter prefixes: the counter in use is `<prefix>:<generation>`. */
  userCount: string
  userBlock: string
  /** The `until` of the scope's last block (absent: generation 0). */
  userGeneration: string
  ipCount: string
  ipBlock: string
  ipGeneration: string
}

/** Names are hashed: any length and any character fits a key, and the store holds no user list. */
function keysFor(user: string, ip: string): Keys {
  const name = createHash('sha256').update(user).digest('base64url').slice(0, 32)
  const client = clientKey(ip)
  return {
    userCount: `login:n:${name}`,
    userBlock: `login:bn:${name}`,
    userGeneration: `login:gn:${name}`,
    ipCount: `login:i:${client}`,
    ipBlock: `login:bi:${client}`,
    ipGeneration: `login:gi:${client}`,
  }
}

function blockEnd(value: string | null, now: number): number | null {
  if (value === null) return null
  const until = Number(value)
  return Number.isFinite(until) && until > now ? until : null
}

/**
 * The client an IP counter belongs to: an IPv4 address (also IPv4-mapped IPv6), or the /64 of an
 * IPv6 address — one subscriber gets a whole /64, so counting single addresses would count nothing.
 */
export function clientKey(ip: string): string {
  // A request whose socket is already gone may come without an address: one shared bucket.
  if (typeof ip !== 'string' || ip === '') return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!
  if (!isIPv6(ip)) return ip.slice(0, 64)
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address (zone dropped, an IPv4 tail read as two groups). */
function expandIPv6(ip: string): string[] {
  let text = ip.split('%')[0]!.toLowerCase()
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const middle = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0')
  return [...left, ...middle, ...right].map((group) => group.replace(/^0+(?=.)/, ''))
}

/** "15 minutes", "1 minute", "40 seconds": for the message people read on the login page. */
function waitText(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`
  const minutes = Math.ceil(seconds / 60)
  return minutes === 1 ? '1 minute' : `${minutes} minutes`
}
