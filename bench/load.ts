import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'

const run = promisify(execFile)
const autocannonCli = createRequire(import.meta.url).resolve('autocannon/autocannon.js')

export interface LoadResult {
  name: string
  requestsPerSecond: number
  p50: number
  p99: number
  errors: number
  note?: string
}

export const DURATION = Number(process.env.BENCH_DURATION ?? 10)
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)

interface AutocannonJson {
  requests: { average: number }
  latency: { p50: number; p99: number }
  errors: number
  timeouts: number
  non2xx: number
}

/** autocannon in its own process (so it does not share the gateway's event loop), 127.0.0.1 only. */
async function autocannon(url: string, seconds: number, headers: Record<string, string>): Promise<AutocannonJson> {
  if (!url.startsWith('http://127.0.0.1')) throw new Error(`refusing to load anything but 127.0.0.1: ${url}`)
  const args = [autocannonCli, '-j', '-c', String(CONNECTIONS), '-p', '1', '-d', String(seconds)]
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`)
  const { stdout } = await run(process.execPath, [...args, url], { maxBuffer: 64 * 1024 * 1024, timeout: (seconds + 30) * 1000 })
  return JSON.parse(stdout) as AutocannonJson
}

/** A 1 s warm-up, then one bounded run; non-2xx answers count as errors. */
export async function measure(name: string, url: string, headers: Record<string, string> = {}): Promise<LoadResult> {
  await autocannon(url, 1, headers)
  const result = await autocannon(url, DURATION, headers)
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  }
}
