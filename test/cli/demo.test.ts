import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { login } from '../helpers/gateway.js'

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

// The example config ships no usable credential any more; the demo is where one is handed out.
test('gatehouse demo prints the URL and the credentials, and those credentials log in', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-demo-'))
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/run-cli.ts', 'demo', '--port', String(port), '--data', dir], {
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  try {
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 30_000)
      child.stderr!.on('data', (chunk) => {
        output += chunk
        if (output.includes('Press Ctrl+C')) (clearTimeout(timer), resolve())
      })
      child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`demo exited ${code}:\n${output}`))))
    })
    const url = /Open:\s+(\S+)/.exec(output)?.[1]
    const username = /Username:\s+(\S+)/.exec(output)?.[1]
    const password = /Password:\s+(\S+)/.exec(output)?.[1]
    assert.equal(url, `http://127.0.0.1:${port}/`)
    assert.ok(username && password, output)
    const base = url.replace(/\/$/, '')
    const { response, cookie } = await login(base, username, password)
    assert.equal(response.status, 200)
    const page = await fetch(`${base}/`, { headers: { cookie: cookie! } })
    assert.equal(page.status, 200)
    assert.equal((await page.json() as { headers: Record<string, string> }).headers['x-forwarded-user'], username)
  } finally {
    child.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
})
