/** Who the caller is, as an authenticator established it; what sessions store and headers forward. */
export interface Identity {
  readonly user: string
  readonly roles: readonly string[]
  readonly email?: string | undefined
  /** Which authenticator produced it: `{type: 'form', name: 'form'}`. */
  readonly provider: { readonly type: string; readonly name: string }
  /** Authenticator-specific facts worth keeping with the session (a JWT's `jti`, `exp`). */
  readonly data?: Readonly<Record<string, unknown>> | undefined
  /** Upper bound for the session's lifespan (ms epoch), e.g. a token's `exp`. */
  readonly notAfter?: number | undefined
}
