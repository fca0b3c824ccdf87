/**
 * The admin page's script, served as a same-origin file (CSP script-src 'self'). Plain DOM,
 * no framework: list, filter, revoke, revoke all for a user, auto-refresh.
 */
import { POLL_HEADER } from '../access.js'

export const ADMIN_SCRIPT = String.raw`
'use strict'
const api = document.body.dataset.api
const tbody = document.querySelector('#sessions tbody')
const status = document.getElementById('status')
const filter = document.getElementById('user-filter')
const providerFilter = document.getElementById('provider-filter')
const revokeMatching = document.getElementById('revoke-matching')
const auto = document.getElementById('auto-refresh')
const signin = document.getElementById('signin')
let timer = null

function say(text, isError) {
  status.textContent = text
  status.className = isError ? 'error' : ''
}

function when(iso) {
  if (!iso) return '—'
  const date = new Date(iso)
  return date.toLocaleString()
}

function cell(text, className) {
  const td = document.createElement('td')
  td.textContent = text
  if (className) td.className = className
  return td
}

function button(label, className, onClick) {
  const b = document.createElement('button')
  b.type = 'button'
  b.textContent = label
  b.className = className
  b.addEventListener('click', onClick)
  return b
}

async function call(method, url, body, extraHeaders) {
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: Object.assign(body ? { 'content-type': 'application/json' } : {}, extraHeaders || {}),
    body: body ? JSON.stringify(body) : undefined,
  })
  const data = await response.json().catch(() => ({}))
  if (!response.ok) {
    const error = new Error(data.message || ('HTTP ' + response.status))
    error.status = response.status
    throw error
  }
  return data
}

// poll: the automatic refresh. It says so, and the gateway then does not count it as activity:
// a page left open must not keep its admin signed in past the idle timeout.
async function load(poll) {
  const params = new URLSearchParams({ limit: '500' })
  if (filter.value.trim()) params.set('username', filter.value.trim())
  // "oidc" or "oidc:keycloak": the API's provider filter (type, or type:name).
  if (providerFilter.value.trim()) params.set('provider', providerFilter.value.trim())
  revokeMatching.hidden = !providerFilter.value.trim()
  try {
    const data = await call('GET', api + '?' + params, undefined, poll === true ? { '${POLL_HEADER}': '1' } : undefined)
    signin.hidden = true
    render(data.sessions)
    say(data.sessions.length + ' session' + (data.sessions.length === 1 ? '' : 's') + (data.next_cursor ? ' (first 500 shown)' : '') + ' · updated ' + new Date().toLocaleTimeString())
  } catch (error) {
    tbody.replaceChildren()
    signin.hidden = error.status !== 401
    if (error.status === 401) say('You are not signed in (or your session has ended).', true)
    else say(error.message, true)
  }
}

function render(sessions) {
  const rows = sessions.map((s) => {
    const tr = document.createElement('tr')
    if (s.current) tr.className = 'current'
    const user = cell(s.user)
    if (s.current) {
      const badge = document.createElement('span')
      badge.className = 'badge'
      badge.textContent = 'you'
      user.append(badge)
    }
    tr.append(
      user,
      cell(s.roles.join(', ') || '—'),
      cell(s.provider.type + (s.provider.name && s.provider.name !== s.provider.type ? ' · ' + s.provider.name : '')),
      cell(when(s.created_at)),
      cell(when(s.last_seen)),
      cell(when(s.idle_expires_at)),
    )
    const client = cell(s.client.ip || '—')
    const agent = document.createElement('div')
    agent.className = 'muted'
    agent.textContent = (s.client.user_agent || '').slice(0, 80)
    client.append(agent)
    tr.append(client)
    const actions = document.createElement('td')
    actions.className = 'actions'
    actions.append(
      button('Revoke', 'danger', () => revoke(s)),
      button('Revoke all for ' + s.user, 'secondary', () => revokeUser(s.user)),
    )
    tr.append(actions)
    return tr
  })
  tbody.replaceChildren(...rows)
}

async function revoke(session) {
  if (session.current && !confirm('This is your own session: revoking it signs you out. Continue?')) return
  try {
    await call('DELETE', api + '/' + encodeURIComponent(session.id))
    await load()
    // After the reload, so the confirmation is what stays on screen (and is announced).
    say('Revoked a session of ' + session.user + '.')
  } catch (error) {
    say(error.message, true)
  }
}

async function revokeUser(user) {
  if (!confirm('Revoke every session of ' + user + '?')) return
  try {
    const data = await call('POST', api + '/_invalidate', { match: 'query', query: { username: user } })
    await load()
    say('Revoked ' + data.total + ' session' + (data.total === 1 ? '' : 's') + ' of ' + user + '.')
  } catch (error) {
    say(error.message, true)
  }
}

/** Every session of the provider filter (and the user filter, when set). */
async function revokeAllMatching() {
  const value = providerFilter.value.trim()
  if (!value) return
  const colon = value.indexOf(':')
  const provider = colon === -1 ? { type: value } : { type: value.slice(0, colon), name: value.slice(colon + 1) }
  const query = { provider }
  if (filter.value.trim()) query.username = filter.value.trim()
  if (!confirm('Revoke every session of provider ' + value + (query.username ? ' for ' + query.username : '') + '?')) return
  try {
    const data = await call('POST', api + '/_invalidate', { match: 'query', query })
    await load()
    say('Revoked ' + data.total + ' session' + (data.total === 1 ? '' : 's') + ' of ' + value + '.')
  } catch (error) {
    say(error.message, true)
  }
}

function schedule() {
  clearInterval(timer)
  if (auto.checked) timer = setInterval(() => load(true), 10000)
}

document.getElementById('filter').addEventListener('submit', (event) => {
  event.preventDefault()
  load()
})
auto.addEventListener('change', schedule)
revokeMatching.addEventListener('click', revokeAllMatching)
load()
schedule()
`
