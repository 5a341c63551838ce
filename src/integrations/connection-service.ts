import type { AuditLog } from '../audit/audit-log.js';
import { manifestFeatures, scopesFor } from '../canvas/endpoints.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logger/logger.js';
import { createAuthorization, type StartedAuthorization } from './authorization.js';
import type { CanvasOAuth } from '../oauth/canvas-oauth.js';
import { createCallbackHandler, type CallbackOutcome } from './callback.js';
import type { OAuthStates } from '../store/oauth-states.js';
import { probeAuthorizeEndpoint, runPreflight, type PreflightResult } from './preflight.js';
import type { TokenSources } from '../oauth/token-source.js';
import type { CanvasClient } from '../canvas/types.js';
import type { Integration } from './integration.js';
import type { IntegrationsRepository } from './integrations-repository.js';
import { NOT_CONNECTED, type ConnectionStatus } from './reasons.js';
import { createVerifier, scopesRemovedFromKey, type Verifier } from './verification.js';

export interface HealthCheckSummary {
  checked: number;
  changed: Array<{ integrationId: string; from: string; to: string; reasons: string[] }>;
}

/** Everything "Generate Keys" does with an integration, for routes, CLI and jobs. */
export interface ConnectionService {
  /** Checks the developer key before anyone is sent to Canvas. @throws AppError not_found */
  preflight(integrationId: string): Promise<PreflightResult>;
  /** Starts the OAuth authorization; see oauth/authorization.ts. @throws AppError not_found / validation_failed */
  startAuthorization(integrationId: string, browserSecret: string): Promise<StartedAuthorization>;
  handleCallback(query: Record<string, string | undefined>, browserSecret: string | undefined): Promise<CallbackOutcome>;
  /** Re-runs the probes and records a state change in the audit log. @throws AppError not_found */
  verify(integrationId: string, actor: string): Promise<ConnectionStatus>;
  /** Revokes the token at Canvas (`DELETE /login/oauth2/token`) and deletes it here. @throws AppError not_found */
  disconnect(integrationId: string, actor: string): Promise<{ revokedAtCanvas: boolean }>;
  /** Re-verifies every integration holding a token; state changes go to the audit log. */
  runHealthChecks(): Promise<HealthCheckSummary>;
  /**
   * After Canvas refused to refresh an integration's token: asks the key, as the health check
   * does, whether a scope was removed from it (Canvas then deletes every token of the key), and
   * if so returns `missing_scopes` naming the scopes; undefined when the token was simply revoked.
   */
  explainRefusedRefresh(integrationId: string): Promise<{ reason: 'missing_scopes'; detail: string; missingScopes: string[] } | undefined>;
  verifier: Verifier;
}

export function createConnectionService(deps: {
  repo: IntegrationsRepository;
  states: OAuthStates;
  oauth: CanvasOAuth;
  tokenSources: TokenSources;
  clientFor(integration: Integration): CanvasClient;
  audit: AuditLog;
  clock: () => Date;
  fetch: typeof globalThis.fetch;
  redirectUri: string;
  logger?: Logger;
}): ConnectionService {
  const { repo, audit, clock, redirectUri } = deps;
  // The scopes the integration's chosen features need: one without grade passback asks for none of its scopes.
  const scopes = (i: Integration) => scopesFor(manifestFeatures(i.features));

  const probeKey = (i: Integration) => probeAuthorizeEndpoint(deps.fetch, { canvasUrl: i.canvasUrl, clientId: i.clientId, redirectUri, scopes: scopes(i) });
  const verifier = createVerifier({
    repo,
    clientFor: deps.clientFor,
    tokenSourceFor: (id) => deps.tokenSources.forIntegration(id),
    probeKey,
    clock,
  });
  const authorization = createAuthorization({ repo, states: deps.states, oauth: deps.oauth, clock, redirectUri, scopes });
  const callback = createCallbackHandler({ repo, states: deps.states, oauth: deps.oauth, verifier, audit, clock, redirectUri });

  const mustGet = async (id: string) => {
    const i = await repo.get(id);
    if (!i) throw new AppError('not_found', 'No such integration.');
    return i;
  };

  async function verifyAndAudit(integration: Integration, actor: string): Promise<ConnectionStatus> {
    const status = (await verifier.verify(integration.id))!;
    const before = integration.status;
    if (before.state !== status.state || before.reasons.join() !== status.reasons.join()) {
      await audit.record({
        integrationId: integration.id,
        actor,
        action: 'integration.status_changed',
        detail: { from: before.state, to: status.state, reasons: status.reasons, missingScopes: status.missingScopes },
      });
    }
    return status;
  }

  const service: ConnectionService = {
    verifier,
    async preflight(id) {
      const i = await mustGet(id);
      const result = await runPreflight(deps.fetch, {
        canvasUrl: i.canvasUrl,
        clientId: i.clientId,
        clientSecret: await repo.getClientSecret(id),
        redirectUri,
        scopes: scopes(i),
      });
      await audit.record({ integrationId: id, actor: 'system', action: 'preflight.completed', detail: { ok: result.ok, reasons: result.reasons } });
      return result;
    },
    startAuthorization: (id, browserSecret) => authorization.start(id, browserSecret),
    handleCallback: (query, browserSecret) => callback.handle(query, browserSecret),
    async verify(id, actor) {
      const i = await mustGet(id);
      if (!(await repo.getToken(id))) {
        // No token: nothing to probe. Keep the last authorization outcome (e.g. failed + reason).
        return i.status;
      }
      return verifyAndAudit(i, actor);
    },
    async disconnect(id, actor) {
      await mustGet(id);
      const token = await repo.getToken(id);
      let revokedAtCanvas = false;
      if (token) {
        const i = (await repo.get(id))!;
        revokedAtCanvas = (await deps.oauth.revoke(i.canvasUrl, token.accessToken)).ok;
        await repo.deleteToken(id);
      }
      await repo.setStatus(id, { ...NOT_CONNECTED, checkedAt: clock().toISOString() });
      await audit.record({ integrationId: id, actor, action: 'integration.disconnected', detail: { revokedAtCanvas } });
      return { revokedAtCanvas };
    },
    async explainRefusedRefresh(integrationId) {
      const i = await repo.get(integrationId);
      return i ? scopesRemovedFromKey(await probeKey(i)) : undefined;
    },
    async runHealthChecks() {
      const summary: HealthCheckSummary = { checked: 0, changed: [] };
      await deps.states.prune().catch(() => 0);
      for (const i of await repo.list()) {
        if (!(await repo.getToken(i.id))) continue;
        summary.checked += 1;
        try {
          const status = await verifyAndAudit(i, 'system');
          if (status.state !== i.status.state) summary.changed.push({ integrationId: i.id, from: i.status.state, to: status.state, reasons: status.reasons });
        } catch (err) {
          deps.logger?.warn({ err, integrationId: i.id }, 'health check of an integration failed');
        }
      }
      return summary;
    },
  };
  return service;
}
