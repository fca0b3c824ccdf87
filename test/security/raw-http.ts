import { request as httpRequest } from 'node:http'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** The JSON body's `reason`, when there is one. */
  reason: string | undefined
}

/**
 * One request with the request target exactly as written: fetch() would normalise `..`, `\` and
 * `#` away before the gateway ever saw them, and an attacker's client does not.
 */
export function rawRequest(base: string, target: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<RawResponse> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: target, method, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => {
        let reason: string | undefined
        try {
          reason = (JSON.parse(body) as { reason?: string }).reason
        } catch {
          reason = undefined
        }
        resolve({ status: res.statusCode!, headers: res.headers, body, reason })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}
