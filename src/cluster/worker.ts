import cluster from 'node:cluster'
import type { Config } from '../config/schema.js'
import { holdSighup } from '../server/reload.js'
import { startGateway } from '../server/start.js'
import { createLogger } from '../telemetry/logger.js'
import type { WorkerReady } from './messages.js'
import { SLOT_ENV } from './messages.js'

/**
 * One worker of `gatehouse start` with `workers` > 1: builds the gateway and listens (node's
 * cluster shares the port with the other workers), tells the primary it is ready, and on
 * SIGTERM or SIGINT (forwarded by the primary, or sent by a terminal to the whole group)
 * drains through `gateway.close()`; SIGHUP reloads the config file. Resolves with the exit code once drained.
 */
export async function runWorker(config: Config, reload?: { file: string; load: () => Config }): Promise<number> {
  const slot = Number(process.env[SLOT_ENV] ?? cluster.worker?.id ?? 0)
  const log = createLogger(config.log.level).child({ worker: slot, pid: process.pid })
  // Listening for the signals before starting: a stop that arrives while the gateway is still
  // being built takes effect as soon as it is built, instead of killing the process half-way.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  // One worker sweeps expired sessions: N sweepers would only compete for the same rows.
  // SIGHUP (forwarded by the primary) reloads this worker like a single process reloads. One
  // that arrives while the gateway is being built would kill the worker: it is held until then.
  const held = holdSighup()
  const gateway = await startGateway(config, { logger: log, runCleanup: slot === 0 }, { handleSignals: false, reload }).finally(held.release)
  if (process.listenerCount('SIGHUP') === 0) {
    // Without a handler SIGHUP would kill the worker (and the primary would replace it).
    process.on('SIGHUP', () => log.warn({ event: 'sighup_ignored' }, 'SIGHUP ignored: this worker has no config file to reload'))
  }
  const ready: WorkerReady = { gatehouse: 'ready', address: gateway.url }
  process.send?.(ready)
  const signal = await stopSignal
  // A second signal (a primary's forwarded SIGTERM after a terminal's SIGINT) must not kill a draining worker.
  process.on('SIGTERM', () => {})
  process.on('SIGINT', () => {})
  log.info({ event: 'stopping', signal }, 'worker draining')
  try {
    await gateway.close()
    return 0
  } catch (error) {
    log.error({ event: 'close_failed', err: (error as Error).message }, 'worker failed to close cleanly')
    return 1
  }
}
