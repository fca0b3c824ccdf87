import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { escapeHtml } from '../http/html.js'

export interface EchoRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

/**
 * A tiny upstream that shows what it received: an HTML page of the request headers for
 * browsers (the demo), JSON otherwise (tests). It never sees the gateway's cookie.
 */
export async function startEchoUpstream(options: { host?: string; port?: number; onRequest?: (request: EchoRequest) => void } = {}): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const echo: EchoRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      options.onRequest?.(echo)
      if (String(req.headers.accept ?? '').includes('text/html')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        res.end(renderEchoPage(echo))
      } else {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(echo))
      }
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    server,
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  }
}

function renderEchoPage(echo: EchoRequest): string {
  const user = echo.headers['x-forwarded-user']
  const rows = Object.entries(echo.headers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `<tr${name.startsWith('x-forwarded-') ? ' class="id"' : ''}><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(String(value))}</td></tr>`)
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Echo upstream</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .6rem;vertical-align:top;border-bottom:1px solid #ddd;font-family:ui-monospace,monospace;font-size:.9rem;word-break:break-all}th{white-space:nowrap;word-break:normal}tr.id{background:#e6f4ea}a.button{display:inline-block;margin-top:1rem;padding:.5rem 1rem;background:#2b6cb0;color:#fff;border-radius:6px;text-decoration:none}</style>
</head><body>
<h1>Hello${user ? `, <span id="user">${escapeHtml(String(user))}</span>` : ''}</h1>
<p>This page is the demo upstream. It shows the request exactly as it arrived through Gatehouse: <code>${escapeHtml(echo.method)} ${escapeHtml(echo.url)}</code></p>
<table><caption>Request headers</caption><tbody>
${rows}
</tbody></table>
<a class="button" href="/_gatehouse/logout">Log out</a>
</body></html>`
}
