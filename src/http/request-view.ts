import type { IncomingHttpHeaders } from 'node:http'

/** The parts of a request that deciding about it needs: the request line, headers and peer, never the body stream. */
export interface RequestView {
  readonly method: string
  /** Path and query as received. */
  readonly url: string
  readonly headers: IncomingHttpHeaders
  /** The peer's address. */
  readonly ip: string
}

/** Whether the client asked for a page (a browser navigation) rather than data. */
export function wantsHtml(headers: IncomingHttpHeaders): boolean {
  const accept = headers.accept
  return typeof accept === 'string' && accept.includes('text/html')
}

/** Path without the query string: what logs may show (queries can carry tokens). */
export function pathOf(url: string): string {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}
