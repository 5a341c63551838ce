import type { Integration } from '../../integrations/integration.js';
import type { PreflightResult } from '../../integrations/preflight.js';
import { isReasonCode, isWorkingState, reasonContext, remedyFor, statusRemedies, type LastAttempt, type ReasonCode } from '../../integrations/reasons.js';
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

/**
 * What the page says about the latest Generate Keys attempt. A failed attempt that left a working
 * connection alone is said plainly (the status above still describes the token held); the remedy
 * is the authorization one, since the attempt never produced a token.
 */
export function lastAttemptView(a: LastAttempt | null | undefined, state: string, shown: Set<string> = new Set()) {
  if (!a) return null;
  const kept = !a.ok && isWorkingState(state as never);
  const help = !a.ok && a.reason ? remedyFor(a.reason, 'authorization') : null;
  const repeat = help !== null && shown.has(help.remedy);
  if (help) shown.add(help.remedy);
  return {
    at: a.at,
    ok: a.ok,
    reason: a.reason ?? null,
    detail: a.detail,
    kept,
    message: a.ok
      ? 'Your last Generate Keys attempt succeeded.'
      : kept
        ? a.reason === 'access_denied'
          ? 'Your last attempt was cancelled at Canvas; the connection you had still works.'
          : `Your last attempt failed at Canvas (${help?.title ?? a.reason ?? 'no token issued'}); the connection you had still works.`
        : 'Your last Generate Keys attempt failed.',
    title: help?.title ?? null,
    remedy: help && !repeat ? help.remedy : null,
  };
}

/**
 * The connection status shaped for the LMS Settings and Configure pages: reasons with the remedy
 * for where each was met, checks as rows, the last attempt. `shown` collects the remedies on the
 * page so that none is repeated (a check row carrying a reason shown above keeps only its title).
 */
export function statusView(i: Integration, shown: Set<string> = new Set()) {
  const s = i.status;
  const reasons = statusRemedies(s);
  for (const r of reasons) shown.add(r.remedy);
  return {
    state: s.state,
    stateLabel: STATE_LABELS[s.state] ?? s.state,
    reasons,
    missingScopes: s.missingScopes,
    checks: checkRows(s.checks, shown),
    tokenOwner: s.tokenOwner,
    verifiedAt: s.verifiedAt,
    checkedAt: s.checkedAt,
    lastAttempt: lastAttemptView(s.lastAttempt, s.state, shown),
  };
}

/** The API presenter's whitelist (no secret), with the status shaped for pages. */
export function integrationView(i: Integration, shown?: Set<string>) {
  return { ...presentIntegration(i), status: statusView(i, shown) };
}

/**
 * The LMS Settings page's integration and preflight views with one remedy list for the page: a
 * remedy the status already shows is not repeated under the configuration check.
 */
export function settingsPageView(i: Integration, preflight: ReturnType<typeof preflightView> | null) {
  const shown = new Set<string>();
  const integration = integrationView(i, shown);
  if (!preflight) return { integration, preflight: null };
  const held = tokenHeld(i.status);
  const checks = preflight.checks.map((c) => {
    if (!c.remedy) return c;
    // The status already names this reason with the remedy for where it was met: one remedy per reason.
    if (c.reason && i.status.reasons.includes(c.reason as ReasonCode)) return { ...c, remedy: null };
    // Preflight asks as if authorizing anew; with a token held, the token's remedy applies (Re-check, not Generate Keys).
    const remedy = held && c.reason && isReasonCode(c.reason) ? remedyFor(c.reason, 'token').remedy : c.remedy;
    if (shown.has(remedy)) return { ...c, remedy: null };
    shown.add(remedy);
    return { ...c, remedy };
  });
  return { integration, preflight: { ...preflight, checks } };
}

/**
 * Whether the status describes a token this service holds: a working state, or a reason met by the
 * token (a health check or Re-check), not by an authorization that produced none.
 */
function tokenHeld(s: Integration['status']): boolean {
  return isWorkingState(s.state) || s.reasons.some((r) => reasonContext(s, r) === 'token');
}

/** A preflight result shaped for the LMS Settings page. */
export function preflightView(p: PreflightResult) {
  return { ok: p.ok, missingScopes: p.missingScopes, checks: checkRows(p.checks) };
}

/**
 * Why Canvas work (refresh, lookup, sync) is not offered, or null when the connection works. After
 * Disconnect, before Generate Keys, or with a token that stopped working, the buttons are replaced
 * by this and a link to the LMS settings page.
 */
export function notConnectedView(i: Integration): { why: string; action: string } | null {
  const state = i.status.state;
  if (isWorkingState(state)) return null;
  return {
    why:
      state === 'not_connected'
        ? 'Not connected to Canvas: nothing can be refreshed or synced until Generate Keys is completed.'
        : state === 'pending'
          ? 'Generate Keys was started but has not come back from Canvas yet: nothing can be refreshed or synced until it completes.'
          : 'The connection to Canvas is not working: nothing can be refreshed or synced until it is fixed.',
    action: state === 'failed' ? 'Open LMS settings to fix it (Re-check or Generate Keys)' : 'Open LMS settings to Generate Keys',
  };
}
