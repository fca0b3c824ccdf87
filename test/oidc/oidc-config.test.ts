import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { readClientSecrets } from '../../src/oidc/index.js'
import { parseConfig, parseConfigText } from '../../src/config/load.js'
import { ConfigInvalid } from '../../src/errors.js'
import { SECRET } from '../helpers/gateway.js'

const base = { upstream: 'http://127.0.0.1:9', secrets: [SECRET] }
const provider = { name: 'keycloak', issuer: 'https://sso.example.com/realms/main', client_id: 'gatehouse', client_secret: 'shh' }

function problems(oidc: unknown): string[] {
  try {
    parseConfig({ ...base, auth: { oidc } }, {})
  } catch (error) {
    assert.ok(error instanceof ConfigInvalid)
    return [...error.problems]
  }
  assert.fail('expected the configuration to be rejected')
}

describe('auth.oidc configuration', () => {
  test('defaults come from the schema', () => {
    const [parsed] = parseConfig({ ...base, auth: { oidc: [provider] } }, {}).auth.oidc
    assert.deepEqual(
      { scopes: parsed!.scopes, user_claim: parsed!.user_claim, roles_claim: parsed!.roles_claim, email_claim: parsed!.email_claim, refresh: parsed!.refresh, pass_access_token: parsed!.pass_access_token, end_session: parsed!.end_session },
      { scopes: ['openid', 'profile', 'email'], user_claim: undefined, roles_claim: 'groups', email_claim: 'email', refresh: true, pass_access_token: false, end_session: true },
    )
    assert.deepEqual(parseConfig(base, {}).auth.oidc, [])
  })

  test('every mistake is reported with its key path', () => {
    const found = problems([
      { ...provider, name: 'Key Cloak/1', typo: true },
      { ...provider, client_secret: undefined },
      { ...provider, name: 'google', client_secret_file: '/run/secrets/x', roles_claim: 'a..b', scopes: ['profile'] },
      { ...provider, name: 'google', issuer: 'ftp://x' },
    ])
    const expectations = [
      /^auth\.oidc\[0\]\.name: expected a URL-safe name/,
      /^auth\.oidc\[0\]\.typo: unknown key/,
      /^auth\.oidc\[1\]\.client_secret: set exactly one of client_secret, client_secret_file/,
      /^auth\.oidc\[2\]\.client_secret: set exactly one of/,
      /^auth\.oidc\[2\]\.roles_claim: expected a claim name or a dotted path/,
      /^auth\.oidc\[2\]\.scopes: must include "openid"/,
      /^auth\.oidc\[3\]\.issuer: expected an http:\/\/ or https:\/\/ URL/,
    ]
    for (const expected of expectations) assert.ok(found.some((line) => expected.test(line)), `${expected} in:\n${found.join('\n')}`)
  })

  test('provider names must be unique', () => {
    const found = problems([provider, { ...provider }])
    assert.ok(found.some((line) => line === 'auth.oidc[1].name: "keycloak" is used by another provider'), found.join('\n'))
  })

  test('client_secret_file is read at startup; unreadable or empty is a config error with its key path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-oidc-'))
    writeFileSync(join(dir, 'secret'), '  from-file\n')
    writeFileSync(join(dir, 'empty'), '\n')
    const config = (files: string[]) =>
      parseConfig({ ...base, auth: { oidc: files.map((file, i) => ({ ...provider, name: `p${i}`, client_secret: undefined, client_secret_file: file })) } }, {})
    assert.equal((await readClientSecrets(config([join(dir, 'secret')]))).get('p0'), 'from-file')
    await assert.rejects(readClientSecrets(config([join(dir, 'secret'), join(dir, 'missing'), join(dir, 'empty')])), (error: unknown) => {
      assert.ok(error instanceof ConfigInvalid)
      assert.deepEqual([...error.problems].sort(), [`auth.oidc[1].client_secret_file: cannot read ${join(dir, 'missing')} (ENOENT)`, `auth.oidc[2].client_secret_file: ${join(dir, 'empty')} is empty`])
      return true
    })
  })

  test('examples/gatehouse.yaml shows every provider key, and its commented example is valid', () => {
    const lines = readFileSync('examples/gatehouse.yaml', 'utf8').split('\n')
    const start = lines.indexOf('  # oidc:')
    const block: string[] = []
    for (const line of lines.slice(start)) {
      if (!line.startsWith('  #')) break
      block.push(line.replace(/^  # ?/, '  ').replace(/\s+# .*$/, ''))
    }
    const config = parseConfigText(`upstream: http://127.0.0.1:9\nsecrets: ["${SECRET}"]\nauth:\n${block.join('\n')}\n`, {})
    const [example] = config.auth.oidc
    assert.equal(example!.name, 'keycloak')
    const shown = new Set(block.flatMap((line) => /^\s+(?:- )?([a-z_]+):/.exec(line)?.[1] ?? []))
    const keys = ['name', 'issuer', 'client_id', 'client_secret_file', 'scopes', 'user_claim', 'roles_claim', 'email_claim', 'allowed_roles', 'refresh', 'pass_access_token', 'end_session']
    assert.deepEqual(keys.filter((key) => !shown.has(key)), [])
    assert.match(block.join('\n') + lines.join('\n'), /client_secret: \$\{OIDC_SECRET\}/)
  })
})
