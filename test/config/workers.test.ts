import assert from 'node:assert/strict'
import { availableParallelism } from 'node:os'
import { describe, test } from 'node:test'
import { parseConfig } from '../../src/config/load.js'
import { ConfigInvalid } from '../../src/errors.js'
import { workerCount } from '../../src/cluster/count.js'
import { runCli } from '../helpers/cli.js'

const base = { upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)] }
const MEMORY_ERROR = 'workers: memory storage keeps sessions in one process; use sqlite, redis, postgres or cookie with more than one worker'

function problemsOf(document: Record<string, unknown>): string[] {
  try {
    parseConfig(document, {})
  } catch (error) {
    assert.ok(error instanceof ConfigInvalid, `expected ConfigInvalid, got ${error}`)
    return [...error.problems]
  }
  assert.fail('expected the configuration to be rejected')
}

describe('workers', () => {
  test('defaults to 1 (one process, as before)', () => {
    assert.equal(parseConfig(base, {}).workers, 1)
    assert.equal(workerCount(parseConfig(base, {}).workers), 1)
  })

  test('a positive integer, a digit string from ${VAR}, or auto (one per core)', () => {
    assert.equal(parseConfig({ ...base, workers: 3 }, {}).workers, 3)
    assert.equal(parseConfig({ ...base, workers: '${W:-2}' }, {}).workers, 2)
    assert.equal(parseConfig({ ...base, workers: 'auto' }, {}).workers, 'auto')
    assert.equal(workerCount('auto'), availableParallelism())
    assert.equal(workerCount(3), 3)
  })

  test('anything else is refused with its key path', () => {
    assert.deepEqual(problemsOf({ ...base, workers: 0 }), ['workers: must be at least 1 (or "auto")'])
    assert.deepEqual(problemsOf({ ...base, workers: 2000 }), ['workers: must be at most 1024'])
    for (const bad of [1.5, 'many', true, null]) assert.deepEqual(problemsOf({ ...base, workers: bad }), ['workers: expected a number of workers (1 or more) or "auto"'], String(bad))
  })

  test('memory storage with more than one worker (or auto) is a config error naming workers', () => {
    assert.deepEqual(problemsOf({ ...base, workers: 2, session: { storage: 'memory' } }), [MEMORY_ERROR])
    // Whether a file is valid must not depend on the machine it is checked on.
    assert.deepEqual(problemsOf({ ...base, workers: 'auto', session: { storage: 'memory' } }), [MEMORY_ERROR])
    assert.equal(parseConfig({ ...base, workers: 1, session: { storage: 'memory' } }, {}).workers, 1)
    for (const storage of ['sqlite', 'redis', 'postgres', 'cookie']) {
      assert.equal(parseConfig({ ...base, workers: 2, session: { storage } }, {}).workers, 2, storage)
    }
  })

  test('check-config and start exit 2 on it, naming the key', async () => {
    const file = 'test/fixtures/config/invalid/workers-memory.yaml'
    for (const command of ['check-config', 'start']) {
      const result = await runCli([command, '-c', file])
      assert.equal(result.code, 2, `${command}: ${result.stderr}`)
      assert.match(result.stderr, /workers: memory storage keeps sessions in one process/)
    }
  })
})
