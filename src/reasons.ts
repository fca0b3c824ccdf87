/**
 * Every `reason` a GatehouseError may carry: the stable, machine-readable cause sent in response
 * bodies (`{"code":…,"reason":…}`) and logged with `auth_rejected`. `GatehouseError` accepts only
 * these, so a new reason is a type error until it is added here and to docs/errors.md
 * (test/errors.test.ts keeps the two in step). `status` is the status the reason is normally
 * answered with; the error class decides the actual one.
 */
export const REASONS = {
  // The request itself (path guard, router)
  bad_path: { status: 400, meaning: 'path not starting with `/`, a fragment (`#`), bad percent-encoding, control characters, or `.`/`..`/dot-only segments in any reading (`/..;/`, `%2e%2e`, `/.../`)' },
  ambiguous_path: { status: 400, meaning: 'the readings of the path an upstream may make (as sent, decoded, without `;` parameters or trailing dots, ignoring case) match different routes' },
  no_route: { status: 404, meaning: 'no route matches the path' },
  upgrade_not_supported: { status: 400, meaning: 'an `Upgrade` other than `websocket` on a request with a body (bodiless ones are served as plain HTTP)' },
  duplicate_session_cookie: { status: 400, meaning: 'two different values for the session cookie or one of its chunks in one request (cookie tossing from a sibling subdomain); identical copies pass' },
  bad_original_request: { status: 400, meaning: 'forward-auth: a trusted proxy sent a malformed `X-Original-URL`, `X-Original-URI`, `X-Forwarded-Uri` or original method' },

  // Nobody identified
  no_credentials: { status: 401, meaning: 'no session cookie and no credential where authentication is required' },
  // A session cookie came but no longer works (also in the `Gatehouse-Session-End` response header)
  session_expired: { status: 401, meaning: 'the cookie\'s session passed its idle timeout or lifespan (or the id was replaced by renewal and its `rotation_grace` is over)' },
  session_revoked: { status: 401, meaning: 'the cookie\'s session was ended: logout (also in another tab or of the other id of a renewal), admin or CLI revocation, or its user was removed from `users`' },
  session_evicted: { status: 401, meaning: 'the cookie\'s session was evicted by a newer login of the same user beyond `session.max_sessions`' },
  no_session: { status: 401, meaning: '`/session` called without a session cookie (one whose session ended gets that end\'s reason)' },
  sign_in_at_gateway: { status: 401, meaning: 'nginx `/auth`: the answer needs the browser (a `?jwt=` link, the logout argument); `error_page 401` hands it to `/forward-auth`' },

  // Form / JSON login
  missing_credentials: { status: 400, meaning: 'login body is not a form or JSON object with non-empty string `username` and `password`' },
  field_too_long: { status: 400, meaning: 'login `username` or `password` over the length limit' },
  invalid_credentials: { status: 401, meaning: 'wrong username or password (login, Basic) or refused by the external Basic service' },
  too_many_attempts: { status: 429, meaning: '`auth.login_limit`: too many failed logins for this user name or from this client IP; refused without checking the password until `Retry-After`' },
  bad_origin: { status: 403, meaning: 'cross-site `Origin` on login, logout or an admin write; on logout (any method, the logout argument on any path) also `Sec-Fetch-Site: cross-site` without an `allowed_origins` Origin' },

  // Basic, external Basic, API keys
  malformed_credentials: { status: 401, meaning: 'an undecodable Basic header, or an unsafe username for external Basic' },
  unknown_api_key: { status: 401, meaning: 'no API key with that digest' },
  external_auth_unavailable: { status: 503, meaning: 'the external Basic service cannot be reached, times out or answers other than 200/401/403' },

  // JWT
  token_too_large: { status: 401, meaning: 'token over 16 KB, refused before parsing' },
  malformed_token: { status: 401, meaning: 'not a compact JWS, or any verification failure without a more specific reason' },
  embedded_key_not_allowed: { status: 401, meaning: 'a `jwk`, `jku`, `x5u` or `x5c` header (the token naming its own key)' },
  alg_not_allowed: { status: 401, meaning: '`alg` outside the allow-list: `none`, HS with a public key, …' },
  bad_signature: { status: 401, meaning: 'the signature does not verify (tampered, or another key)' },
  missing_kid: { status: 401, meaning: 'no `kid` and the JWKS has no single key for the token' },
  unknown_kid: { status: 401, meaning: 'no JWKS key with that `kid` (after at most one refetch per cooldown)' },
  token_expired: { status: 401, meaning: '`exp` passed (after `clock_tolerance`)' },
  token_not_yet_valid: { status: 401, meaning: '`nbf` in the future (after `clock_tolerance`)' },
  token_too_old: { status: 401, meaning: '`iat + max_age` passed; with `max_age`, also an `iat` missing or in the future' },
  untrusted_issuer: { status: 401, meaning: '`iss` missing or not the configured issuer' },
  bad_audience: { status: 401, meaning: '`aud` missing or not the configured audience' },
  invalid_claims: { status: 401, meaning: 'another registered claim check failed (e.g. a non-numeric `exp`)' },
  missing_user_claim: { status: 401, meaning: 'no usable `user_claim` (absent, not a string, empty or over 256 characters, with control characters or whitespace at either end)' },
  unknown_user: { status: 401, meaning: 'the token\'s user is not in `users` with `validate_against_users`' },
  jwks_unavailable: { status: 503, meaning: 'the JWKS URL cannot be fetched or answers garbage' },

  // Authorization
  role_not_allowed: { status: 403, meaning: 'none of the caller\'s roles is in the route\'s `roles`' },
  anonymous_denied: { status: 403, meaning: 'the anonymous identity on a route with `deny_anonymous` (answered with its `status`, default 403)' },

  // Upstream
  upstream_unreachable: { status: 502, meaning: 'the upstream refused or reset the connection' },
  upstream_timeout: { status: 504, meaning: 'the upstream did not answer within the route\'s timeout' },

  // Admin API
  bad_admin_token: { status: 401, meaning: 'a Bearer token that is not `admin.token`' },
  not_admin: { status: 403, meaning: 'the session has none of `admin.roles`' },
  bad_limit: { status: 400, meaning: '`limit` not an integer from 1 to 1000' },
  invalid_cursor: { status: 400, meaning: '`cursor` not one this gateway handed out' },
  bad_invalidate_body: { status: 400, meaning: '`_invalidate` body not `{"match":"all"}` or a valid `{"match":"query",…}`' },
  unknown_session: { status: 404, meaning: 'admin API: no session with that id (or not a well-formed id), 404; a session cookie this gateway never issued (forged, garbled, another secret): 401' },
  cookie_storage: { status: 501, meaning: 'listing or revoking sessions with `session.storage: cookie`' },

  // OIDC (auth.oidc)
  unknown_oidc_provider: { status: 404, meaning: 'no `auth.oidc` provider of that name in `<prefix>/oidc/{name}/…`' },
  oidc_no_login: { status: 401, meaning: 'OIDC callback without a login started in this browser (no, expired or forged login cookie)' },
  oidc_bad_state: { status: 401, meaning: 'OIDC callback whose `state` is missing or not the one of the login this browser started' },
  oidc_replayed: { status: 401, meaning: 'OIDC callback for a login already completed (a replayed `code`/`state`)' },
  oidc_denied: { status: 401, meaning: 'the provider answered the callback with an `error` (`access_denied`, `login_required`, …)' },
  oidc_code_rejected: { status: 401, meaning: 'the provider\'s token endpoint refused the authorization code (used, expired, or PKCE mismatch)' },
  oidc_bad_id_token: { status: 401, meaning: 'the provider\'s answer failed validation: the ID token (signature against the provider JWKS, `alg` outside the asymmetric allow-list, `iss`, `aud`, `exp`, `nonce`) or the authorization response (its `iss`)' },
  oidc_role_not_allowed: { status: 403, meaning: 'the provider\'s user has none of the provider\'s `allowed_roles`' },
  oidc_unavailable: { status: 503, meaning: 'the OpenID provider (discovery, token endpoint, JWKS) cannot be reached or answers garbage' },
  bad_logout_token: { status: 400, meaning: 'back-channel logout: `logout_token` missing, unsigned (`alg: none`) or badly signed, wrong `iss`/`aud`, no logout `events`, a `nonce`, no `sid`/`sub`, no `jti`, or too old' },
  logout_token_replayed: { status: 400, meaning: 'back-channel logout: a `logout_token` whose `jti` was already used' },
  bad_frontchannel_logout: { status: 400, meaning: 'front-channel logout: `iss` missing or not the provider\'s issuer exactly, or `sid` missing' },
  oidc_token_too_large: { status: 502, meaning: 'a token from the provider is too large to keep in the shared state (over ~48 KB: 64 KiB sealed per entry)' },
} as const satisfies Readonly<Record<string, { readonly status: number; readonly meaning: string }>>

/** A documented `reason`; anything else does not type-check. */
export type Reason = keyof typeof REASONS

/** Every reason, in the order of REASONS. */
export const reasonNames: readonly Reason[] = Object.keys(REASONS) as Reason[]
