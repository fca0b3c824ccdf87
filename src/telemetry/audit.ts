import type { Logger } from './logger.js'

export type AuditEvent =
  | 'login_success'
  | 'login_failure'
  | 'login_blocked'
  | 'login_block_started'
  | 'logout'
  | 'session_renewed'
  | 'session_evicted'
  | 'session_cleanup'
  | 'admin_list_sessions'
  | 'admin_invalidate_sessions'
  | 'admin_delete_session'

/**
 * One structured line per security-relevant event, marked `audit: true` with its own `event`,
 * so a log pipeline can route them apart from request logs. Never a secret in `fields`.
 */
export function audit(log: Logger, event: AuditEvent, fields: Record<string, unknown>, message: string = event.replace(/_/g, ' ')): void {
  log.info({ audit: true, event, ...fields }, message)
}
