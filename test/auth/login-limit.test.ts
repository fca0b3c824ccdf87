import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { clientKey, createLoginLimiter, type LoginLimiter, type LoginLimitEvents } from '../../src/auth/login-limit.js'
import { ManualClock } from '../../src/clock.js'
import { StoreUnavailable, TooManyAttempts } from '../../src/errors.js'
import { createMemorySharedState } from '../../src/state/memory.js'
import type { SharedState } from '../../src/state/shared-state.js'
import { createSqliteSharedState } from '../../src/state/sqlite.js'
import { createPostgresSharedState } from '../../src/state/postgres.js'
import { createRedisSharedState } from '../../src/state/redis.js'
import { DATABASE_URL, dropPostgresTable, dropRedisPrefix, postgresSkip, REDIS_URL, redisSkip } from '../helpers/services.js'

const MINUTE = 60_000
const SETTINGS = { attempts: 5, window: 15 * MINUTE, block: 15 * MINUTE, per_ip_attempts: 100 }

function setup(settings: Partial<typeof SETTINGS> = {}, state: SharedState = createMemorySharedState()) {
  const clock = new ManualClock()
  const refused: Parameters<NonNullable<LoginLimitEvents['refused']>>[0][] = []
  const started: Parameters<NonNullable<LoginLimitEvents['blockStarted']>>[0][] = []
  const limiter = createLoginLimiter({ ...SETTINGS, ...settings }, state, clock, {
    events: { refused: (e) => refused.push(e), blockStarted: (e) => started.push(e) },
    inFlightWaitMs: 300,
  })
  return { clock, limiter, refused, started, state }
}

/** A login as the gateway does one: begin (may refuse), then the password check, then the outcome. */
async function tryLogin(limiter: LoginLimiter, user: string, ip: string, passwordRight: boolean, checks?: { count: number }): Promise<'ok' | 'wrong' | TooManyAttempts> {
  let attempt
  try {
    attempt = await limiter.begin(user, ip)
  } catch (error) {
    if (error instanceof TooManyAttempts) return error
    throw error
  }
  if (checks) checks.count++
  if (passwordRight) return (await attempt.succeeded(), 'ok')
  return (await attempt.failed(), 'wrong')
}

