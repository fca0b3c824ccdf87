import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { verifyPassword } from '../../src/auth/password.js'
import { runCli } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'))
after(() => rmSync(dir, { recursive: true, force: true }))

describe('gatehouse CLI', () => {
  test('check-config on an invalid file prints every problem with its key path and exits 2, without a stack trace', async () => {
    const result = await runCli(['check-config', '-c', 'test/fixtures/config/invalid/bad-durations.yaml'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /session\.idle_timeout: expected a duration like "30m", got "soon"/)
    assert.match(result.stderr, /session\.cleanup_interval: must be at least 10s/)
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  })

  test('start refuses to start on the same errors with the same messages (exit 2)', async () => {
    const check = await runCli(['check-config', '-c', 'test/fixtures/config/invalid/short-secret.yaml'])
    const start = await runCli(['start', '-c', 'test/fixtures/config/invalid/short-secret.yaml'])
    assert.equal(start.code, 2)
    assert.match(start.stderr, /secrets\[0\]: must be at least 32 bytes long/)
    assert.equal(start.stderr, check.stderr)
  })

  test('start finds its file through $GATEHOUSE_CONFIG', async () => {
    const result = await runCli(['start'], { env: { GATEHOUSE_CONFIG: 'test/fixtures/config/invalid/missing-secret.yaml' } })
    assert.equal(result.code, 2)
    assert.match(result.stderr, /missing-secret\.yaml/)
    assert.match(result.stderr, /secrets: required/)
  })

  test('a missing file is a clear error with exit 2', async () => {
    const result = await runCli(['check-config', '-c', join(dir, 'nope.yaml')])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /cannot read .*nope\.yaml: file not found/)
  })

  test('check-config on a valid file exits 0', async () => {
    const file = join(dir, 'ok.yaml')
    writeFileSync(file, `upstream: http://127.0.0.1:1\nsecrets: ["${'k'.repeat(32)}"]\nsession: { storage: sqlite, sqlite: { path: ${JSON.stringify(join(dir, 's.db'))} } }\n`)
    const result = await runCli(['check-config', '-c', file])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /configuration OK/)
  })

  test('a users entry with an unusable hash is reported with its key path', async () => {
    const file = join(dir, 'users.yaml')
    writeFileSync(file, `upstream: http://127.0.0.1:1\nsecrets: ["${'k'.repeat(32)}"]\nsession: { storage: memory }\nusers:\n  - { username: a, password_hash: plaintext }\n`)
    const result = await runCli(['check-config', '-c', file])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /users\[0\]\.password_hash: not an argon2id, scrypt or bcrypt hash/)
  })

  test('hash-password reads stdin and prints a verifiable argon2id hash (or scrypt)', async () => {
    const argon = await runCli(['hash-password'], { stdin: 's3cret pass\n' })
    assert.equal(argon.code, 0)
    assert.match(argon.stdout, /^\$argon2id\$/)
    assert.ok(await verifyPassword(argon.stdout.trim(), 's3cret pass'))
    const scrypt = await runCli(['hash-password', '--scrypt'], { stdin: 'other' })
    assert.match(scrypt.stdout, /^\$scrypt\$/)
    assert.ok(await verifyPassword(scrypt.stdout.trim(), 'other'))
    assert.equal(await verifyPassword(scrypt.stdout.trim(), 'wrong'), false)
  })

  test('unknown commands and flags are usage errors (exit 2)', async () => {
    assert.equal((await runCli(['frobnicate'])).code, 2)
    assert.equal((await runCli(['start', '--nope'])).code, 2)
  })
})

describe('gatehouse sessions', () => {
  test('list and revoke operate on the configured store', async () => {
    const { startTestGateway, login, ALICE, BOB, SECRET } = await import('../helpers/gateway.js')
    const db = join(dir, 'sessions-cli.db')
    const gw = await startTestGateway({ session: { storage: 'sqlite', sqlite: { path: db } } })
    try {
      await login(gw.url, ALICE.username, ALICE.password)
      await login(gw.url, ALICE.username, ALICE.password)
      await login(gw.url, BOB.username, BOB.password)
    } finally {
      await gw.close()
    }
    const file = join(dir, 'sessions-cli.yaml')
    writeFileSync(file, `upstream: http://127.0.0.1:1\nsecrets: ["${SECRET}"]\nsession: { storage: sqlite, sqlite: { path: ${JSON.stringify(db)} } }\n`)
    const listed = await runCli(['sessions', 'list', '-c', file])
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /3 sessions/)
    assert.match((await runCli(['sessions', 'list', '--user', 'bob', '-c', file])).stdout, /1 session\n/)
    assert.equal((await runCli(['sessions', 'revoke', '-c', file])).code, 2, 'revoke needs --user or --all')
    assert.match((await runCli(['sessions', 'revoke', '--user', 'alice', '-c', file])).stdout, /revoked 2 sessions/)
    assert.match((await runCli(['sessions', 'revoke', '--all', '-c', file])).stdout, /revoked 1 session\n/)
    assert.match((await runCli(['sessions', 'list', '-c', file])).stdout, /0 sessions/)
  })
})

describe('check-config checks authenticator keys', () => {
  test('an unreadable auth.jwt.public_key_file is reported with its key path (exit 2)', async () => {
    const file = join(dir, 'jwt-missing-key.yaml')
    writeFileSync(file, `upstream: http://127.0.0.1:1\nsecrets: ["${'k'.repeat(32)}"]\nsession: { storage: memory }\nauth: { jwt: { public_key_file: ${JSON.stringify(join(dir, 'absent.pem'))} } }\n`)
    const result = await runCli(['check-config', '-c', file])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /auth\.jwt\.public_key_file: cannot read/)
  })
})
