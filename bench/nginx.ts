// Debian's nginx as a non-daemon child: own prefix, temp dirs, pid file and error log in a temp dir.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, startProcess, waitForHttp, type Started } from './proc.js'

export interface NginxOptions {
  workers: number
  upstreamPort: number
  /** auth_request to this backend and path; none = a plain reverse proxy. */
  auth?: { port: number; path: string }
  /** Keep-alive to the Node backends (upstream blocks with `keepalive`); true for every measured case. */
  keepalive?: boolean
  pin?: string
}

/** `nginx -v` prints to stderr. */
export function nginxVersion(): string {
  const out = spawnSync('nginx', ['-v'], { encoding: 'utf8' })
  return `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().replace(/^nginx version: /, '') || 'unknown'
}

function config(dir: string, port: number, o: NginxOptions): string {
  const keepalive = o.keepalive !== false
  // Without these two lines nginx speaks HTTP/1.0 to the backend and closes every connection.
  const toBackend = keepalive ? ['proxy_http_version 1.1;', 'proxy_set_header Connection "";'] : []
  const pool = keepalive ? 'keepalive 64; keepalive_requests 100000; keepalive_timeout 60s;' : ''
  const authLines = o.auth
    ? [
        'auth_request /_bench_auth;',
        'auth_request_set $auth_user $upstream_http_x_forwarded_user;',
        'auth_request_set $auth_groups $upstream_http_x_forwarded_groups;',
        'proxy_set_header X-Forwarded-User $auth_user;',
        'proxy_set_header X-Forwarded-Groups $auth_groups;',
      ]
    : []
  const authLocation = o.auth
    ? `
    location = /_bench_auth {
      internal;
      proxy_pass http://authcheck${o.auth.path};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      ${toBackend.join('\n      ')}
    }`
    : ''
  return `
worker_processes ${o.workers};
daemon off;
master_process on;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  keepalive_requests 100000;
  upstream app { server 127.0.0.1:${o.upstreamPort}; ${pool} }
  ${o.auth ? `upstream authcheck { server 127.0.0.1:${o.auth.port}; ${pool} }` : ''}
  server {
    listen 127.0.0.1:${port};
    location / {
      ${authLines.join('\n      ')}
      proxy_pass http://app;
      ${toBackend.join('\n      ')}
    }${authLocation}
  }
}
`
}

/** Starts nginx and waits until it answers on its port. */
export async function startNginx(dir: string, options: NginxOptions): Promise<{ url: string; proc: Started }> {
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const file = join(dir, 'nginx.conf')
  writeFileSync(file, config(dir, port, options))
  const proc = startProcess('nginx', 'nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', file], { pin: options.pin })
  const url = `http://127.0.0.1:${port}`
  // Any HTTP answer (401 without a cookie) means nginx is up.
  await waitForHttp(`${url}/x`, proc, 10_000, () => true)
  return { url, proc }
}
