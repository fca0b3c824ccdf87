import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'

/** `gatehouse start -c FILE` in its own process, as an operator runs it, with its JSON log lines. */
export interface StartedCli {
  readonly child: ChildProcess
  readonly address: string
  /** Everything written so far (stdout and stderr). */
  output(): string
  /** The JSON log lines so far. */
  lines(): Record<string, unknown>[]
  /** Waits for `count` log lines (counted from the start) that match. */
  waitFor(what: string, match: (line: Record<string, unknown>) => boolean, count?: number, timeoutMs?: number): Promise<Record<string, unknown>[]>
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>
}

export async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

/** Starts the CLI; resolves once the `started` line (with `workers` when given) is logged. */
export async function startCli(file: string, options: { workers?: number } = {}): Promise<StartedCli> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/run-cli.ts', 'start', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const lines = () =>
    output.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return []
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return [] // a line still being written
      }
    })
  const started = await until(
    'gatehouse start to listen',
    () => {
      if (child.exitCode !== null) throw new Error(`gatehouse start exited (${child.exitCode}):\n${output}`)
      return lines().find((line) => line.event === 'started' && (options.workers === undefined || line.workers === options.workers))
    },
    30_000,
  )
  return {
    child,
    address: String(started.address),
    output: () => output,
    lines,
    async waitFor(what, match, count = 1, timeoutMs = 20_000) {
      return until(what, () => {
        if (child.exitCode !== null) throw new Error(`gatehouse start exited (${child.exitCode}) while waiting for ${what}:\n${output}`)
        const found = lines().filter(match)
        return found.length >= count ? found : undefined
      }, timeoutMs)
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => {
        for (const pid of childPids(child.pid!)) process.kill(pid, 'SIGKILL')
        child.kill('SIGKILL')
      }, 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

export function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0)
  } catch {
    return [] // ps exits 1 when there are none
  }
}
