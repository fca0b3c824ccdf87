// Gatehouse as the bench sees it: a separate process started through its CLI (the build in dist/)
// from a generated YAML file, reached over HTTP only. Nothing from src/ is imported.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { stringify } from 'yaml'
import { assertLocal, freePort, startProcess, waitForHttp, type Started } from './proc.js'

const run = promisify(execFile)
export const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(ROOT, 'bin', 'gatehouse.js')

export const BENCH_USER = { username: 'bench', password: 'bench-password-123' }
export const BENCH_SECRET = 'bench-secret-0123456789abcdef0123456789'

let hashed: Promise<string> | undefined

/** An argon2id hash made by `gatehouse hash-password` (password on stdin). */
export function benchPasswordHash(): Promise<string> {
  hashed ??= new Promise<string>((resolve, reject) => {
    const child = execFile(process.execPath, [CLI, 'hash-password'], { cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`hash-password failed: ${stderr || error.message}`))
      resolve(stdout.trim())
    })
    child.stdin!.end(BENCH_USER.password)
  })
  return hashed
}

export interface GatehouseOptions {
  upstream: string
  session: Record<string, unknown>
  extra?: Record<string, unknown>
  pin?: string
  /** Extra options for node itself (`--cpu-prof`, ...). */
  nodeArgs?: string[]
}

/** Writes the config into `dir`, starts `gatehouse start -c`, waits for /_gatehouse/healthz. */
export async function startGatehouse(dir: string, o: GatehouseOptions): Promise<{ url: string; proc: Started }> {
  assertLocal(o.upstream)
  const port = await freePort()
  const config = {
    listen: `127.0.0.1:${port}`,
    upstream: o.upstream,
    secrets: [BENCH_SECRET],
    users: [{ username: BENCH_USER.username, password_hash: await benchPasswordHash(), roles: ['bench'] }],
    log: { level: 'warn' },
    ...o.extra,
    session: { ...o.session, cookie: { secure: false } },
  }
  const file = join(dir, `gatehouse-${port}.yaml`)
  writeFileSync(file, stringify(config))
  const proc = startProcess('gatehouse', process.execPath, [...(o.nodeArgs ?? []), CLI, 'start', '-c', file], { pin: o.pin, cwd: dir })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/_gatehouse/healthz`, proc, 30_000, (s) => s === 200)
  return { url, proc }
}

/** `gatehouse check-config`: exit 0 valid, 2 invalid (stderr names the keys). */
export async function checkConfig(file: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'check-config', '-c', file], { cwd: ROOT, timeout: 30_000 })
    return { ok: true, output: stdout + stderr }
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    return { ok: false, output: (e.stdout ?? '') + (e.stderr ?? '') || e.message }
  }
}

/** JSON login at /_gatehouse/login; returns the `name=value` of the session cookie (chunks joined). */
export async function loginCookie(url: string): Promise<string> {
  assertLocal(url)
  const response = await fetch(`${url}/_gatehouse/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(BENCH_USER),
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  })
  const cookies = response.headers.getSetCookie().map((c) => c.split(';')[0]!).filter((c) => !c.endsWith('='))
  if (response.status !== 200 || cookies.length === 0) throw new Error(`login failed: ${response.status} ${(await response.text()).slice(0, 160)}`)
  return cookies.join('; ')
}
