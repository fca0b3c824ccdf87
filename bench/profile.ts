// `node --import tsx bench/profile.ts <memory|sqlite|redis|cookie|apikey|jwt> [seconds]`: one Gatehouse (pinned to core 1) under
// wrk load (core 0) with `node --cpu-prof`, then the hottest functions by self time. For finding
// what to optimise before optimising it; not part of `npm run bench`.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { generateKeyPairSync } from 'node:crypto'
import { tmpdir } from 'node:os'
import { SignJWT } from 'jose'
import { join } from 'node:path'
import { loginCookie, ROOT, startGatehouse } from './gatehouse.js'
import { wrk } from './load.js'
import { startProcess, stopAll } from './proc.js'

const storage = process.argv[2] ?? 'sqlite'
const seconds = Number(process.argv[3] ?? 8)
const API_KEY = 'bench-api-key-0123456789abcdef'
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-profile-'))

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

async function main(): Promise<void> {
  const upstream = startProcess('upstream', process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'upstream-process.ts')], { pin: '1', cwd: ROOT })
  const { port } = await upstream.firstJson<{ port: number }>(20_000)
  const session = storage === 'sqlite' ? { storage, sqlite: { path: join(dir, 's.db') } } : storage === 'redis' ? { storage, redis: { url: 'redis://127.0.0.1:6379', prefix: `gh-prof-${process.pid}:` } } : { storage }
  // `apikey` and `jwt`: a credential on every request instead of a session cookie.
  const ed = generateKeyPairSync('ed25519')
  const auth =
    storage === 'apikey'
      ? { apikey: { keys: [{ key: API_KEY, user: 'bot', roles: ['bench'] }] } }
      : storage === 'jwt'
        ? { jwt: { public_key: ed.publicKey.export({ type: 'spki', format: 'pem' }), algorithms: ['EdDSA'], issuer: 'bench' } }
        : undefined
  const gatehouse = await startGatehouse(dir, { upstream: `http://127.0.0.1:${port}`, session: auth ? { storage: 'sqlite', sqlite: { path: join(dir, 's.db') } } : session, extra: auth ? { auth } : undefined, pin: '1', nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
  const headers: Record<string, string> =
    storage === 'apikey'
      ? { 'x-api-key': API_KEY }
      : storage === 'jwt'
        ? { authorization: `Bearer ${await new SignJWT({ roles: ['bench'] }).setProtectedHeader({ alg: 'EdDSA' }).setSubject('bench').setIssuer('bench').setIssuedAt().setExpirationTime('2h').sign(ed.privateKey)}` }
        : { cookie: await loginCookie(gatehouse.url) }
  // AGE=<s>: let the session (and its cookie) age first, as in a long bench run.
  if (process.env.AGE) await new Promise((resolve) => setTimeout(resolve, Number(process.env.AGE) * 1000))
  const settings = { connections: 50, threads: 1, seconds, warmupSeconds: 0, repeats: 1, pin: '0' }
  await wrk(`${gatehouse.url}/x`, 2, settings, headers)
  const run = await wrk(`${gatehouse.url}/x`, seconds, settings, headers)
  console.log(`${storage}: ${Math.round(run.requestsPerSecond)} req/s, p99 ${run.p99} ms`)
  await gatehouse.proc.stop()
  await stopAll()
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) throw new Error('no .cpuprofile written')
  report(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile, join(dir, file))
}

function report(profile: Profile, path: string): void {
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const byFunction = new Map<string, number>()
  let total = 0
  for (const node of profile.nodes) {
    const t = self.get(node.id) ?? 0
    total += t
    const { functionName, url, lineNumber } = node.callFrame
    const key = `${functionName || '(anonymous)'} ${url.replace(/^file:\/\/.*node_modules\//, '~/').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + t)
  }
  const rows = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 40))
  for (const [key, t] of rows) console.log(`${((100 * t) / total).toFixed(1).padStart(5)} %  ${key}`)
  console.log(`profile: ${path}`)
}

main().catch(async (error) => {
  console.error(error)
  await stopAll()
  process.exit(1)
})
