import { escapeHtml } from './html.js'

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign-in required',
  403: 'Access denied',
  404: 'Not found',
  405: 'Method not allowed',
  413: 'Request too large',
  429: 'Too many attempts',
  500: 'Something went wrong',
  501: 'Not available',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
}

const HINTS: Record<number, string> = {
  401: 'You need to sign in to see this page.',
  403: 'You are signed in, but not allowed to see this page.',
  404: 'There is nothing at this address.',
  502: 'The application behind the gateway cannot be reached right now. Try again in a moment.',
  503: 'The service is temporarily unavailable. Try again in a moment.',
  504: 'The application behind the gateway did not answer in time. Try again in a moment.',
}

/**
 * A plain error page for browsers: inline style only (no external assets), every dynamic text
 * escaped, never a stack trace. `message` is the error's public message; `signIn` an optional link.
 */
export function errorPage(status: number, message: string, options: { code?: string | undefined; signIn?: string | undefined } = {}): string {
  const title = TITLES[status] ?? (status >= 500 ? 'Server error' : 'Request refused')
  const hint = HINTS[status]
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${status} ${escapeHtml(title)}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center;background:#f5f5f4;color:#1c1917}
main{max-width:32rem;padding:2rem;background:#fff;border:1px solid #e7e5e4;border-radius:8px}
h1{font-size:1.25rem;margin:0 0 .5rem}p{margin:.5rem 0}.detail{color:#57534e;font-size:.875rem}a{color:#1d4ed8}
</style>
</head>
<body>
<main>
<h1>${status} · ${escapeHtml(title)}</h1>
${hint ? `<p>${escapeHtml(hint)}</p>\n` : ''}<p class="detail">${escapeHtml(message)}${options.code ? ` (${escapeHtml(options.code)})` : ''}</p>
${options.signIn ? `<p><a href="${escapeHtml(options.signIn)}">Sign in</a></p>\n` : ''}</main>
</body>
</html>
`
}
