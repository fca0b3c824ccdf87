import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import { createSecureContext } from 'node:tls'
import type { Config } from '../config/schema.js'
import { ConfigInvalid } from '../errors.js'

export type Listener = HttpServer | HttpsServer

/** The PEM contents of `tls.cert_file` and `tls.key_file`. */
export interface TlsFiles {
  readonly cert: Buffer
  readonly key: Buffer
}

/**
 * Reads `tls` (null without it) and checks each file and then the pair, so a wrong file is a
 * config error naming its key at start and a refused reload later, never a listener that fails
 * its first handshake.
 */
export function readTls(config: Config): TlsFiles | null {
  if (!config.tls) return null
  const problems: string[] = []
  const read = (key: 'cert_file' | 'key_file'): Buffer | undefined => {
    const file = config.tls![key]
    try {
      return readFileSync(file)
    } catch (error) {
      problems.push(`tls.${key}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
      return undefined
    }
  }
  const cert = read('cert_file')
  const key = read('key_file')
  if (cert) {
    try {
      new X509Certificate(cert)
    } catch (error) {
      problems.push(`tls.cert_file: not a PEM certificate (${(error as Error).message})`)
    }
  }
  if (key) {
    try {
      createPrivateKey(key)
    } catch (error) {
      problems.push(`tls.key_file: not a PEM private key (${(error as Error).message})`)
    }
  }
  if (problems.length > 0 || !cert || !key) throw new ConfigInvalid(problems)
  try {
    createSecureContext({ cert, key })
  } catch (error) {
    throw new ConfigInvalid([`tls.key_file: cannot be used with the certificate in tls.cert_file (${(error as Error).message})`])
  }
  return { cert, key }
}

/** node:https with `tls`, node:http without; either way the gateway's one listening server. */
export function createListener(tls: TlsFiles | null, handler: (req: IncomingMessage, res: ServerResponse) => void): Listener {
  const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler)
  server.on('clientError', answerClientError)
  return server
}

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'request timeout'],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'request headers too large'],
}

/** A request node:http could not parse (or that timed out): a short JSON answer, then the socket is closed. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, text, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'Bad Request', 'malformed request']
  const body = JSON.stringify({ error: status === 400 ? 'bad_request' : text.toLowerCase().replaceAll(' ', '_'), code: 'ERR_BAD_REQUEST', message })
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`)
  socket.destroy()
}

/** New certificate and key for the connections that follow; open ones keep theirs. */
export function applyTls(server: Listener, tls: TlsFiles): void {
  if ('setSecureContext' in server) server.setSecureContext({ cert: tls.cert, key: tls.key })
}
