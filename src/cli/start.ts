import cluster from 'node:cluster'
import { runPrimary } from '../cluster/primary.js'
import { workerCount } from '../cluster/count.js'
import { runWorker } from '../cluster/worker.js'
import { holdSighup } from '../server/reload.js'
import { startGateway } from '../server/start.js'
import { loadConfigFile } from '../config/load.js'
import { createLogger } from '../telemetry/logger.js'
import { resolveConfigPath } from './config-file.js'
import { EXIT_OK, reportFailure } from './output.js'

/**
 * `gatehouse start [-c FILE]`: runs until SIGTERM/SIGINT; SIGHUP re-reads FILE (see server/reload.ts). With `workers: 1` one process
 * serves; with more, this process becomes the cluster primary and forks the workers, each of
 * which runs this same command again (node:cluster re-executes the entry script) and lands in
 * the worker branch. The primary validates the file first, so a bad config exits 2 before
 * anything is forked.
 */
export async function runStart(configFlag: string | undefined): Promise<number> {
  const file = resolveConfigPath(configFlag)
  if (cluster.isWorker) return process.exit(await worker(file))
  try {
    const config = loadConfigFile(file)
    const workers = workerCount(config.workers)
    if (workers > 1) {
      const log = createLogger(config.log.level).child({ role: 'primary' })
      return process.exit(await runPrimary({ workers, log }))
    }
    const held = holdSighup()
    await startGateway(config, {}, { handleSignals: true, reload: { file, load: () => loadConfigFile(file) } }).finally(held.release)
    await new Promise(() => {}) // serve until a signal ends the process
    return EXIT_OK
  } catch (error) {
    return reportFailure(error, file)
  }
}

/** The worker branch; always ends the process (the IPC channel to the primary would keep it alive). */
async function worker(file: string): Promise<number> {
  try {
    return await runWorker(loadConfigFile(file), { file, load: () => loadConfigFile(file) })
  } catch (error) {
    return reportFailure(error, file)
  }
}
