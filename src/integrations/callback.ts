import type { AuditLog } from '../audit/audit-log.js';
import { AppError } from '../errors/app-error.js';
import type { CanvasOAuth } from '../oauth/canvas-oauth.js';
import type { OAuthStates } from '../store/oauth-states.js';
import { classifyAuthorizeError } from './authorize-errors.js';
import type { IntegrationsRepository } from './integrations-repository.js';
import { isWorkingState, type Check, type ConnectionStatus, type LastAttempt, type ReasonCode } from './reasons.js';
import { reasonForTokenFailure } from './token-endpoint-reason.js';
import type { Verifier } from './verification.js';

/** What the callback page shows and the tests assert. */
export interface CallbackOutcome {
  kind: 'connected' | 'failed' | 'state_invalid';
  /** Known unless the state could not be matched to any integration. */
  integrationId?: string;
  /** The integration's name, whenever its id is known (the result page names it). */
  integrationName?: string;
  /**
   * True when this attempt failed while a working token (`verified`/`degraded`) was stored: the
   * status was left as it was and only `lastAttempt` records the failure.
   */
  keptWorkingConnection?: boolean;
  /** The main reason (absent when connected and verified). */
  reason?: ReasonCode;
  /** Canvas's `error` value, when Canvas sent one. */
  canvasError?: string;
  detail: string;
  missingScopes: string[];
  /** The integration's status after this callback (absent for state_invalid: nothing changed). */
  status?: ConnectionStatus;
}

const STATE_PROBLEMS = {
  missing: 'The answer from Canvas carried no state, so it cannot be matched to a Generate Keys request.',
  unknown: 'The state is not one this service issued (forged, or from another installation).',
  expired: 'The authorization was started more than 10 minutes ago.',
  used: 'This answer was already used once (a reload or a replay).',
  foreign_browser: 'The authorization was started in another browser (or its cookie was cleared).',
} as const;

export interface CallbackHandler {
  /**
   * Handles `GET /oauth/callback`. Matches the state (single use, 10 min, this browser), then
   * classifies Canvas's answer: an error becomes `failed` with its reason; a code is exchanged
   * (client secret + PKCE verifier), the token saved encrypted with its owner, and verification
   * decides `verified`/`degraded`/`failed`. A failed attempt while a working token is stored leaves
   * the status as it was and is recorded only as `status.lastAttempt`; without one it decides the
   * state. An unmatched state touches nothing. Never throws for Canvas answers.
   */
  handle(query: Record<string, string | undefined>, browserSecret: string | undefined): Promise<CallbackOutcome>;
}

