import { escapeHtml } from '../../http/html.js'

/** The login form: plain HTML, no external assets, usable with a keyboard and a screen reader. */
export function renderLoginPage(options: { action: string; rd?: string | undefined; error?: string | undefined; username?: string | undefined; rememberMe?: boolean | undefined; remember?: boolean | undefined; notice?: string | undefined; form?: boolean | undefined; providers?: readonly LoginProvider[] | undefined }): string {
  const error = options.error
    ? `<p class="error" role="alert" id="login-error">${escapeHtml(options.error)}</p>`
    : ''
  // Unticked by default: a shared computer must not keep the session after the browser closes.
  const remember = options.rememberMe
    ? `<label class="check"><input id="remember" name="remember" type="checkbox" value="on"${options.remember ? ' checked' : ''}> Remember me</label>`
    : ''
  // A setup problem the person signing in should see before trying (e.g. a cookie the browser will drop).
  const notice = options.notice ? `<p class="notice" role="alert" id="login-notice">${escapeHtml(options.notice)}</p>` : ''
  const rd = options.rd ? `<input type="hidden" name="rd" value="${escapeHtml(options.rd)}">` : ''
  const providers = renderProviders(options.providers ?? [], options.rd, options.form !== false)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>Sign in · Gatehouse</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: Canvas; color: CanvasText; }
  main { width: min(22rem, 92vw); padding: 2rem; border: 1px solid color-mix(in srgb, CanvasText 20%, transparent); border-radius: 12px; }
  h1 { font-size: 1.4rem; margin: 0 0 1.5rem; }
  label { display: block; font-weight: 600; margin: 1rem 0 .35rem; }
  input[type=text], input[type=password] { box-sizing: border-box; width: 100%; padding: .6rem .7rem; font-size: 1rem; border: 1px solid #8a8a8a; border-radius: 6px; }
  input:focus-visible, button:focus-visible { outline: 3px solid #2b6cb0; outline-offset: 2px; }
  button { margin-top: 1.5rem; width: 100%; padding: .7rem; font-size: 1rem; font-weight: 600; color: #fff; background: #2b6cb0; border: 0; border-radius: 6px; cursor: pointer; }
  label.check { display: flex; gap: .5rem; align-items: center; font-weight: 400; }
  label.check input { width: 1.1rem; height: 1.1rem; margin: 0; }
  .error { margin: 0 0 1rem; padding: .6rem .8rem; border-radius: 6px; background: #fde8e8; color: #9b1c1c; }
  .notice { margin: 0 0 1rem; padding: .6rem .8rem; border-radius: 6px; background: #fef3c7; color: #78350f; }
  .providers { margin: 0 0 1.5rem; padding: 0; list-style: none; display: grid; gap: .6rem; }
  .providers a { display: block; padding: .7rem; text-align: center; font-weight: 600; border: 1px solid #2b6cb0; border-radius: 6px; color: inherit; text-decoration: none; }
  .providers a:focus-visible { outline: 3px solid #2b6cb0; outline-offset: 2px; }
  .or { text-align: center; margin: 0 0 .5rem; opacity: .7; }
</style>
</head>
<body>
<main>
  <h1>Sign in</h1>
  ${notice}
  ${error}
  ${providers}
  ${options.form === false ? '' : `<form method="post" action="${escapeHtml(options.action)}" ${options.error ? 'aria-describedby="login-error"' : ''}>
    ${rd}
    <label for="username">Username</label>
    <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="${escapeHtml(options.username ?? '')}">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    ${remember}
    <button type="submit">Sign in</button>
  </form>`}
</main>
</body>
</html>
`
}

/** An OIDC provider's "Sign in with {name}" link: `<prefix>/oidc/{name}/login`. */
export interface LoginProvider {
  readonly name: string
  readonly href: string
}

function renderProviders(providers: readonly LoginProvider[], rd: string | undefined, withForm: boolean): string {
  if (providers.length === 0) return ''
  const items = providers
    .map((p) => `<li><a href="${escapeHtml(rd ? `${p.href}?rd=${encodeURIComponent(rd)}` : p.href)}">Sign in with ${escapeHtml(p.name)}</a></li>`)
    .join('')
  return `<ul class="providers" aria-label="Sign in with an identity provider">${items}</ul>${withForm ? '<p class="or">or with your password</p>' : ''}`
}
