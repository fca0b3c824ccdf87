import type { ServerResponse } from 'node:http'

export type HeaderValues = Record<string, string | readonly string[]>

/** Writes a whole small answer on a plain node:http response (empty header lists are left out). */
export function sendAnswer(res: ServerResponse, status: number, headers: HeaderValues, body?: string, contentType?: string): void {
  if (res.headersSent || res.destroyed) return
  const out: Record<string, string | string[]> = {}
  for (const name in headers) {
    const value = headers[name]!
    if (typeof value === 'string') out[name] = value
    else if (value.length > 0) out[name] = [...value]
  }
  if (contentType) out['content-type'] = contentType
  out['content-length'] = body === undefined ? '0' : String(Buffer.byteLength(body))
  res.writeHead(status, out)
  res.end(body)
}
