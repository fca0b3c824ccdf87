import type { FollowUsers } from './manager.js'
import type { Session } from './session.js'
import type { SessionAdmin } from './store/store.js'

/** What of the user directory (src/auth/users.ts) sessions follow. */
export interface DirectoryLookup {
  find(username: string): { readonly roles: readonly string[]; readonly email?: string | undefined } | undefined
  /** Every user name: a new directory that removed nobody needs no sweep. */
  names(): Iterable<string>
}

/** Sessions of these providers belong to an internal user; JWT, API-key and OIDC sessions carry their own identity. */
export const DIRECTORY_PROVIDERS: readonly string[] = ['form', 'basic']

export interface UserFollower {
  /** Per request, on the current directory: one Map lookup, no store round trip. */
  readonly follow: FollowUsers
  /**
   * A new directory (start, reload): from the next request on, sessions see its roles and
   * e-mail, and sessions of users no longer in it end (`session_revoked`). Also sweeps the store
   * (server-side), so listings and open WebSockets drop them; resolves to how many it ended.
   * The sweep reads every form/Basic session (1,000 per page), so a reload that removed nobody
   * after a sweep that completed skips it: no session of a removed user can be left.
   */
  apply(directory: DirectoryLookup): Promise<number>
}

function removedNobody(previousNames: Iterable<string>, next: DirectoryLookup): boolean {
  for (const name of previousNames) if (!next.find(name)) return false
  return true
}

const sameRoles = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((role, i) => role === b[i])

/**
 * `admin`: the ending admin (tombstones) of a server-side store, for the sweep; absent on cookie
 * storage (the per-request check alone ends a removed user's cookies) and on workers that do not
 * run cleanup (one sweep per store is enough; every worker still checks each request).
 */
export function createUserFollower(initial: DirectoryLookup, admin: SessionAdmin | undefined, now: () => number): UserFollower {
  let directory = initial
  /** True once a sweep completed for `directory`; the first apply (at start) always sweeps. */
  let swept = false
  const follow: FollowUsers = (session) => {
    if (!DIRECTORY_PROVIDERS.includes(session.provider.type)) return session
    const user = directory.find(session.user)
    if (!user) return null
    if (sameRoles(session.roles, user.roles) && session.email === user.email) return session
    return { ...session, roles: [...user.roles], email: user.email }
  }
  const sweep = async (): Promise<number> => {
    if (!admin) return 0
    const at = now()
    const gone: Session[] = []
    for (const type of DIRECTORY_PROVIDERS) {
      let cursor: string | undefined
      do {
        const page = await admin.list({ provider: { type }, limit: 1000, cursor, now: at })
        gone.push(...page.sessions.filter((session) => !directory.find(session.user)))
        cursor = page.nextCursor ?? undefined
        // A large store is swept in the background: let requests in between pages.
        if (cursor) await new Promise((resolve) => setTimeout(resolve, 1))
      } while (cursor)
    }
    return gone.length > 0 ? admin.remove(gone.map((s) => s.id)) : 0
  }
  return {
    follow,
    async apply(next) {
      const previous = directory
      directory = next
      if (swept && removedNobody(previous.names(), next)) return 0
      swept = false
      const ended = await sweep()
      // A newer directory may have arrived meanwhile; its own apply sweeps for it.
      if (directory === next) swept = true
      return ended
    },
  }
}
