import { createHash } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import { AppError } from '../errors/app-error.js';
import type { LtiRegistration } from '../lti/canvas-platforms.js';
import {
  checkConfigurationUrl,
  fetchPlatformConfiguration,
  matchIssuer,
  matchRootAccount,
  postRegistration,
  registrationRequest,
  registrationTokenKey,
  type RegistrationFailure,
} from '../lti/dynamic-registration.js';
import type { RegistrationRepository, RegistrationWindow } from '../lti/registration-repository.js';
import { NRPS_SCOPE } from '../lti/tool-config.js';
import type { IntegrationSettings, SettingsActor } from './integration-settings.js';
import type { IntegrationsRepository } from './integrations-repository.js';

/** How long a window opened on the LTI page accepts a registration (Canvas's registration token lives 1 h too). */
export const REGISTRATION_WINDOW_MS = 60 * 60 * 1000;

/** Why the registration page refused, beyond what Canvas answered. */
export type RegistrationRefusal =
  | RegistrationFailure['kind']
  /** No integration with the id in the URL. */
  | 'unknown_integration'
  /** Nobody with access opened registration by URL for this integration (or the window expired). */
  | 'not_open'
  /** This registration token was already used: a reloaded or replayed registration page. */
  | 'reused_token'
  /** Canvas's new key is registered for another integration already (should not happen with a fresh key). */
  | 'pair_taken';

export type RegistrationOutcome =
  | {
      ok: true;
      integrationId: string;
      integrationName: string;
      canvasUrl: string;
      clientId: string;
      deploymentId: string | null;
      issuer: string;
      accountName: string | null;
      /** The client id of the registration this one replaced, if any. */
      replacedClientId: string | null;
    }
  | {
      ok: false;
      refusal: RegistrationRefusal;
      detail: string;
      integrationName: string | null;
      canvasUrl: string | null;
      /** The root account Canvas named for this registration, once its configuration was read. */
      accountName?: string | null;
    };

/** The state the integration's LTI page shows. */
export interface RegistrationStatus {
  /** The URL to paste into Canvas. */
  url: string;
  window: RegistrationWindow | null;
}

