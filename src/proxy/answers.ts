import type { ServerResponse } from 'node:http'
import { errorResponse, isStoreOutage } from '../error-response.js'
import { errorPage } from '../http/error-page.js'
import { frameAncestorsDirective, pageSecurityHeaders } from '../http/page-headers.js'
import { wantsHtml } from '../http/request-view.js'
import { sendAnswer, type HeaderValues } from '../http/respond.js'
import type { LogoutAnswer } from '../pipeline/logout.js'
import type { Logger } from '../telemetry/logger.js'
import type { StoreHealth } from '../telemetry/store-health.js'

export interface Answers {
  /**
   * An error through the one error map: an HTML page for browsers (`Accept: text/html`), JSON
   * for everyone else; `status` overrides (a route's `deny_anonymous`).
   */
  error(res: ServerResponse, error: unknown, setCookie?: readonly string[], status?: number): void
  logout(res: ServerResponse, answer: LogoutAnswer): void
  redirect(res: ServerResponse, location: string, setCookie: readonly string[]): void
}

/** Error pages are never framed unless the gateway's pages may be (`errorPageHeaders`). */
const DEFAULT_PAGE_HEADERS = pageSecurityHeaders(frameAncestorsDirective([]))

/** Answers written on plain node:http by the proxy and forward-auth, the same way the Fastify endpoints write them. */
export function createAnswers(deps: { basicChallenge?: string | undefined; storeHealth: StoreHealth; log: Logger; errorPageHeaders?: Record<string, string> | undefined }): Answers {
  const pageHeaders = deps.errorPageHeaders ?? DEFAULT_PAGE_HEADERS
  return {
    error(res, error, setCookie = [], status) {
      const answer = errorResponse(error, status)
      if (isStoreOutage(error)) deps.storeHealth.failed(error)
      else if (answer.status === 500) deps.log.error({ err: error }, 'unexpected error')
      // Only answers that are errors look at Accept: the pass path pays nothing for pages.
      const html = res.req !== undefined && wantsHtml(res.req.headers)
      const headers: HeaderValues = html ? { ...pageHeaders, 'set-cookie': setCookie } : { 'cache-control': 'no-store', 'set-cookie': setCookie }
      if (answer.status === 401 && deps.basicChallenge) headers['www-authenticate'] = deps.basicChallenge
      if (answer.headers) Object.assign(headers, answer.headers)
      if (html) sendAnswer(res, answer.status, headers, errorPage(answer.status, answer.body.message, { code: answer.body.reason ?? answer.body.code }), 'text/html; charset=utf-8')
      else sendAnswer(res, answer.status, headers, JSON.stringify(answer.body), 'application/json; charset=utf-8')
    },
    logout(res, answer) {
      sendAnswer(res, answer.status, answer.headers, answer.body ? JSON.stringify(answer.body) : undefined, answer.body ? 'application/json; charset=utf-8' : undefined)
    },
    redirect(res, location, setCookie) {
      sendAnswer(res, 302, { location, 'cache-control': 'no-store', 'set-cookie': setCookie })
    },
  }
}
