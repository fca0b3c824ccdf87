import { ConfigInvalid, GatehouseError } from '../errors.js'

export const EXIT_OK = 0
export const EXIT_RUNTIME = 1
export const EXIT_USAGE = 2

/** Prints a failure for a person (no stack trace) and returns the exit code it deserves. */
export function reportFailure(error: unknown, file?: string): number {
  if (error instanceof ConfigInvalid) {
    process.stderr.write(`gatehouse: invalid configuration${file ? ` in ${file}` : ''}:\n`)
    for (const problem of error.problems) process.stderr.write(`  ${problem}\n`)
    return EXIT_USAGE
  }
  if (error instanceof GatehouseError) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
    process.stderr.write(`gatehouse: ${error.message}${cause}\n`)
    return EXIT_RUNTIME
  }
  const err = error as NodeJS.ErrnoException
  process.stderr.write(`gatehouse: ${err?.code === 'EADDRINUSE' ? `address already in use: ${err.message}` : (err?.message ?? String(error))}\n`)
  if (process.env.GATEHOUSE_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`)
  return EXIT_RUNTIME
}
