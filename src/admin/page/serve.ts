import type { FastifyInstance } from 'fastify'
import { escapeHtml } from '../../http/html.js'
import { ADMIN_SCRIPT } from './script.js'
import { ADMIN_STYLE } from './style.js'

/**
 * The admin page: one HTML shell, one script and one stylesheet, all served by the gateway
 * (no CDN), under a CSP that allows only these. Data comes from the admin API with the cookie.
 */
export function registerAdminPage(app: FastifyInstance, base: string, headers: Record<string, string>): void {
  app.get(`${base}/`, async (_request, reply) => reply.headers(headers).type('text/html; charset=utf-8').send(adminHtml(base)))
  app.get(base, async (_request, reply) => reply.redirect(`${base}/`, 302))
  app.get(`${base}/app.js`, async (_request, reply) => reply.header('cache-control', 'no-cache').type('text/javascript; charset=utf-8').send(ADMIN_SCRIPT))
  app.get(`${base}/app.css`, async (_request, reply) => reply.header('cache-control', 'no-cache').type('text/css; charset=utf-8').send(ADMIN_STYLE))
}

function adminHtml(base: string): string {
  // The login page sits next to the admin one under the endpoints prefix; back here after signing in.
  const signIn = `${base.replace(/\/admin$/, '')}/login?rd=${encodeURIComponent(`${base}/`)}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sessions · Gatehouse</title>
<link rel="stylesheet" href="${base}/app.css">
<script src="${base}/app.js" defer></script>
</head>
<body data-api="${base}/sessions">
<header>
  <h1>Active sessions</h1>
  <p class="sub">Every signed-in session this gateway knows about. Revoking one logs that browser out at its next request.</p>
</header>
<main>
  <form id="filter" role="search">
    <label for="user-filter">Filter by user</label>
    <input id="user-filter" name="username" type="search" autocomplete="off" spellcheck="false" placeholder="username">
    <label for="provider-filter">Provider</label>
    <input id="provider-filter" name="provider" type="search" autocomplete="off" spellcheck="false" placeholder="oidc:keycloak">
    <button type="submit">Apply</button>
    <button type="button" id="revoke-matching" class="danger" hidden>Revoke all matching</button>
    <label class="inline"><input id="auto-refresh" type="checkbox" checked> Refresh every 10 s</label>
  </form>
  <p id="status" role="status" aria-live="polite"></p>
  <p id="signin" class="signin" hidden>You are signed out. <a href="${escapeHtml(signIn)}">Sign in</a> with an account that has an admin role.</p>
  <div class="table-wrap">
    <table id="sessions">
      <caption class="visually-hidden">Active sessions</caption>
      <thead><tr>
        <th scope="col">User</th><th scope="col">Roles</th><th scope="col">Provider</th><th scope="col">Signed in</th>
        <th scope="col">Last seen</th><th scope="col">Expires (idle)</th><th scope="col">Client</th><th scope="col"><span class="visually-hidden">Actions</span></th>
      </tr></thead>
      <tbody></tbody>
    </table>
  </div>
</main>
</body>
</html>
`
}
