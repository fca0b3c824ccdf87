import cluster, { type Worker } from 'node:cluster'
import type { Logger } from '../telemetry/logger.js'
import { isWorkerReady, SLOT_ENV } from './messages.js'

export interface PrimaryOptions {
  workers: number
  log: Logger
  /** After SIGTERM/SIGINT, how long workers may drain before they are killed. */
  shutdownTimeoutMs?: number
  /** Unexpected exits within `crashWindowMs` beyond which the primary gives up (exit 1). */
  maxCrashes?: number
  crashWindowMs?: number
}

export const SHUTDOWN_TIMEOUT_MS = 30_000
const CRASH_WINDOW_MS = 60_000
const MAX_BACKOFF_MS = 5_000

/**
 * The primary of `gatehouse start` with `workers` > 1. It builds no gateway: it forks one
 * worker per slot (each re-runs this CLI, sees `cluster.isWorker`, and listens on the shared
 * port), replaces a worker that exits unexpectedly (with a growing delay, and gives up after
 * too many exits in a short time), and on SIGTERM/SIGINT has every worker drain before it
 * exits itself. Resolves with the process's exit code.
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { workers, log } = options
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS
  const crashWindowMs = options.crashWindowMs ?? CRASH_WINDOW_MS
  const maxCrashes = options.maxCrashes ?? Math.max(5, 2 * workers)

  return new Promise((resolve) => {
    const live = new Map<number, Worker>() // slot → worker
    const ready = new WeakSet<Worker>()
    const respawns = new Set<NodeJS.Timeout>()
    let crashes: number[] = []
    let started = false
    let stopping = false
    let exitCode = 0
    let deadline: NodeJS.Timeout | undefined

    const fork = (slot: number) => {
      const worker = cluster.fork({ [SLOT_ENV]: String(slot) })
      live.set(slot, worker)
      worker.on('message', (message: unknown) => {
        if (!isWorkerReady(message) || ready.has(worker)) return
        ready.add(worker)
        log.debug({ event: 'worker_ready', worker: slot, pid: worker.process.pid }, 'worker listening')
        if (!started && [...live.values()].every((w) => ready.has(w))) {
          started = true
          log.info({ event: 'started', address: message.address, workers, pid: process.pid }, `gatehouse listening with ${workers} workers`)
        }
      })
      worker.on('exit', (code, signal) => onExit(slot, worker, code, signal))
    }

    const onExit = (slot: number, worker: Worker, code: number | null, signal: string | null) => {
      if (live.get(slot) === worker) live.delete(slot)
      const fields = { worker: slot, pid: worker.process.pid, code, signal }
      if (stopping) {
        // Killed by our own SIGTERM: a worker still loading, before it could handle the signal.
        if (code !== 0 && signal !== 'SIGTERM') exitCode = 1
        log.info({ event: 'worker_stopped', ...fields }, 'worker stopped')
        if (live.size === 0) finish()
        return
      }
      if (!started && !ready.has(worker)) {
        // A worker that cannot even start (port taken, bad key file…): the others would fail the same way.
        log.error({ event: 'worker_start_failed', ...fields }, 'a worker failed to start; stopping')
        exitCode = code === 2 ? 2 : 1
        return stop('startup failure')
      }
      const now = Date.now()
      crashes = [...crashes.filter((at) => at > now - crashWindowMs), now]
      if (crashes.length > maxCrashes) {
        log.fatal({ event: 'workers_crash_loop', ...fields, exits: crashes.length, window_ms: crashWindowMs }, 'workers keep exiting; giving up')
        exitCode = 1
        return stop('crash loop')
      }
      const delay = crashes.length <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 250 * 2 ** (crashes.length - 2))
      log.error({ event: 'worker_exited', ...fields, restart_in_ms: delay }, 'worker exited unexpectedly; starting a replacement')
      const timer = setTimeout(() => {
        respawns.delete(timer)
        if (!stopping) fork(slot)
      }, delay)
      respawns.add(timer)
    }

    const stop = (reason: string) => {
      if (stopping) return
      stopping = true
      for (const timer of respawns) clearTimeout(timer)
      respawns.clear()
      log.info({ event: 'stopping', reason, workers: live.size }, 'shutting down: workers drain in-flight requests')
      for (const worker of live.values()) signalWorker(worker, 'SIGTERM')
      if (live.size === 0) return finish()
      deadline = setTimeout(() => {
        log.warn({ event: 'shutdown_timeout', workers: live.size, timeout_ms: shutdownTimeoutMs }, 'workers did not finish draining in time; killing them')
        exitCode = 1
        for (const worker of live.values()) signalWorker(worker, 'SIGKILL')
      }, shutdownTimeoutMs)
    }

    const finish = () => {
      if (deadline) clearTimeout(deadline)
      for (const [signal, handler] of handlers) process.off(signal, handler)
      log.info({ event: 'stopped', code: exitCode }, 'all workers stopped')
      resolve(exitCode)
    }

    const handlers: [NodeJS.Signals, () => void][] = [
      ['SIGTERM', () => stop('SIGTERM')],
      ['SIGINT', () => stop('SIGINT')],
      // Passed on, so that whatever a worker does on SIGHUP (reload) happens in every worker.
      ['SIGHUP', () => { for (const worker of live.values()) signalWorker(worker, 'SIGHUP') }],
    ]
    for (const [signal, handler] of handlers) process.on(signal, handler)

    log.info({ event: 'starting_workers', workers, pid: process.pid }, `starting ${workers} workers`)
    for (let slot = 0; slot < workers; slot++) fork(slot)
  })
}

function signalWorker(worker: Worker, signal: NodeJS.Signals): void {
  try {
    worker.process.kill(signal)
  } catch {
    // already gone: its exit event follows
  }
}
