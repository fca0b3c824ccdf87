// Load from Debian's wrk: warm-up, then repeats; req/s, latency percentiles and errors parsed
// from `wrk --latency`. Pinned (taskset) or not.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { assertLocal, cpuSeconds, cpuTimes, stealShare } from './proc.js'

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
  /** Share of the machine's CPU time the hypervisor stole during this run (0..1). */
  steal?: number
  /** Which round of an interleaved measurement this run belongs to (runs of one round are compared). */
  round?: number
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

/** One stack, already running, ready to be measured. */
export interface LoadCase {
  name: string
  url: string
  headers: Record<string, string>
  /** Process trees whose CPU time is summed as "server CPU". */
  serverPids: number[]
  reference?: boolean
}

/**
 * Measures every case in rounds: each round gives every case a warm-up and one run, the rounds
 * alternating forward and reverse order. A shared machine changes speed over minutes (a
 * neighbour's load, the host's clock): measured one after another, case A's three runs and case
 * B's three runs would see different machines. Interleaved, each round compares the cases on
 * nearly the same machine, and a ratio is taken per round (see `ratioToReference`).
 */
export async function measureInterleaved(cases: LoadCase[], settings: LoadSettings, log: (line: string) => void): Promise<CaseResult[]> {
  const results = new Map<LoadCase, CaseResult>(cases.map((c) => [c, { name: c.name, runs: [], reference: c.reference }]))
  const live = new Set<LoadCase>()
  for (const c of cases) {
    try {
      await probe(c.url, c.headers)
      live.add(c)
    } catch (error) {
      results.get(c)!.note = (error as Error).message.split('\n')[0]!.slice(0, 200)
    }
  }
  for (let round = 0; round < settings.repeats; round++) {
    const order = round % 2 === 0 ? cases : [...cases].reverse()
    for (const c of order) {
      if (!live.has(c)) continue
      const result = results.get(c)!
      try {
        await wrk(c.url, settings.warmupSeconds, settings, c.headers)
        const cpu = () => c.serverPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
        const cpuBefore = cpu()
        const timesBefore = cpuTimes()
        const started = performance.now()
        const run = await wrk(c.url, settings.seconds, settings, c.headers)
        if (c.serverPids.length) run.serverCpu = (cpu() - cpuBefore) / ((performance.now() - started) / 1000)
        run.steal = stealShare(timesBefore, cpuTimes())
        run.round = round
        result.runs.push(run)
      } catch (error) {
        live.delete(c)
        result.note = `failed in round ${round + 1}: ${(error as Error).message.split('\n')[0]!.slice(0, 200)}`
      }
    }
    log(`  round ${round + 1}/${settings.repeats}: ${cases.map((c) => `${c.name.slice(0, 40)} ${Math.round(results.get(c)!.runs.find((r) => r.round === round)?.requestsPerSecond ?? 0)}`).join(' · ')}`)
  }
  for (const c of live) {
    try {
      await probe(c.url, c.headers)
    } catch (error) {
      results.get(c)!.note = `answered wrongly after the load: ${(error as Error).message.split('\n')[0]!.slice(0, 200)}`
    }
  }
  return cases.map((c) => results.get(c)!)
}

/** Per-round ratios of `result` to `reference` (runs of the same round), for a median and range. */
export function ratioToReference(result: CaseResult, reference: CaseResult): number[] {
  const ratios: number[] = []
  for (const run of result.runs) {
    const ref = reference.runs.find((r) => r.round === run.round)
    if (ref && ref.requestsPerSecond > 0) ratios.push(run.requestsPerSecond / ref.requestsPerSecond)
  }
  return ratios
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
