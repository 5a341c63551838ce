import type { CallbackOutcome } from '../../integrations/callback.js';
import { REMEDIES } from '../../integrations/reasons.js';
import { checkRows } from './checks.js';

/** The Generate Keys result page's view-model: what happened at Canvas, the remedy, and the checks. */
export function resultView(outcome: CallbackOutcome, canRetry: boolean) {
  const reason = outcome.reason;
  const verified = outcome.status?.state === 'verified';
  return {
    title: verified ? 'Connected' : outcome.kind === 'connected' ? 'Connected with problems' : 'Generate Keys did not complete',
    kind: outcome.kind,
    state: outcome.status?.state ?? null,
    verified,
    headline: verified
      ? 'Canvas is connected and every check passed.'
      : outcome.kind === 'connected'
        ? 'Canvas issued a token, but some checks failed. Fix what is listed below, then click Re-check.'
        : reason
          ? REMEDIES[reason].title
          : 'Generate Keys did not complete.',
    reason: reason ?? null,
    remedy: reason ? REMEDIES[reason].remedy : null,
    detail: outcome.detail,
    canvasError: outcome.canvasError ?? null,
    missingScopes: outcome.missingScopes,
    checks: outcome.status ? checkRows(outcome.status.checks) : [],
    tokenOwner: outcome.status?.tokenOwner ?? null,
    integrationId: outcome.kind === 'state_invalid' ? null : (outcome.integrationId ?? null),
    canRetry,
  };
}
