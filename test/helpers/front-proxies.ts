import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Debian's nginx and caddy run with the exact example files the README includes; only ports change.
export const NGINX = '/usr/sbin/nginx'
export const CADDY = '/usr/bin/caddy'

/** Skip message outside CI when a binary is missing; under CI=true that is a failure. */
export function binarySkip(path: string, pkg: string): false | string {
  if (existsSync(path)) return false
  if (process.env.CI) throw new Error(`${path} not found: CI=true, so this is a failure (.ci/run installs the ${pkg} package)`)
  return `${path} not found (apt-get install ${pkg}); skipped outside CI`
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** The example file with its documented ports replaced: Gatehouse 4180, the app 3000, the proxy's own. */
export function templated(file: string, ports: { gatehouse: number; app: number; proxyFrom: number; proxy: number }): string {
  const text = readFileSync(file, 'utf8')
  return text
    .replaceAll('127.0.0.1:4180', `127.0.0.1:${ports.gatehouse}`)
    .replaceAll('127.0.0.1:3000', `127.0.0.1:${ports.app}`)
    .replaceAll(`127.0.0.1:${ports.proxyFrom}`, `127.0.0.1:${ports.proxy}`)
}

export interface FrontProxy {
  readonly url: string
  readonly output: () => string
  stop(): Promise<void>
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output()}`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => (socket.destroy(), resolve(true)))
      socket.once('error', () => resolve(false))
    })
    if (open) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`not listening on ${port} after 15 s:\n${output()}`)
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, port: number, dir: string): Promise<FrontProxy> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout!.on('data', (chunk) => (log += chunk))
  child.stderr!.on('data', (chunk) => (log += chunk))
  const output = () => log
  const stop = () =>
    new Promise<void>((done) => {
      const finish = () => (rmSync(dir, { recursive: true, force: true }), done())
      if (child.exitCode !== null) return finish()
      child.once('exit', finish)
      child.kill('SIGTERM')
    })
  return waitForPort(port, child, output).then(
    () => ({ url: `http://127.0.0.1:${port}`, output, stop }),
    async (error: Error) => {
      await stop()
      throw error
    },
  )
}

/** nginx (no daemon, its own prefix in a temp dir) with examples/nginx.conf included in http {}. */
export async function startNginx(ports: { gatehouse: number; app: number }): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-nginx-'))
  const port = await freePort()
  writeFileSync(join(dir, 'site.conf'), templated('examples/nginx.conf', { ...ports, proxyFrom: 8080, proxy: port }))
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log stderr warn;\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n  include ${dir}/site.conf;\n}\n`,
  )
  return run(NGINX, ['-p', dir, '-e', 'stderr', '-c', join(dir, 'nginx.conf')], process.env, port, dir)
}

/** caddy run with examples/Caddyfile (a global block turning its admin endpoint off is put first). */
export async function startCaddy(ports: { gatehouse: number; app: number }): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-caddy-'))
  const port = await freePort()
  writeFileSync(join(dir, 'Caddyfile'), `{\n\tadmin off\n}\n\n${templated('examples/Caddyfile', { ...ports, proxyFrom: 8081, proxy: port })}`)
  const env = { ...process.env, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, HOME: dir }
  return run(CADDY, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], env, port, dir)
}
