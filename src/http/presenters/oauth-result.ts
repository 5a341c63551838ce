import type { CallbackOutcome } from '../../integrations/callback.js';
import { reasonContext, remedyFor } from '../../integrations/reasons.js';
import { checkRows } from './checks.js';
import { lastAttemptView } from './integration-page.js';

/** What this browser may do with the integration the result is about. */
export interface ResultAccess {
  /** May start Generate Keys again and Re-check (its session reaches the integration). */
  canRetry: boolean;
  /** May open the integration's settings page (also true after a refused state, when known). */
  canOpen?: boolean;
}

/**
 * The Generate Keys result page's view-model: which integration, what happened at Canvas, the
 * remedy (once per page: a check row repeating it keeps only its title), and the checks. A failed
 * attempt that left a working connection alone says so and shows no checks of the old token.
 */
export function resultView(outcome: CallbackOutcome, access: ResultAccess | boolean) {
  const { canRetry, canOpen = canRetry } = typeof access === 'boolean' ? { canRetry: access } : access;
  const reason = outcome.reason;
  const verified = outcome.kind === 'connected' && outcome.status?.state === 'verified';
  const kept = outcome.keptWorkingConnection === true;
  const shown = new Set<string>();
  // A refused attempt's reason was met while authorizing; after a token was issued it comes from the
  // probes, and the status's checks tell which (a kept connection's status is not this attempt's).
  const help = reason ? remedyFor(reason, kept || !outcome.status ? 'authorization' : reasonContext(outcome.status, reason)) : null;
  const remedy = help && outcome.kind !== 'connected' ? help.remedy : null;
  if (remedy) shown.add(remedy);
  const failedChecks = outcome.status ? outcome.status.checks.filter((c) => !c.ok).length : 0;
  const settingsUrl = outcome.integrationId && canOpen ? `/integrations/${encodeURIComponent(outcome.integrationId)}` : null;
  const attempt = kept && outcome.status ? lastAttemptView(outcome.status.lastAttempt, outcome.status.state) : null;
  return {
    title: verified ? 'Connected' : outcome.kind === 'connected' ? 'Connected with problems' : 'Generate Keys did not complete',
    kind: outcome.kind,
    state: outcome.status?.state ?? null,
    verified,
    kept,
    keptMessage: attempt?.message ?? null,
    headline: verified
      ? 'Canvas is connected and every check passed.'
      : outcome.kind === 'connected'
        ? `Canvas issued a token, but ${failedChecks} ${failedChecks === 1 ? 'check' : 'checks'} failed. Fix what is listed below, then click Re-check${canRetry ? '' : ' on the LMS settings page'}.`
        : (help?.title ?? 'Generate Keys did not complete.'),
    reason: reason ?? null,
    remedy,
    detail: outcome.detail,
    canvasError: outcome.canvasError ?? null,
    missingScopes: outcome.missingScopes,
    checks: outcome.status && !kept ? checkRows(outcome.status.checks, shown) : [],
    tokenOwner: outcome.status?.tokenOwner ?? null,
    integrationId: outcome.kind === 'state_invalid' ? null : (outcome.integrationId ?? null),
    /** Named only to a browser that may open it. */
    integrationName: canOpen ? (outcome.integrationName ?? null) : null,
    settingsUrl,
    canRetry,
    canRecheck: canRetry && outcome.kind === 'connected' && !verified,
  };
}
