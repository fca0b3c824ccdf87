import type { Config } from '../config/schema.js'
import { ConfigInvalid } from '../errors.js'
import type { Logger } from '../telemetry/logger.js'

/**
 * Settings a running gateway cannot change: the listening socket, the process layout, the
 * session store's connection and keys (sessions live in it), and whether the listener speaks
 * TLS (its certificate and key can change). Each is a path into the config.
 */
const RESTART_SETTINGS: readonly (readonly string[])[] = [
  ['listen'],
  ['workers'],
  ['secrets'],
  ['session', 'storage'],
  ['session', 'sqlite'],
  ['session', 'redis'],
  ['session', 'postgres'],
  ['session', 'cache_ttl'],
]

function at(config: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], config)
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * The config a reload applies: `next`, except that the settings that need a restart keep the
 * running value; `needsRestart` names those that differ.
 */
export function keepRestartSettings(running: Config, next: Config): { config: Config; needsRestart: string[] } {
  const needsRestart = RESTART_SETTINGS.filter((path) => !same(at(running, path), at(next, path))).map((path) => path.join('.'))
  const tlsChanged = (running.tls === undefined) !== (next.tls === undefined)
  if (tlsChanged) needsRestart.push('tls')
  if (needsRestart.length === 0) return { config: next, needsRestart }
  const session = { ...next.session, storage: running.session.storage, sqlite: running.session.sqlite, redis: running.session.redis, postgres: running.session.postgres, cache_ttl: running.session.cache_ttl }
  const config: Config = { ...next, listen: running.listen, workers: running.workers, secrets: running.secrets, session, tls: tlsChanged ? running.tls : next.tls }
  return { config, needsRestart }
}

type Results<T extends readonly (() => unknown)[]> = { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }

/**
 * Runs every step, even after one failed, so that a config with several bad files reports them
 * all; throws one ConfigInvalid with every step's problems. Other errors pass through.
 */
export async function collectProblems<const T extends readonly (() => unknown)[]>(steps: T): Promise<Results<T>> {
  const problems: string[] = []
  const results: unknown[] = []
  let failure: unknown
  for (const step of steps) {
    try {
      results.push(await step())
    } catch (error) {
      results.push(undefined)
      if (error instanceof ConfigInvalid) problems.push(...error.problems)
      else failure ??= error
    }
  }
  if (failure !== undefined) throw failure
  if (problems.length > 0) throw new ConfigInvalid(problems)
  return results as Results<T>
}

/**
 * SIGHUP: re-reads the config file and applies it. A refused config is logged with every
 * problem by key path, and the running one stays. Reloads do not overlap: a SIGHUP during a
 * reload runs once that one is done.
 */
export function reloadOnSighup(options: { load: () => Config; reload: (next: Config) => Promise<{ needsRestart: string[] }>; log: Logger; file: string }): () => void {
  const { load, reload, log, file } = options
  let running: Promise<void> = Promise.resolve()
  let queued = false
  const once = async (): Promise<void> => {
    log.info({ event: 'reloading', file }, 'SIGHUP: reloading the configuration')
    try {
      const { needsRestart } = await reload(load())
      for (const key of needsRestart) log.warn({ event: 'reload_needs_restart', key }, `${key}: changed, but needs a restart; the running value stays`)
      log.info({ event: 'reloaded', file, needs_restart: needsRestart }, 'configuration reloaded')
    } catch (error) {
      if (!(error instanceof ConfigInvalid)) {
        log.error({ event: 'reload_failed', file, err: (error as Error).message }, 'reload failed; the running configuration stays')
        return
      }
      for (const problem of error.problems) log.error({ event: 'reload_problem', problem }, problem)
      log.error({ event: 'reload_refused', file, problems: error.problems }, `reload refused (${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}); the running configuration stays`)
    }
  }
  const handler = () => {
    if (queued) return
    queued = true
    running = running.then(() => {
      queued = false
      return once()
    })
  }
  process.on('SIGHUP', handler)
  return () => process.off('SIGHUP', handler)
}

/**
 * Until `release`, a SIGHUP is only remembered (the default action would end the process);
 * on release, one that arrived is delivered to the handlers installed meanwhile.
 */
export function holdSighup(): { release: () => void } {
  let arrived = false
  const remember = () => (arrived = true)
  process.on('SIGHUP', remember)
  return {
    release() {
      process.off('SIGHUP', remember)
      if (arrived && process.listenerCount('SIGHUP') > 0) process.emit('SIGHUP', 'SIGHUP')
    },
  }
}
