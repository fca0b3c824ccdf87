import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { errorClasses } from '../src/errors.js'
import { errorResponse } from '../src/server/error-handler.js'

const rows = [...readFileSync('docs/errors.md', 'utf8').matchAll(/^\| `(ERR_[A-Z_]+)` \| (\d{3}) \| `(\w+)` \|/gm)].map((m) => ({
  code: m[1]!,
  status: Number(m[2]),
  name: m[3]!,
}))

test('docs/errors.md lists exactly the error classes in src/errors.ts, with their status', () => {
  const fromCode = errorClasses.map((c) => ({ code: c.code, status: c.status, name: c.name })).sort((a, b) => a.code.localeCompare(b.code))
  assert.deepEqual([...rows].sort((a, b) => a.code.localeCompare(b.code)), fromCode)
})

test('every error code is unique', () => {
  const codes = errorClasses.map((c) => c.code)
  assert.equal(new Set(codes).size, codes.length)
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
