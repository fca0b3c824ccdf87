import { createAuthenticators } from '../auth/index.js'
import { createUserDirectory } from '../auth/users.js'
import { systemClock } from '../clock.js'
import { createSessionStore } from '../session/store/index.js'
import { loadConfigFile } from '../config/load.js'
import { readTls } from '../server/listener.js'
import { resolveConfigPath } from './config-file.js'
import { EXIT_OK, EXIT_RUNTIME, reportFailure } from './output.js'

/** `gatehouse check-config -c FILE`: every problem with its key path (exit 2), then a store connection check (exit 1). */
export async function runCheckConfig(configFlag: string | undefined): Promise<number> {
  const file = resolveConfigPath(configFlag)
  try {
    const loaded = { file, config: loadConfigFile(file) }
    const users = await createUserDirectory(loaded.config)
    // Key files, key formats and algorithm lists are only checked when authenticators are built.
    createAuthenticators(loaded.config, users, systemClock)
    readTls(loaded.config)
    const store = await createSessionStore(loaded.config.session, loaded.config.secrets, systemClock)
    try {
      await store.ping()
    } catch (error) {
      process.stderr.write(`gatehouse: configuration is valid, but the ${loaded.config.session.storage} store is unreachable: ${(error as Error).message}\n`)
      return EXIT_RUNTIME
    } finally {
      await store.close()
    }
    process.stdout.write(`${file}: configuration OK (storage ${loaded.config.session.storage}, ${users.size} user${users.size === 1 ? '' : 's'})\n`)
    return EXIT_OK
  } catch (error) {
    return reportFailure(error, file)
  }
}
