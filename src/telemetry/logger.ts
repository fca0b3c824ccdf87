import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * JSON logs. Gatehouse logs explicit fields only; the redaction list is a second line of
 * defence in case a header object or body ever reaches a log call.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'gatehouse' },
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'headers.cookie',
        'headers.authorization',
        '*.headers.cookie',
        '*.headers.authorization',
        'req.headers.cookie',
        'req.headers.authorization',
        'secrets',
        '*.secrets',
      ],
      censor: '[redacted]',
    },
  }
  return destination ? pino(options, destination as never) : pino(options)
}
