import { spawn, type ChildProcess } from 'node:child_process'

export interface GatewayProcess {
  url: string
  child: ChildProcess
  stop(): Promise<void>
}

/** Starts test/helpers/gateway-process.ts with a config object; resolves once it listens. */
export function startGatewayProcess(config: Record<string, unknown>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/gateway-process.ts'], {
    env: { ...process.env, GATEHOUSE_TEST_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => (child.kill(), reject(new Error(`gateway process did not start:\n${output}`))), 20_000)
    const onData = (chunk: Buffer) => {
      output += chunk
      const match = /LISTENING (\S+)/.exec(output)
      if (!match) return
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      child.stdout!.resume()
      resolve({
        url: match[1]!,
        child,
        stop: () => new Promise((done) => (child.exitCode !== null ? done() : (child.once('exit', () => done()), child.kill('SIGTERM')))),
      })
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk) => (output += chunk))
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`gateway process exited (${code}):\n${output}`))))
  })
}
