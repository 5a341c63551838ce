/**
 * Audit actions are named `<subject>.<event>` (`integration.created`, `api_token.revoked`). Events
 * recorded before that convention keep their stored name; this maps each to its current name so
 * the audit page shows one vocabulary for old and new rows alike.
 */
export const LEGACY_AUDIT_ACTIONS: Readonly<Record<string, string>> = Object.freeze({
  integration_created: 'integration.created',
  integration_updated: 'integration.updated',
  integration_deleted: 'integration.deleted',
  integration_configured: 'integration.configured',
  authorization_link_created: 'authorization_link.created',
  setup_link_created: 'setup_link.created',
  setup_link_opened: 'setup_link.opened',
  authorization_started: 'authorization.started',
  authorization_failed: 'authorization.failed',
  callback_rejected: 'authorization.callback_rejected',
  token_issued: 'token.issued',
  status_changed: 'integration.status_changed',
  preflight: 'preflight.completed',
  disconnected: 'integration.disconnected',
});

/** The current name of a stored audit action (unknown names pass through unchanged). */
export function auditActionName(stored: string): string {
  return Object.prototype.hasOwnProperty.call(LEGACY_AUDIT_ACTIONS, stored) ? LEGACY_AUDIT_ACTIONS[stored]! : stored;
}