export interface LtiDynamicRegistration {
  /** @throws AppError not_found */
  status(integrationId: string): Promise<RegistrationStatus>;
  /**
   * Lets the integration accept one registration by URL for the next hour: the intent of someone
   * with access to the integration (staff, or its own institution admin), audited.
   * @throws AppError not_found
   */
  openWindow(integrationId: string, actor: SettingsActor): Promise<RegistrationWindow>;
  /** @throws AppError not_found */
  closeWindow(integrationId: string, actor: SettingsActor): Promise<void>;
  /**
   * What `GET /lti/register` does when Canvas opens it: checks the window, the configuration's
   * origin and issuer, uses the registration token once, registers the tool at Canvas, and saves
   * the client id (and deployment id, when Canvas sends one) as the integration's LTI registration
   * through the settings service (ownership of the pair, audit, ltijs's platform list). Never
   * throws for what Canvas or the request did wrong: those are refusals the page explains.
   */
  register(input: { integrationId: string; openidConfiguration: string | undefined; registrationToken: string | undefined }): Promise<RegistrationOutcome>;
  /**
   * A launch Canvas signed for a key Dynamic Registration created names its deployment: Canvas
   * creates the deployment only when the admin confirms the installation and does not tell the
   * tool, so the first signed launch adds it (once; every deployment of a key made in this
   * institution's root account is this institution's). False when the key is not one awaiting its
   * first deployment: the launch is then refused as usual.
   */
  adoptFirstDeployment(integrationId: string, clientId: string, deploymentId: string): Promise<boolean>;
  /**
   * A signed course launch for the integration's key tells whether Canvas grants it the Names and
   * Roles scope (Canvas sends the NRPS claim only then): the admin may switch it off at Canvas's
   * review after the registration answered. Updates `lti.grantedScopes` when it changed; keys whose
   * scopes are not known (entered by hand) are left alone.
   */
  noteNamesAndRoles(integrationId: string, clientId: string, granted: boolean): Promise<void>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function createLtiDynamicRegistration(deps: {
  repo: Pick<IntegrationsRepository, 'get'>;
  registrations: RegistrationRepository;
  settings: Pick<IntegrationSettings, 'updateLtiRegistration'>;
  audit: AuditLog;
  fetch: typeof globalThis.fetch;
  publicUrl: string;
  allowInsecure: boolean;
  clock: () => Date;
  /**
   * The `lti_guid` of the root account the integration's Canvas token belongs to
   * (`GET /api/v1/accounts/self?include[]=lti_guid`), or null when it cannot be read (no token yet).
   */
  rootAccountLtiGuid?: (integrationId: string) => Promise<string | null>;
}): LtiDynamicRegistration {
  const { repo, registrations, audit, clock } = deps;
  const policy = { allowInsecure: deps.allowInsecure };
  const urlFor = (id: string) => `${deps.publicUrl.replace(/\/+$/, '')}/lti/register?integration=${encodeURIComponent(id)}`;
  const mustExist = async (id: string) => {
    const i = await repo.get(id);
    if (!i) throw new AppError('not_found', 'No such integration.');
    return i;
  };

  return {
    async status(integrationId) {
      await mustExist(integrationId);
      return { url: urlFor(integrationId), window: (await registrations.openWindowOf(integrationId, clock().toISOString())) ?? null };
    },

    async openWindow(integrationId, actor) {
      await mustExist(integrationId);
      const expiresAt = new Date(clock().getTime() + REGISTRATION_WINDOW_MS).toISOString();
      const w = await registrations.openWindow(integrationId, actor.label, expiresAt);
      await audit.record({ integrationId, actor: actor.label, action: 'lti.registration.window_opened', detail: { expiresAt } });
      return w;
    },

    async closeWindow(integrationId, actor) {
      await mustExist(integrationId);
      await registrations.closeWindow(integrationId);
      await audit.record({ integrationId, actor: actor.label, action: 'lti.registration.window_closed', detail: {} });
    },

    async adoptFirstDeployment(integrationId, clientId, deploymentId) {
      if (!/^[A-Za-z0-9:_.-]{1,200}$/.test(deploymentId)) return false;
      const integration = await repo.get(integrationId);
      const lti = integration?.lti;
      if (!integration || !lti || lti.clientId !== clientId || lti.deploymentIds.length > 0) return false;
      if (!(await registrations.awaitingFirstDeployment(integrationId, clientId))) return false;
      if (!(await registrations.markDeploymentAdopted(integrationId, clientId))) return false;
      const actor: SettingsActor = { scope: 'institution', label: 'Canvas launch (first deployment of a Dynamic Registration)' };
      await deps.settings.updateLtiRegistration(integrationId, { ...lti, deploymentIds: [deploymentId] }, actor);
      await audit.record({ integrationId, actor: actor.label, action: 'lti.registration.deployment_added', detail: { clientId, deploymentId } });
      return true;
    },

    async noteNamesAndRoles(integrationId, clientId, granted) {
      const lti = (await repo.get(integrationId))?.lti;
      if (!lti || lti.clientId !== clientId || !lti.grantedScopes) return;
      const has = lti.grantedScopes.includes(NRPS_SCOPE);
      if (has === granted) return;
      const grantedScopes = granted ? [...lti.grantedScopes, NRPS_SCOPE] : lti.grantedScopes.filter((s) => s !== NRPS_SCOPE);
      const actor: SettingsActor = { scope: 'institution', label: `Canvas launch (Names and Roles scope ${granted ? 'granted' : 'not granted'})` };
      await deps.settings.updateLtiRegistration(integrationId, { ...lti, grantedScopes }, actor);
    },

    async register({ integrationId, openidConfiguration, registrationToken }) {
      const integration = integrationId ? await repo.get(integrationId) : undefined;
      if (!integration) {
        return { ok: false, refusal: 'unknown_integration', detail: 'No integration has the id in this registration URL.', integrationName: null, canvasUrl: null };
      }
      const refuse = (refusal: RegistrationRefusal, detail: string): RegistrationOutcome => ({ ok: false, refusal, detail, integrationName: integration.name, canvasUrl: integration.canvasUrl });
      if (!openidConfiguration || !registrationToken) {
        return refuse('missing_parameters', 'Canvas opens this URL with openid_configuration and registration_token; this request has neither (was it opened outside Canvas?).');
      }
      const window = await registrations.openWindowOf(integration.id, clock().toISOString());
      if (!window) return refuse('not_open', 'Registration by URL is not open for this integration.');
      const current: LtiRegistration | null = integration.lti ?? null;
      const otherUrl = integration.canvasOtherUrl ?? null;
      const where = checkConfigurationUrl(openidConfiguration, integration.canvasUrl, current, otherUrl);
      if (!where.ok) return refuse(where.failure.kind, where.failure.detail);

      const tokenKey = registrationTokenKey(registrationToken, sha256);
      if (!(await registrations.claimToken(tokenKey, integration.id))) {
        return refuse('reused_token', 'This registration was already sent once with this registration token.');
      }
      const failed = async (f: RegistrationFailure, accountName?: string | null) => {
        await registrations.finishToken(tokenKey, 'refused', null);
        await audit.record({ integrationId: integration.id, actor: 'lti-dynamic-registration', action: 'lti.registration.refused', detail: { reason: f.kind, detail: f.detail } });
        return { ...refuse(f.kind, f.detail), accountName: accountName ?? null } as RegistrationOutcome;
      };

      const config = await fetchPlatformConfiguration(deps.fetch, where.value, registrationToken, policy);
      if (!config.ok) return failed(config.failure);
      const issuer = matchIssuer(config.value.issuer, integration.canvasUrl, current, otherUrl);
      if (!issuer.ok) return failed(issuer.failure, config.value.accountName);
      const own = deps.rootAccountLtiGuid ? await deps.rootAccountLtiGuid(integration.id).catch(() => null) : null;
      const account = matchRootAccount(config.value, own);
      if (!account.ok) return failed(account.failure, config.value.accountName);
      const answer = await postRegistration(deps.fetch, {
        endpoint: config.value.registrationEndpoint,
        configurationUrl: where.value,
        canvasUrl: integration.canvasUrl,
        token: registrationToken,
        body: registrationRequest(deps.publicUrl),
        policy,
      });
      if (!answer.ok) return failed(answer.failure);

      const { clientId, deploymentId } = answer.value;
      const lti: LtiRegistration = {
        environment: issuer.value.environment,
        clientId,
        deploymentIds: deploymentId ? [deploymentId] : [],
        grantedScopes: answer.value.scope.split(' ').filter(Boolean),
      };
      if (lti.environment === 'custom') {
        lti.issuer = issuer.value.issuer;
        // Where launches are sent and whose keys are trusted stay as staff set them.
        if (current?.environment === 'custom') {
          if (current.authUrl) lti.authUrl = current.authUrl;
          if (current.jwksUrl) lti.jwksUrl = current.jwksUrl;
        }
      }
      const actor: SettingsActor = { scope: 'institution', label: `Canvas admin by Dynamic Registration (opened by ${window.openedBy})` };
      try {
        await deps.settings.updateLtiRegistration(integration.id, lti, actor);
      } catch (err) {
        await registrations.finishToken(tokenKey, 'refused', null);
        if (err instanceof AppError && (err.code === 'conflict' || err.code === 'forbidden')) return refuse('pair_taken', err.message);
        throw err;
      }
      await registrations.finishToken(tokenKey, 'registered', clientId);
      // One registration per window: another one needs someone's intent again.
      await registrations.closeWindow(integration.id);
      await audit.record({
        integrationId: integration.id,
        actor: actor.label,
        action: 'lti.registration.dynamic',
        detail: { issuer: issuer.value.issuer, clientId, deploymentId, accountName: config.value.accountName, replacedClientId: current?.clientId ?? null },
      });
      return {
        ok: true,
        integrationId: integration.id,
        integrationName: integration.name,
        canvasUrl: integration.canvasUrl,
        clientId,
        deploymentId,
        issuer: issuer.value.issuer,
        accountName: config.value.accountName,
        replacedClientId: current && current.clientId !== clientId ? current.clientId : null,
      };
    },
  };
}