export function createCallbackHandler(deps: {
  repo: IntegrationsRepository;
  states: OAuthStates;
  oauth: CanvasOAuth;
  verifier: Verifier;
  audit: AuditLog;
  clock: () => Date;
  redirectUri: string;
}): CallbackHandler {
  const { repo, states, oauth, verifier, audit, clock } = deps;

  async function failWith(integrationId: string, reason: ReasonCode, detail: string, missingScopes: string[], canvasError?: string): Promise<CallbackOutcome> {
    const integration = await repo.get(integrationId);
    const now = clock().toISOString();
    const lastAttempt: LastAttempt = { at: now, ok: false, reason, detail };
    // The status describes the token the integration holds, not the last click: a cancelled or
    // refused new attempt must not turn a working connection into `failed`.
    const kept = integration !== undefined && isWorkingState(integration.status.state) && (await repo.getToken(integrationId)) !== undefined;
    let status: ConnectionStatus;
    if (kept) {
      status = { ...integration.status, lastAttempt };
    } else {
      const check: Check = { name: 'authorization', ok: false, reason, detail };
      status = {
        state: 'failed',
        reasons: [reason],
        missingScopes,
        checks: [check],
        tokenOwner: integration?.status.tokenOwner ?? null,
        verifiedAt: null,
        checkedAt: now,
        lastAttempt,
      };
    }
    await repo.setStatus(integrationId, status);
    await audit.record({
      integrationId,
      actor: 'system',
      action: 'authorization.failed',
      detail: { reason, canvasError: canvasError ?? null, missingScopes, keptWorkingConnection: kept },
    });
    return { kind: 'failed', integrationId, integrationName: integration?.name, keptWorkingConnection: kept, reason, canvasError, detail, missingScopes, status };
  }

  return {
    async handle(query, browserSecret) {
      const error = query.error;
      const stateParam = query.state;
      let consumed;
      if (stateParam) consumed = await states.consume(stateParam, browserSecret);
      else if (error && browserSecret) consumed = await states.consumeLatestForBrowser(browserSecret); // Canvas's client_not_allowed_for_user redirect carries no state
      if (!consumed || !consumed.ok) {
        const why = consumed && !consumed.ok ? consumed.why : 'missing';
        const knownId = consumed && !consumed.ok ? consumed.integrationId : undefined;
        if (knownId) {
          await audit.record({ integrationId: knownId, actor: 'system', action: 'authorization.callback_rejected', detail: { why } });
        }
        return {
          kind: 'state_invalid',
          integrationId: knownId,
          integrationName: knownId ? (await repo.get(knownId))?.name : undefined,
          reason: 'state_invalid',
          canvasError: error,
          detail: STATE_PROBLEMS[why],
          missingScopes: [],
        };
      }
      const { integrationId, codeVerifier } = consumed.pending;

      if (error) {
        const c = classifyAuthorizeError(error, query.error_description);
        return failWith(integrationId, c.reason, c.detail, c.missingScopes, error);
      }

      const code = query.code;
      if (!code) return failWith(integrationId, 'state_invalid', 'Canvas came back with neither a code nor an error; start again.', []);
      const integration = await repo.get(integrationId);
      const clientSecret = await repo.getClientSecret(integrationId);
      if (!integration || !clientSecret) {
        return { kind: 'state_invalid', reason: 'state_invalid', detail: 'The integration was deleted or lost its secret meanwhile.', missingScopes: [] };
      }
      const callbackUrl = new URL(deps.redirectUri);
      callbackUrl.searchParams.set('code', code);
      callbackUrl.searchParams.set('state', stateParam!);
      const grant = await oauth.exchangeCode(
        { canvasUrl: integration.canvasUrl, clientId: integration.clientId, clientSecret },
        { callbackUrl, state: stateParam!, codeVerifier },
      );
      if (!grant.ok) {
        const refused = reasonForTokenFailure(grant, 'authorization_code');
        return failWith(integrationId, refused.reason, refused.detail, [], grant.error);
      }

      try {
        await repo.saveToken(
          integrationId,
          {
            accessToken: grant.accessToken,
            refreshToken: grant.refreshToken,
            expiresAt: grant.expiresIn !== null ? new Date(clock().getTime() + grant.expiresIn * 1000).toISOString() : null,
            ownerCanvasId: grant.user.id,
            ownerName: grant.user.name,
            scopes: consumed.pending.scopes,
          },
          { canvasUrl: integration.canvasUrl, clientId: integration.clientId },
        );
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'conflict') throw err;
        // The settings changed during the exchange: give the token back to the Canvas that issued it.
        const revoked = await oauth.revoke(integration.canvasUrl, grant.accessToken);
        await audit.record({ integrationId, actor: 'system', action: 'token.discarded', detail: { why: 'settings_changed', revokedAtCanvas: revoked.ok } });
        return {
          kind: 'state_invalid',
          integrationId,
          integrationName: integration.name,
          reason: 'state_invalid',
          detail: 'The Canvas URL or client id changed while you were authorizing, so the new token was discarded. Start Generate Keys again.',
          missingScopes: [],
        };
      }
      await audit.record({ integrationId, actor: 'system', action: 'token.issued', detail: { tokenOwner: grant.user } });
      const before = integration.status.state;
      const verified = (await verifier.verify(integrationId, { tokenOwner: grant.user }))!;
      await audit.record({ integrationId, actor: 'system', action: 'integration.status_changed', detail: { from: before, to: verified.state, reasons: verified.reasons } });
      const main = verified.reasons[0];
      const failedChecks = verified.checks.filter((c) => !c.ok).length;
      const detail =
        verified.state === 'verified'
          ? `Connected as ${grant.user.name}; every check passed.`
          : `Connected as ${grant.user.name}, but ${failedChecks} ${failedChecks === 1 ? 'check' : 'checks'} failed.`;
      const tokenWorks = verified.state !== 'failed';
      const status: ConnectionStatus = {
        ...verified,
        lastAttempt: { at: clock().toISOString(), ok: tokenWorks, ...(tokenWorks || !main ? {} : { reason: main }), detail },
      };
      await repo.setStatus(integrationId, status);
      return {
        kind: status.state === 'failed' ? 'failed' : 'connected',
        integrationId,
        integrationName: integration.name,
        reason: main,
        detail,
        missingScopes: status.missingScopes,
        status,
      };
    },
  };
}
