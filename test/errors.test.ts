import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { errorClasses } from '../src/errors.js'
import { REASONS } from '../src/reasons.js'
import { errorResponse } from '../src/error-response.js'

const docs = readFileSync('docs/errors.md', 'utf8')

const rows = [...docs.matchAll(/^\| `(ERR_[A-Z_]+)` \| (\d{3}) \| `(\w+)` \|/gm)].map((m) => ({
  code: m[1]!,
  status: Number(m[2]),
  name: m[3]!,
}))

/** Rows of the "Reasons" table: `| `reason` | status | meaning |` (reasons are lower snake case, codes are not). */
const reasonRows = [...docs.matchAll(/^\| `([a-z][a-z0-9_]*)` \| (\d{3}) \| (.*?) \|$/gm)].map((m) => ({
  reason: m[1]!,
  status: Number(m[2]),
  meaning: m[3]!,
}))

test('docs/errors.md lists exactly the error classes in src/errors.ts, with their status', () => {
  const fromCode = errorClasses.map((c) => ({ code: c.code, status: c.status, name: c.name })).sort((a, b) => a.code.localeCompare(b.code))
  assert.deepEqual([...rows].sort((a, b) => a.code.localeCompare(b.code)), fromCode)
})

test('every error code is unique', () => {
  const codes = errorClasses.map((c) => c.code)
  assert.equal(new Set(codes).size, codes.length)
})

test('docs/errors.md lists exactly the reasons in src/reasons.ts, with their status and meaning', () => {
  const documented = new Map(reasonRows.map((row) => [row.reason, row]))
  assert.equal(documented.size, reasonRows.length, 'a reason is listed twice in docs/errors.md')
  const undocumented = Object.keys(REASONS).filter((reason) => !documented.has(reason))
  const unknown = [...documented.keys()].filter((reason) => !Object.hasOwn(REASONS, reason))
  assert.deepEqual({ undocumented, unknown }, { undocumented: [], unknown: [] }, 'docs/errors.md "Reasons" and REASONS in src/reasons.ts disagree')
  for (const [reason, { status, meaning }] of Object.entries(REASONS)) {
    assert.deepEqual(documented.get(reason), { reason, status, meaning }, `docs/errors.md row for ${reason}`)
  }
})

test('every reason is a lower snake_case name with the status of some error class', () => {
  const statuses = new Set(errorClasses.map((c) => c.status))
  for (const [reason, { status, meaning }] of Object.entries(REASONS)) {
    assert.match(reason, /^[a-z][a-z0-9_]*$/)
    assert.ok(statuses.has(status), `${reason}: no error class answers ${status}`)
    assert.ok(meaning.length > 0 && !meaning.includes('|') && !meaning.includes('\n'), `${reason}: meaning must be one table cell`)
  }
})

test('every reason in REASONS is still produced somewhere in src/ (no stale entries)', () => {
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') && path !== join('src', 'reasons.ts') ? [path] : []
    })
  const text = sources('src').map((file) => readFileSync(file, 'utf8')).join('\n')
  const stale = Object.keys(REASONS).filter((reason) => !text.includes(`'${reason}'`) && !text.includes(`"${reason}"`))
  assert.deepEqual(stale, [], 'reasons listed in src/reasons.ts that no code produces any more')
})

test('every known error maps to its own status, never a 500 unless declared', () => {
  for (const ErrorClass of errorClasses as unknown as (new (...args: any[]) => Error)[]) {
    const error = ErrorClass.name === 'ConfigInvalid' ? new ErrorClass(['x: y']) : new ErrorClass('message')
    const { status, body } = errorResponse(error)
    assert.equal(status, (ErrorClass as unknown as { status: number }).status)
    assert.equal(body.code, (ErrorClass as unknown as { code: string }).code)
  }
})

test('an unknown error becomes a generic 500 that leaks nothing', () => {
  const { status, body } = errorResponse(new Error('db password is hunter2'))
  assert.equal(status, 500)
  assert.ok(!JSON.stringify(body).includes('hunter2'))
})
