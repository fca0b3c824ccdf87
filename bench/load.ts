// Load from Debian's wrk: warm-up, then repeats; req/s, latency percentiles and errors parsed
// from `wrk --latency`. Pinned (taskset) or not.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { assertLocal, cpuSeconds } from './proc.js'

const run = promisify(execFile)

export interface LoadSettings {
  connections: number
  threads: number
  seconds: number
  warmupSeconds: number
  repeats: number
  /** CPU list for `taskset -c` (the load generator's own core), or undefined for unpinned. */
  pin?: string
}

export interface WrkRun {
  requests: number
  requestsPerSecond: number
  p50: number
  p99: number
  socketErrors: number
  non2xx: number
  /** CPU seconds the measured server tree used per wall second during this run (1.0 = one full core). */
  serverCpu?: number
}

export interface CaseResult {
  name: string
  runs: WrkRun[]
  note?: string
  reference?: boolean
}

/** wrk prints latencies as 812.00us, 1.23ms, 2.10s or 1.00m. */
function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim())
  if (!match) throw new Error(`unparsed wrk latency "${value}"`)
  const n = Number(match[1])
  return match[2] === 'us' ? n / 1000 : match[2] === 'ms' ? n : match[2] === 's' ? n * 1000 : n * 60_000
}

export function parseWrk(output: string): WrkRun {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output)
  const p50 = /^\s+50%\s+(\S+)/m.exec(output)
  const p99 = /^\s+99%\s+(\S+)/m.exec(output)
  if (!rps || !p50 || !p99) throw new Error(`unparsed wrk output:\n${output}`)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output)
  return {
    requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? 0),
    requestsPerSecond: Number(rps[1]),
    p50: toMs(p50[1]!),
    p99: toMs(p99[1]!),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  }
}

export async function wrk(url: string, seconds: number, settings: LoadSettings, headers: Record<string, string>): Promise<WrkRun> {
  assertLocal(url)
  const args = [`-t${settings.threads}`, `-c${settings.connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s']
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`)
  args.push(url)
  const [file, argv] = settings.pin ? ['taskset', ['-c', settings.pin, 'wrk', ...args]] : ['wrk', args]
  const { stdout } = await run(file, argv, { timeout: (seconds + 20) * 1000, maxBuffer: 4 * 1024 * 1024 })
  return parseWrk(stdout)
}

/** One answer must be 2xx before load is put on a case (a 3xx or 401 would otherwise count as speed). */
export async function probe(url: string, headers: Record<string, string>): Promise<void> {
  assertLocal(url)
  const response = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(5000) })
  const body = await response.text()
  if (response.status < 200 || response.status > 299) throw new Error(`probe ${new URL(url).pathname} answered ${response.status}: ${body.slice(0, 160)}`)
}

/** Warm-up, then `repeats` measured runs; the CPU use of the server process trees `serverPids` is summed. */
export async function measure(name: string, url: string, headers: Record<string, string>, settings: LoadSettings, serverPids: number[] = []): Promise<CaseResult> {
  await probe(url, headers)
  await wrk(url, settings.warmupSeconds, settings, headers)
  const runs: WrkRun[] = []
  for (let i = 0; i < settings.repeats; i++) {
    const cpu = () => serverPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
    const cpuBefore = cpu()
    const started = performance.now()
    const result = await wrk(url, settings.seconds, settings, headers)
    if (serverPids.length) result.serverCpu = (cpu() - cpuBefore) / ((performance.now() - started) / 1000)
    runs.push(result)
  }
  await probe(url, headers)
  process.stderr.write(`  ${name}: ${runs.map((r) => Math.round(r.requestsPerSecond)).join(', ')} req/s\n`)
  return { name, runs }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
