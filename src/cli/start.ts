import { startGateway } from '../server/start.js'
import { loadConfigFile } from '../config/load.js'
import { resolveConfigPath } from './config-file.js'
import { EXIT_OK, reportFailure } from './output.js'

/** `gatehouse start [-c FILE]`: runs until SIGTERM/SIGINT. */
export async function runStart(configFlag: string | undefined): Promise<number> {
  const file = resolveConfigPath(configFlag)
  try {
    const loaded = { file, config: loadConfigFile(file) }
    await startGateway(loaded.config, {}, { handleSignals: true })
    await new Promise(() => {}) // serve until a signal ends the process
    return EXIT_OK
  } catch (error) {
    return reportFailure(error, file)
  }
}
