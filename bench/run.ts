// `npm run bench`: the upstream direct, a bare proxy (peer) and the gateway per storage, side by
// side in one run, with ratios against direct. A benchmark, not a test: no thresholds.
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { SignJWT } from 'jose'
import { cpus } from 'node:os'
import { CONNECTIONS, DURATION, measure, type LoadResult } from './load.js'
import { runScaleCases } from './scale.js'
import { loginCookie, startBareProxy, startGatewayWith, startUpstream } from './targets.js'

const quick = process.argv.includes('--quick')
const storages: [string, Record<string, unknown>][] = [
  ['memory', { storage: 'memory' }],
  ['sqlite', { storage: 'sqlite', sqlite: { path: `/tmp/gatehouse-bench-${process.pid}.db` } }],
  ['cookie', { storage: 'cookie' }],
  ['redis', { storage: 'redis', redis: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: `gh-bench-${process.pid}:` } }],
  ['postgres', { storage: 'postgres', postgres: { url: process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test', table: `gh_bench_${process.pid}` } }],
]

async function main(): Promise<void> {
  const results: LoadResult[] = []
  const upstream = await startUpstream()
  results.push(await measure('upstream, direct', `${upstream.url}/x`))

  const bare = await startBareProxy(upstream.url)
  results.push(await measure('peer: bare @fastify/reply-from proxy, no auth', `${bare.url}/x`))
  await bare.app.close()

  for (const [name, session] of storages) {
    let started
    try {
      started = await startGatewayWith(upstream.url, session)
    } catch (error) {
      results.push({ name: `gatehouse, ${name} session`, requestsPerSecond: 0, p50: 0, p99: 0, errors: 0, note: `skipped: ${(error as Error).message.split('\n')[0]}` })
      continue
    }
    try {
      const cookie = await loginCookie(started.url)
      results.push(await measure(`gatehouse, ${name} session`, `${started.url}/x`, { cookie }))
    } finally {
      await started.gateway.close()
    }
  }
  // Per-request credentials (issue 4): a bearer JWT (HS256, EdDSA) and an API key, no session.
  const ed = generateKeyPairSync('ed25519')
  const hsSecret = 'bench-jwt-secret-0123456789abcdef0123'
  const credentialCases: [string, Record<string, unknown>, () => Promise<Record<string, string>>][] = [
    ['bearer JWT HS256', { jwt: { secret: hsSecret, issuer: 'bench' } }, async () => ({ authorization: `Bearer ${await mint(new TextEncoder().encode(hsSecret), 'HS256')}` })],
    ['bearer JWT EdDSA', { jwt: { public_key: ed.publicKey.export({ type: 'spki', format: 'pem' }), issuer: 'bench' } }, async () => ({ authorization: `Bearer ${await mint(ed.privateKey, 'EdDSA')}` })],
    ['API key', { apikey: { keys: [{ key: 'bench-api-key-0123456789', user: 'bot' }] } }, async () => ({ 'x-api-key': 'bench-api-key-0123456789' })],
  ]
  for (const [name, auth, headers] of credentialCases) {
    const started = await startGatewayWith(upstream.url, { storage: 'memory' }, { auth })
    try {
      results.push(await measure(`gatehouse, ${name} (per request, no session)`, `${started.url}/x`, await headers()))
    } finally {
      await started.gateway.close()
    }
  }
  upstream.stop()

  const scale = quick ? [] : await runScaleCases()
  const report = render(results, scale)
  process.stdout.write(report)
  if (!quick) writeFileSync('bench/results.md', report)
}

function mint(key: KeyObject | Uint8Array, alg: string): Promise<string> {
  return new SignJWT({ roles: ['bench'] }).setProtectedHeader({ alg }).setSubject('bench').setIssuer('bench').setIssuedAt().setExpirationTime('2h').sign(key)
}

function render(results: LoadResult[], scale: string[]): string {
  const direct = results[0]!.requestsPerSecond
  const peer = results[1]!.requestsPerSecond
  const rows = results.map((r) =>
    r.note
      ? `| ${r.name} | – | – | – | – | – | ${r.note} |`
      : `| ${r.name} | ${r.requestsPerSecond.toLocaleString('en')} | ${r.p50} | ${r.p99} | ${(r.requestsPerSecond / direct).toFixed(2)} | ${(r.requestsPerSecond / peer).toFixed(2)} | ${r.errors ? `${r.errors} errors` : ''} |`,
  )
  return [
    `# Gatehouse benchmark`,
    '',
    `${new Date().toISOString()} · ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}) · Node ${process.version} · autocannon (own process), ${CONNECTIONS} connections, ${DURATION}s per case; upstream in its own process; everything on the same machine, 127.0.0.1.`,
    '',
    '| case | req/s | p50 ms | p99 ms | vs direct | vs bare proxy | note |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
    ...scale,
    '',
  ].join('\n')
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
