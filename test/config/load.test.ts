import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { loadConfigFile, parseConfig } from '../../src/config/load.js'
import { ConfigInvalid } from '../../src/errors.js'

const invalidDir = 'test/fixtures/config/invalid'
const validDir = 'test/fixtures/config/valid'

function problemsOf(fn: () => unknown): string[] {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof ConfigInvalid, `expected ConfigInvalid, got ${error}`)
    return [...error.problems]
  }
  assert.fail('expected the configuration to be rejected')
}

describe('invalid configurations report every problem with its key path', () => {
  for (const file of readdirSync(invalidDir).filter((f) => f.endsWith('.yaml'))) {
    test(file, () => {
      const expected = readFileSync(join(invalidDir, file.replace('.yaml', '.expected.txt')), 'utf8').trim().split('\n')
      const problems = problemsOf(() => loadConfigFile(join(invalidDir, file), {}))
      if (expected.length === 1 && expected[0]!.endsWith(':')) {
        assert.ok(problems[0]!.startsWith(expected[0]!), problems.join('\n'))
      } else {
        assert.deepEqual(problems, expected)
      }
    })
  }
})

describe('valid configurations load', () => {
  for (const file of readdirSync(validDir).filter((f) => f.endsWith('.yaml'))) {
    test(file, () => {
      const config = loadConfigFile(join(validDir, file), {})
      assert.ok(Object.isFrozen(config) && Object.isFrozen(config.session), 'the result is deep-frozen')
    })
  }

  test('examples/gatehouse.yaml (the reference config) loads with its documented defaults', () => {
    const config = loadConfigFile('examples/gatehouse.yaml', { GATEHOUSE_SECRET: 'x'.repeat(40) })
    assert.equal(config.session.idle_timeout, 8 * 3600_000)
    assert.equal(config.session.lifespan, 30 * 86_400_000)
    assert.deepEqual(config.auth.login_limit, { attempts: 5, window: 15 * 60_000, block: 15 * 60_000, per_ip_attempts: 100 })
  })

  test('examples/gatehouse.yaml ships no usable credential (it once had an admin with its password in a comment)', () => {
    const text = readFileSync('examples/gatehouse.yaml', 'utf8')
    const config = loadConfigFile('examples/gatehouse.yaml', { GATEHOUSE_SECRET: 'x'.repeat(40) })
    assert.ok(Array.isArray(config.users))
    for (const user of config.users as { username: string; password_hash?: string }[]) assert.equal(user.password_hash, undefined, user.username)
    assert.equal(config.admin.token, undefined)
    assert.doesNotMatch(text, /\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{20,}/, 'no real hash, even commented out')
    assert.doesNotMatch(text, /password:\s*\S/i, 'no password in a comment')
    assert.match(text, /gatehouse hash-password/)
  })
})

describe('defaults and substitution', () => {
  const base = { upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)] }

  test('secure defaults: sqlite storage, HttpOnly cookie named gatehouse_session, Secure, SameSite=Strict, 8h idle, 30d lifespan, 1h cleanup', () => {
    const config = parseConfig(base, {})
    assert.equal(config.session.storage, 'sqlite')
    assert.deepEqual(config.session.cookie, { name: 'gatehouse_session', path: '/', secure: true, same_site: 'strict' })
    assert.equal(config.session.idle_timeout, 8 * 3600_000)
    assert.equal(config.session.rolling_timeout, 3600_000)
    assert.equal(config.session.lifespan, 30 * 86_400_000)
    assert.equal(config.session.cleanup_interval, 3600_000)
    assert.equal(config.endpoints.prefix, '/_gatehouse')
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 4180 })
  })

  test('${VAR} and ${VAR:-default} are substituted inside values only, and $${ escapes', () => {
    const config = parseConfig({ ...base, upstream: '${UP}', session: { sqlite: { path: '${DIR:-/var/lib}/s.db' }, cookie: { domain: 'a$${b}' } } }, { UP: 'http://up:9' })
    assert.equal(config.upstream!.url, 'http://up:9')
    assert.equal(config.session.sqlite.path, '/var/lib/s.db')
    assert.equal(config.session.cookie.domain, 'a${b}')
  })

  test('a substituted value cannot inject YAML structure', () => {
    const config = parseConfig({ ...base, session: { cookie: { domain: '${D}' } } }, { D: 'x\nsecure: false' })
    assert.equal(config.session.cookie.secure, true)
  })

  test('durations: units, plain seconds, and 0/false disable timeouts', () => {
    const config = parseConfig({ ...base, session: { idle_timeout: '1w', lifespan: 0, rolling_timeout: false, cleanup_interval: 90 } }, {})
    assert.equal(config.session.idle_timeout, 7 * 86_400_000)
    assert.equal(config.session.lifespan, null)
    assert.equal(config.session.rolling_timeout, null)
    assert.equal(config.session.cleanup_interval, 90_000)
  })

  test('cookie storage with max_sessions is a config error, not a runtime surprise', () => {
    const problems = problemsOf(() => parseConfig({ ...base, session: { storage: 'cookie', max_sessions: 3 } }, {}))
    assert.deepEqual(problems, ['session.max_sessions: cannot be enforced with storage "cookie" (no server-side record); use a server-side store'])
  })

  test('same_site none without secure is rejected', () => {
    const problems = problemsOf(() => parseConfig({ ...base, session: { cookie: { same_site: 'none', secure: false } } }, {}))
    assert.match(problems[0]!, /^session\.cookie\.same_site: /)
  })
})
