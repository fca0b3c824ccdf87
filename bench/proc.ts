// Child processes for the benchmark: started pinned (or not), bounded in time, always stopped.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'

/** Every address the bench talks to must be on 127.0.0.1; anything else is refused. */
export function assertLocal(url: string): void {
  let host: string
  try {
    host = new URL(url).hostname
  } catch {
    throw new Error(`refusing a URL that does not parse: ${url}`)
  }
  if (host !== '127.0.0.1') throw new Error(`refusing to benchmark anything but 127.0.0.1: ${url.replace(/\/\/[^@/]*@/, '//***@')}`)
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

export interface Started {
  name: string
  child: ChildProcess
  pid: number
  /** Last lines of stderr and stdout, for error messages. */
  tail(): string
  /** Resolves with the first stdout line that parses as JSON. */
  firstJson<T>(timeoutMs: number): Promise<T>
  exited: Promise<number | null>
  stop(): Promise<void>
}

const running = new Set<Started>()

/** `taskset -c <cpus>` in front of the command when `pin` is given; the affinity is inherited by forks. */
export function startProcess(name: string, command: string, args: string[], options: { pin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Started {
  const [file, argv] = options.pin ? ['taskset', ['-c', options.pin, command, ...args]] : [command, args]
  const child = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const jsonWaiters: ((value: unknown) => void)[] = []
  let json: unknown
  let buffered = ''
  const keep = (line: string) => {
    lines.push(line)
    if (lines.length > 40) lines.shift()
  }
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    let index
    while ((index = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, index)
      buffered = buffered.slice(index + 1)
      keep(line)
      if (json === undefined && line.startsWith('{')) {
        try {
          json = JSON.parse(line)
          for (const w of jsonWaiters.splice(0)) w(json)
        } catch {
          // not ours
        }
      }
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => chunk.split('\n').filter(Boolean).forEach(keep))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))))
  const started: Started = {
    name,
    child,
    pid: child.pid!,
    tail: () => lines.slice(-12).join('\n'),
    exited,
    firstJson<T>(timeoutMs: number) {
      if (json !== undefined) return Promise.resolve(json as T)
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no start-up line within ${timeoutMs} ms\n${started.tail()}`)), timeoutMs)
        jsonWaiters.push((value) => {
          clearTimeout(timer)
          resolve(value as T)
        })
        void exited.then((code) => {
          clearTimeout(timer)
          reject(new Error(`${name} exited (${code}) before it was ready\n${started.tail()}`))
        })
      })
    },
    async stop() {
      running.delete(started)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
  running.add(started)
  return started
}

/** Stops everything still running (on exit, errors and Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()))
}

/** Polls `url` until it answers `accept(status)`, the process exits, or the time is up. */
export async function waitForHttp(url: string, proc: Started, timeoutMs: number, accept: (status: number) => boolean = (s) => s < 500): Promise<void> {
  assertLocal(url)
  const deadline = Date.now() + timeoutMs
  let exited = false
  void proc.exited.then(() => (exited = true))
  let last = ''
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${proc.name} exited before it was ready\n${proc.tail()}`)
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await response.arrayBuffer()
      if (accept(response.status)) return
      last = `status ${response.status}`
    } catch (error) {
      last = (error as Error).message
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${proc.name} not ready at ${url} within ${timeoutMs} ms (${last})\n${proc.tail()}`)
}

/** A process and all its descendants (nginx workers, cluster workers). */
export function processTree(pid: number): number[] {
  const all = [pid]
  for (let i = 0; i < all.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${all[i]}/task`)) {
        const children = readFileSync(`/proc/${all[i]}/task/${task}/children`, 'utf8').trim()
        if (children) all.push(...children.split(/\s+/).map(Number))
      }
    } catch {
      // gone
    }
  }
  return all
}

/** CPU time (user + system) of a process tree, in seconds. */
export function cpuSeconds(pid: number): number {
  let ticks = 0
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // gone
    }
  }
  return ticks / 100 // USER_HZ is 100 on Linux
}

/** VmRSS of one process in KiB. */
export function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match ? Number(match[1]) : 0
}

/** Per-CPU jiffies from /proc/stat: total, and "steal" (time the hypervisor gave to other guests). */
export function cpuTimes(): { total: number; steal: number }[] {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((line) => /^cpu\d+ /.test(line))
    .map((line) => {
      const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number)
      return { total: ticks.reduce((sum, t) => sum + t, 0), steal: ticks[7] ?? 0 }
    })
}

/** Share of the machine's CPU time stolen by the hypervisor between two cpuTimes() snapshots (0..1). */
export function stealShare(before: { total: number; steal: number }[], after: { total: number; steal: number }[]): number {
  let total = 0
  let steal = 0
  after.forEach((cpu, i) => {
    total += cpu.total - (before[i]?.total ?? 0)
    steal += cpu.steal - (before[i]?.steal ?? 0)
  })
  return total > 0 ? steal / total : 0
}
