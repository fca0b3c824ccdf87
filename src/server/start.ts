import type { Config } from '../config/schema.js'
import { buildGateway, type Gateway, type GatewayDeps } from './app.js'
import { reloadOnSighup } from './reload.js'
import { warnInsecureCookie } from './secure-cookie.js'

export interface StartOptions {
  /** SIGTERM/SIGINT shut the process down (a worker handles them itself). */
  handleSignals?: boolean
  /** SIGHUP re-reads the config with this function (the file `gatehouse start` was given). */
  reload?: { file: string; load: () => Config }
}

/** Builds the gateway, listens, warns about unbounded stores, and shuts down cleanly on SIGTERM/SIGINT. */
export async function startGateway(config: Config, deps: GatewayDeps = {}, options: StartOptions = {}): Promise<Gateway & { url: string }> {
  const gateway = await buildGateway(config, deps)
  const { log } = gateway
  if (config.session.idle_timeout === null && config.session.lifespan === null && config.session.storage !== 'cookie') {
    log.warn({ event: 'unbounded_sessions' }, 'session.idle_timeout and session.lifespan are both disabled: sessions never expire and the store can grow without bound')
  }
  warnInsecureCookie(config, log)
  const address = await gateway.listen({ host: config.listen.host, port: config.listen.port })
  log.info({ event: 'started', address, store: config.session.storage }, 'gatehouse listening')
  let stopReloading = () => {}
  if (options.reload) {
    const { file, load } = options.reload
    stopReloading = reloadOnSighup({ file, load, log, reload: async (next) => {
      const result = await gateway.reload(next)
      warnInsecureCookie(gateway.config, log)
      return result
    } })
  }
  const closeGateway = gateway.close.bind(gateway)
  const close = () => (stopReloading(), closeGateway())

  if (options.handleSignals) {
    const stop = (signal: string) => {
      log.info({ event: 'stopping', signal }, 'shutting down')
      close().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  }
  return Object.assign(gateway, { url: address, close })
}
