import type { Integration } from '../../integrations/integration.js';
import type { PreflightResult } from '../../integrations/preflight.js';
import { REMEDIES } from '../../integrations/reasons.js';
import { checkRows } from './checks.js';
import { presentIntegration } from './integration.js';

/** How each connection state reads on the pages. */
export const STATE_LABELS: Record<string, string> = {
  not_connected: 'Not connected',
  pending: 'Pending authorization',
  verified: 'Verified',
  degraded: 'Degraded',
  failed: 'Failed',
};

/** The connection status shaped for the LMS Settings and Configure pages: reasons with their remedies, checks as rows. */
export function statusView(i: Integration) {
  const s = i.status;
  return {
    state: s.state,
    stateLabel: STATE_LABELS[s.state] ?? s.state,
    reasons: s.reasons.map((r) => ({ code: r, title: REMEDIES[r].title, remedy: REMEDIES[r].remedy })),
    missingScopes: s.missingScopes,
    checks: checkRows(s.checks),
    tokenOwner: s.tokenOwner,
    verifiedAt: s.verifiedAt,
    checkedAt: s.checkedAt,
  };
}

/** The API presenter's whitelist (no secret), with the status shaped for pages. */
export function integrationView(i: Integration) {
  return { ...presentIntegration(i), status: statusView(i) };
}

/** A preflight result shaped for the LMS Settings page. */
export function preflightView(p: PreflightResult) {
  return { ok: p.ok, missingScopes: p.missingScopes, checks: checkRows(p.checks) };
}
