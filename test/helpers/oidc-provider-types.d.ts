// oidc-provider ships no types; this is the little of its API the test helper uses.
declare module 'oidc-provider' {
  interface Grant {
    addOIDCScope(scope: string): void
    addOIDCClaims(claims: string[]): void
    save(): Promise<string>
  }
  interface InteractionDetails {
    uid: string
    prompt: { name: string; details: Record<string, unknown> }
    params: Record<string, unknown>
    session?: { accountId: string }
    grantId?: string
  }
  type Listener = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, any>)
    callback(): Listener
    interactionDetails(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<InteractionDetails>
    interactionFinished(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>
    Grant: { new (fields: { accountId: string; clientId: string }): Grant; find(id: string): Promise<Grant | undefined> }
    on(event: string, listener: (...args: any[]) => void): this
  }
}
