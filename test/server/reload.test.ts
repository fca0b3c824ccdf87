import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseConfig } from '../../src/config/load.js'
import { ConfigInvalid } from '../../src/errors.js'
import { collectProblems, holdSighup, keepRestartSettings } from '../../src/server/reload.js'

const SECRET = 'test-secret-0123456789abcdef0123456789abcdef'
const config = (extra: Record<string, unknown> = {}) => parseConfig({ upstream: 'http://127.0.0.1:9', secrets: [SECRET], ...extra }, {})

describe('reload', () => {
  test('settings that need a restart keep the running value and are named; the rest is the new config', () => {
    const running = config({ listen: '127.0.0.1:4180', session: { storage: 'sqlite', idle_timeout: '1h' } })
    const next = config({ listen: '0.0.0.0:8080', workers: 2, secrets: [`${SECRET}-new`], session: { storage: 'redis', redis: { url: 'redis://x' }, idle_timeout: '2h' }, routes: [{ path: '/a' }] })
    const { config: applied, needsRestart } = keepRestartSettings(running, next)
    assert.deepEqual(needsRestart.sort(), ['listen', 'secrets', 'session.redis', 'session.storage', 'workers'])
    assert.deepEqual(applied.listen, running.listen)
    assert.equal(applied.workers, 1)
    assert.deepEqual(applied.secrets, running.secrets)
    assert.equal(applied.session.storage, 'sqlite')
    assert.equal(applied.session.idle_timeout, 2 * 3_600_000, 'session settings that can change live do')
    assert.equal(applied.routes.length, 1)
    assert.deepEqual(keepRestartSettings(running, running).needsRestart, [])
  })

  test('turning TLS on or off needs a restart; new TLS files do not', () => {
    const plain = config()
    const tls = config({ tls: { cert_file: 'a.crt', key_file: 'a.key' } })
    assert.deepEqual(keepRestartSettings(plain, tls).needsRestart, ['tls'])
    assert.equal(keepRestartSettings(plain, tls).config.tls, undefined)
    assert.deepEqual(keepRestartSettings(tls, config({ tls: { cert_file: 'b.crt', key_file: 'b.key' } })).needsRestart, [])
  })

  test('collectProblems runs every step and reports all their problems together', async () => {
    let ran = 0
    await assert.rejects(
      collectProblems([() => (ran++, Promise.reject(new ConfigInvalid(['a: bad']))), () => ran++, async () => (ran++, await Promise.reject(new ConfigInvalid(['b: bad', 'c: bad'])))] as const),
      (error: unknown) => error instanceof ConfigInvalid && error.problems.join() === 'a: bad,b: bad,c: bad',
    )
    assert.equal(ran, 3)
    assert.deepEqual(await collectProblems([() => 1, async () => 'two'] as const), [1, 'two'])
    await assert.rejects(collectProblems([() => { throw new TypeError('bug') }, () => Promise.reject(new ConfigInvalid(['x']))] as const), TypeError)
  })

  test('holdSighup: a SIGHUP during start-up is delivered once the handler is installed', () => {
    const held = holdSighup()
    process.emit('SIGHUP', 'SIGHUP')
    process.emit('SIGHUP', 'SIGHUP')
    let calls = 0
    const handler = () => calls++
    process.on('SIGHUP', handler)
    held.release()
    process.off('SIGHUP', handler)
    assert.equal(calls, 1)
    const quiet = holdSighup()
    process.on('SIGHUP', handler)
    quiet.release()
    process.off('SIGHUP', handler)
    assert.equal(calls, 1, 'none held: none delivered')
  })
})