describe('login limiter (auth.login_limit), on a fake clock', () => {
  test('5 failures of one name start a block; the 6th attempt is refused with Retry-After = block, without a password check', async () => {
    const { limiter, refused, started } = setup()
    const checks = { count: 0 }
    for (let i = 0; i < 5; i++) assert.equal(await tryLogin(limiter, 'alice', '10.0.0.1', false, checks), 'wrong')
    assert.equal(started.length, 1)
    assert.deepEqual({ scope: started[0]!.scope, user: started[0]!.user }, { scope: 'user', user: 'alice' })
    const blocked = await tryLogin(limiter, 'alice', '10.0.0.2', true, checks)
    assert.ok(blocked instanceof TooManyAttempts)
    assert.equal(blocked.status, 429)
    assert.equal(blocked.reason, 'too_many_attempts')
    assert.equal(blocked.retryAfterSeconds, 15 * 60)
    assert.match(blocked.message, /Try again in 15 minutes/)
    assert.equal(checks.count, 5, 'the blocked attempt never reached the password check, even from another IP and with the right password')
    assert.deepEqual(refused.map((e) => e.scope), ['user'])
    // Another name is not affected.
    assert.equal(await tryLogin(limiter, 'bob', '10.0.0.1', true), 'ok')
  })

  test('an attempt counted before a block started keeps its password check, however late it goes on (a burst gets exactly `attempts` checks)', async () => {
    // Regression: the first attempt was held after its name was counted; the other four failed
    // and started the block meanwhile; the late attempt was then refused, although it was one of
    // the five counted (a parallel burst on PostgreSQL got 4 checks instead of 5).
    const inner = createMemorySharedState()
    let release!: () => void
    const blockStarted = new Promise<void>((resolve) => (release = resolve))
    let held = false
    const state: SharedState = {
      ...inner,
      increment: async (key, ttl, now, by) => {
        if (!held && key.startsWith('login:i:') && (by ?? 1) > 0) {
          held = true
          await blockStarted
        }
        return inner.increment(key, ttl, now, by)
      },
      setIfAbsent: async (key, value, ttl, now) => {
        const stored = await inner.setIfAbsent(key, value, ttl, now)
        if (key.startsWith('login:bn:')) release()
        return stored
      },
    }
    const { limiter, started } = setup({}, state)
    const checks = { count: 0 }
    const late = tryLogin(limiter, 'frank', '10.0.0.9', false, checks)
    while (!held) await new Promise((resolve) => setImmediate(resolve))
    // Four more failures: with the held one, five counted; the fifth to fail starts the block.
    const others = await Promise.all(Array.from({ length: 4 }, () => tryLogin(limiter, 'frank', '10.0.0.9', false, checks)))
    assert.deepEqual(others, ['wrong', 'wrong', 'wrong', 'wrong'])
    assert.equal(await late, 'wrong')
    assert.equal(checks.count, 5)
    assert.equal(started.length, 1)
    assert.ok((await tryLogin(limiter, 'frank', '10.0.0.10', true, checks)) instanceof TooManyAttempts)
    assert.equal(checks.count, 5)
  })

  test('a block lasts exactly `block` from its start: guesses during it do not extend it; afterwards the count starts from zero', async () => {
    const { limiter, clock, started } = setup()
    for (let i = 0; i < 5; i++) await tryLogin(limiter, 'alice', '10.0.0.1', false)
    for (let minute = 1; minute < 15; minute++) {
      clock.advance(MINUTE)
      const refused = await tryLogin(limiter, 'alice', '10.0.0.1', false)
      assert.ok(refused instanceof TooManyAttempts, `minute ${minute}`)
      assert.equal(refused.retryAfterSeconds, (15 - minute) * 60, 'Retry-After counts down to the same end')
    }
    clock.advance(MINUTE)
    assert.equal(await tryLogin(limiter, 'alice', '10.0.0.1', true), 'ok', 'the victim gets in the moment the block ends')
    assert.equal(started.length, 1, 'one block, never restarted by the refused guesses')
    // A fresh block needs `attempts` fresh failures.
    for (let i = 0; i < 4; i++) assert.equal(await tryLogin(limiter, 'alice', '10.0.0.1', false), 'wrong')
    assert.equal(await tryLogin(limiter, 'alice', '10.0.0.1', false), 'wrong')
    assert.ok((await tryLogin(limiter, 'alice', '10.0.0.1', true)) instanceof TooManyAttempts)
  })

  test('a success resets the name\'s count', async () => {
    const { limiter } = setup()
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) assert.equal(await tryLogin(limiter, 'alice', '10.0.0.1', false), 'wrong')
      assert.equal(await tryLogin(limiter, 'alice', '10.0.0.1', true), 'ok', `round ${round}`)
    }
  })

  test('failures older than `window` no longer count (fixed window from the first failure)', async () => {
    const { limiter, clock } = setup({ window: 10 * MINUTE })
    for (let i = 0; i < 4; i++) await tryLogin(limiter, 'alice', '10.0.0.1', false)
    clock.advance(10 * MINUTE)
    for (let i = 0; i < 4; i++) assert.equal(await tryLogin(limiter, 'alice', '10.0.0.1', false), 'wrong')
    assert.equal(await tryLogin(limiter, 'alice', '10.0.0.1', true), 'ok')
  })

  test('per client IP: failures over many names from one IP block that IP (every name), not others', async () => {
    const { limiter, started } = setup({ per_ip_attempts: 10 })
    for (let i = 0; i < 10; i++) assert.equal(await tryLogin(limiter, `user${i}`, '203.0.113.9', false), 'wrong')
    assert.equal(started.at(-1)!.scope, 'ip')
    const refused = await tryLogin(limiter, 'alice', '203.0.113.9', true)
    assert.ok(refused instanceof TooManyAttempts)
    assert.equal(await tryLogin(limiter, 'alice', '203.0.113.10', true), 'ok', 'another IP is not blocked')
  })

  test('successes do not use up the IP\'s budget', async () => {
    const { limiter } = setup({ per_ip_attempts: 3 })
    for (let i = 0; i < 20; i++) assert.equal(await tryLogin(limiter, `user${i}`, '198.51.100.1', true), 'ok')
    for (let i = 0; i < 2; i++) assert.equal(await tryLogin(limiter, `x${i}`, '198.51.100.1', false), 'wrong')
    assert.equal(await tryLogin(limiter, 'alice', '198.51.100.1', true), 'ok')
  })

  test('an abandoned attempt (the checking service was down) is given back', async () => {
    const { limiter } = setup({ attempts: 2 })
    for (let i = 0; i < 10; i++) await (await limiter.begin('alice', '10.0.0.1')).abandoned()
    assert.equal(await tryLogin(limiter, 'alice', '10.0.0.1', false), 'wrong')
    assert.equal(await tryLogin(limiter, 'alice', '10.0.0.1', true), 'ok')
  })

  test('a burst of 50 parallel wrong guesses: at most `attempts` password checks, every other one refused unchecked', async () => {
    const { limiter } = setup()
    const checks = { count: 0 }
    const slowWrong = async () => {
      let attempt
      try {
        attempt = await limiter.begin('alice', '10.0.0.1')
      } catch (error) {
        assert.ok(error instanceof TooManyAttempts)
        return 'refused'
      }
      checks.count++
      await new Promise((resolve) => setTimeout(resolve, 20)) // a password hash takes a while
      await attempt.failed()
      return 'wrong'
    }
    const results = await Promise.all(Array.from({ length: 50 }, slowWrong))
    assert.equal(checks.count, 5)
    assert.equal(results.filter((r) => r === 'refused').length, 45)
  })

  test('12 parallel logins with the right password all succeed (attempts in flight are waited for, not refused)', async () => {
    const { limiter } = setup()
    const slowRight = async () => {
      const attempt = await limiter.begin('alice', '10.0.0.1')
      await new Promise((resolve) => setTimeout(resolve, 10))
      await attempt.succeeded()
      return 'ok'
    }
    assert.deepEqual(await Promise.all(Array.from({ length: 12 }, slowRight)), Array(12).fill('ok'))
  })

  test('names of any length and characters are counted (hashed keys); the audit name is cut to 128 characters', async () => {
    const { limiter, started } = setup({ attempts: 1 })
    const long = 'ü'.repeat(1000)
    await tryLogin(limiter, long, '10.0.0.1', false)
    assert.ok((await tryLogin(limiter, long, '10.0.0.1', true)) instanceof TooManyAttempts)
    assert.equal(started[0]!.user.length, 128)
    assert.equal(await tryLogin(limiter, long.slice(1), '10.0.0.1', true), 'ok')
  })

  test('the store unreachable: StoreUnavailable (503), never an unchecked pass', async () => {
    const broken = createMemorySharedState()
    broken.get = async () => {
      throw new StoreUnavailable('down')
    }
    const { limiter } = setup({}, broken)
    await assert.rejects(limiter.begin('alice', '10.0.0.1'), StoreUnavailable)
  })

  test('two limiters on one SQLite file (two processes) see the same counts and blocks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-limit-'))
    after(() => rmSync(dir, { recursive: true, force: true }))
    const a = setup({}, createSqliteSharedState(join(dir, 's.db')))
    const b = setup({}, createSqliteSharedState(join(dir, 's.db')))
    try {
      for (let i = 0; i < 5; i++) await tryLogin(i % 2 ? a.limiter : b.limiter, 'alice', '10.0.0.1', false)
      assert.ok((await tryLogin(a.limiter, 'alice', '10.0.0.1', true)) instanceof TooManyAttempts)
      assert.ok((await tryLogin(b.limiter, 'alice', '10.0.0.1', true)) instanceof TooManyAttempts)
      assert.equal(a.started.length + b.started.length, 1, 'the block started once')
    } finally {
      await a.state.close()
      await b.state.close()
    }
  })
})

