import type { Integration } from '../../integrations/integration.js';
import { statusRemedies, type ConnectionStatus } from '../../integrations/reasons.js';

/**
 * The API's view of a status (state, reason, checks, the last Generate Keys attempt), plus `help`:
 * the remedy for each reason where it was met, so an automation can show the admin what to do.
 */
export function presentStatus(s: ConnectionStatus) {
  return {
    state: s.state,
    reasons: s.reasons,
    missingScopes: s.missingScopes,
    checks: s.checks.map((c) => ({ name: c.name, ok: c.ok, ...(c.reason ? { reason: c.reason } : {}), detail: c.detail })),
    tokenOwner: s.tokenOwner,
    verifiedAt: s.verifiedAt,
    checkedAt: s.checkedAt,
    lastAttempt: s.lastAttempt
      ? { at: s.lastAttempt.at, ok: s.lastAttempt.ok, ...(s.lastAttempt.reason ? { reason: s.lastAttempt.reason } : {}), detail: s.lastAttempt.detail }
      : null,
    help: Object.fromEntries(statusRemedies(s).map((r) => [r.code, r.remedy])),
  };
}

/** Whitelisted integration fields. The client secret is write-only: only `clientSecretSet`. */
export function presentIntegration(i: Integration) {
  return {
    id: i.id,
    name: i.name,
    canvasUrl: i.canvasUrl,
    clientId: i.clientId,
    clientSecretSet: i.clientSecretSet,
    accountId: i.accountId,
    courseIdType: i.courseIdType,
    userIdType: i.userIdType,
    studentRoles: i.studentRoles,
    courseAdminRoles: i.courseAdminRoles,
    features: i.features,
    syncSchedule: i.syncSchedule ?? null,
    canvasOtherUrl: i.canvasOtherUrl ?? null,
    lti: i.lti ?? null,
    status: presentStatus(i.status),
    createdAt: i.createdAt,
    updatedAt: i.updatedAt,
  };
}
