import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

// The folder layout is the architecture: these tests keep the imports honest about it.
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src')

interface SourceFile {
  /** Folder under src/, or the file name for top-level modules (`errors.ts`). */
  readonly unit: string
  readonly path: string
  readonly relativeImports: string[]
  readonly packageImports: string[]
}

function sourceFiles(dir = SRC): SourceFile[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    if (!name.endsWith('.ts')) return []
    const text = readFileSync(path, 'utf8')
    const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?(?:from\s+)?'([^']+)'/g)].map((m) => m[1]!)
    return [{ unit: unitOf(path), path: relative(SRC, path), relativeImports: specifiers.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(path), s)), packageImports: specifiers.filter((s) => !s.startsWith('.')) }]
  })
}

function unitOf(absolute: string): string {
  const parts = relative(SRC, absolute).split('/')
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.js$/, '.ts')
}

const files = sourceFiles()
const graph = new Map<string, Set<string>>()
for (const file of files) {
  for (const target of file.relativeImports) {
    const to = unitOf(target)
    if (to === file.unit) continue
    if (!graph.has(file.unit)) graph.set(file.unit, new Set())
    graph.get(file.unit)!.add(to)
  }
}

/** Which folders each folder may import (top-level leaf modules such as errors.ts are open to all). */
const ALLOWED: Record<string, readonly string[]> = {
  http: [],
  config: [],
  telemetry: [],
  session: ['config', 'http', 'telemetry'],
  state: ['config', 'session', 'telemetry'],
  auth: ['config', 'http', 'state'],
  pipeline: ['auth', 'config', 'http', 'session'],
  proxy: ['auth', 'config', 'http', 'pipeline', 'telemetry'],
  admin: ['http', 'pipeline', 'session', 'telemetry'],
  demo: ['http'],
  // OpenID Connect: providers, logins' tokens in the shared state, OIDC sessions and logout.
  oidc: ['auth', 'config', 'http', 'pipeline', 'session', 'state', 'telemetry'],
  server: ['admin', 'auth', 'config', 'http', 'oidc', 'pipeline', 'proxy', 'session', 'state', 'telemetry'],
  cluster: ['config', 'server', 'telemetry'],
  cli: ['auth', 'cluster', 'config', 'demo', 'server', 'session', 'state', 'telemetry'],
}
const TOP_LEVEL_LEAVES = ['errors.ts', 'reasons.ts', 'error-response.ts', 'identity.ts', 'clock.ts']

describe('architecture', () => {
  test('every folder under src/ has declared dependencies', () => {
    const folders = new Set(files.filter((f) => f.path.includes('/')).map((f) => f.unit))
    assert.deepEqual([...folders].filter((f) => !(f in ALLOWED)), [])
  })

  test('the import scan sees the edges it must (a guard against a scan that finds nothing)', () => {
    assert.ok(graph.get('server')?.has('proxy'))
    assert.ok(graph.get('proxy')?.has('pipeline'))
    assert.ok(graph.get('pipeline')?.has('session'))
  })

  test('folders import only the layers below them', () => {
    const violations: string[] = []
    for (const [from, targets] of graph) {
      if (from === 'main.ts') continue
      for (const to of targets) {
        if (TOP_LEVEL_LEAVES.includes(to)) continue
        if (!(ALLOWED[from] ?? []).includes(to)) violations.push(`${from} → ${to}`)
      }
    }
    assert.deepEqual(violations, [])
  })

  test('top-level modules are leaves (only main.ts, the entry, imports a folder)', () => {
    const leaking = files.filter((f) => !f.path.includes('/') && f.unit !== 'main.ts').flatMap((f) => f.relativeImports.filter((t) => relative(SRC, t).includes('/')).map((t) => `${f.path} → ${relative(SRC, t)}`))
    assert.deepEqual(leaking, [])
  })

  test('no folder-level import cycles', () => {
    // Depth-first search; a back edge to a folder still on the stack closes a cycle.
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (node: string, stack: string[]) => {
      state.set(node, 'open')
      for (const next of graph.get(node) ?? []) {
        if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), node, next].join(' → '))
        else if (!state.has(next)) visit(next, [...stack, node])
      }
      state.set(node, 'done')
    }
    for (const node of graph.keys()) if (!state.has(node)) visit(node, [])
    assert.deepEqual(cycles, [])
  })

  test('the request hot path (proxy, pipeline, session, auth, http) does not use Fastify', () => {
    const fastify = files.filter((f) => ['proxy', 'pipeline', 'session', 'auth', 'http', 'oidc'].includes(f.unit) && f.packageImports.some((p) => p === 'fastify' || p.startsWith('@fastify/')))
    assert.deepEqual(fastify.map((f) => f.path), [])
  })

  test('only session/session-cookie.ts knows the session cookie format; only auth/jwt.ts (and oidc/logout-token.ts, for logout tokens) imports jose', () => {
    const cookieWriters = files.filter((f) => f.relativeImports.some((t) => t.endsWith('session/session-cookie.js'))).map((f) => f.path)
    assert.deepEqual(cookieWriters, ['session/browser-sessions.ts'])
    assert.deepEqual(files.filter((f) => f.packageImports.includes('jose')).map((f) => f.path).sort(), ['auth/jwt.ts', 'oidc/logout-token.ts'])
  })
})