describe('clientKey: what an IP counter belongs to', () => {
  const cases: [string, string][] = [
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::99', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ]
  for (const [ip, key] of cases) test(`${ip} → ${key}`, () => assert.equal(clientKey(ip), key))
})

describe('login limiter on the network stores (two connections = two gateway processes)', () => {
  const suffix = randomUUID().slice(0, 8)
  const backends = [
    {
      name: 'redis',
      skip: redisSkip,
      open: () => createRedisSharedState({ url: REDIS_URL, prefix: `gh-limit-${suffix}:` }),
      cleanUp: () => dropRedisPrefix(REDIS_URL, `gh-limit-${suffix}:`),
    },
    {
      name: 'postgres',
      skip: postgresSkip,
      open: () => createPostgresSharedState({ url: DATABASE_URL, table: `gh_limit_${suffix}` }),
      cleanUp: () => dropPostgresTable(DATABASE_URL, `gh_limit_${suffix}_state`),
    },
  ]
  for (const backend of backends) {
    describe(backend.name, async () => {
      const skip = await backend.skip()
      test('failures through either connection count together; one block; a success resets; a parallel burst gets `attempts` checks', { skip }, async () => {
        const [stateA, stateB] = [await backend.open(), await backend.open()]
        try {
          const a = setup({}, stateA)
          const b = setup({}, stateB)
          b.clock.advance(a.clock.now() - b.clock.now())
          for (let i = 0; i < 4; i++) assert.equal(await tryLogin(i % 2 ? a.limiter : b.limiter, 'carol', '10.1.0.1', false), 'wrong')
          assert.equal(await tryLogin(a.limiter, 'carol', '10.1.0.1', true), 'ok')
          for (let i = 0; i < 5; i++) assert.equal(await tryLogin(i % 2 ? a.limiter : b.limiter, 'dave', '10.1.0.2', false), 'wrong')
          assert.ok((await tryLogin(a.limiter, 'dave', '10.1.0.3', true)) instanceof TooManyAttempts)
          assert.ok((await tryLogin(b.limiter, 'dave', '10.1.0.3', true)) instanceof TooManyAttempts)
          assert.equal(a.started.length + b.started.length, 1)
          const checks = { count: 0 }
          await Promise.all(Array.from({ length: 30 }, (_, i) => tryLogin(i % 2 ? a.limiter : b.limiter, 'erin', '10.1.0.4', false, checks)))
          assert.equal(checks.count, 5)
        } finally {
          await stateA.close()
          await stateB.close()
          await backend.cleanUp()
        }
      })
    })
  }
})
