import type { AuditLog } from '../audit/audit-log.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logger/logger.js';
import { ltiPairOf, samePair, type LtiPair, type PlatformOwners } from '../lti/platform-owners.js';
import type { CanvasOAuth } from '../oauth/canvas-oauth.js';
import type { CreateIntegrationInput, Integration, PatchIntegrationInput } from './integration.js';
import type { DroppedCredentials, IntegrationsRepository } from './integrations-repository.js';

/**
 * Who is changing an integration. `platform`: staff (pages), a staff API token, the CLI.
 * `institution`: a Canvas admin whose session is limited to this one integration (setup link,
 * authorization link, LTI admin launch). `label` is the audit actor.
 */
export interface SettingsActor {
  scope: 'platform' | 'institution';
  label: string;
}

export interface UpdateSettingsOptions {
  /**
   * Staff only: take the LTI (issuer, client id) pair from the integration that holds it. Without
   * it, saving a pair another integration holds is refused.
   */
  moveLtiRegistration?: boolean;
}

/** What a change of Canvas URL or client id dropped, as the caller may show it (no secrets). */
export interface CredentialsDropReport {
  changed: Array<'canvasUrl' | 'clientId'>;
  previousCanvasUrl: string;
  /** Whether the old Canvas confirmed the revocation (false also when no token was stored). */
  revokedAtCanvas: boolean;
  tokenDropped: boolean;
  secretDropped: boolean;
}

export interface SettingsResult {
  integration: Integration;
  dropped: CredentialsDropReport | null;
}

export interface IntegrationSettings {
  /** Creates an integration; an LTI pair in the input is claimed for it. @throws AppError conflict (pair held elsewhere) */
  create(input: CreateIntegrationInput, actor: SettingsActor): Promise<Integration>;
  /**
   * The one way every entry point (pages, JSON API, LTI page, CLI) changes an integration:
   * applies {@link assertInstitutionMayChange} to institution sessions, enforces that an LTI pair
   * belongs to one integration, drops credentials on a Canvas URL / client id change (revoking
   * the token at the old Canvas, best effort) and writes the audit log. A change of `features`
   * re-runs the checks (the scopes a key needs follow the features), so the status never says
   * `verified` for a key that lacks a chosen feature's scopes.
   * @throws AppError not_found, forbidden (institution policy), conflict (LTI pair held elsewhere)
   */
  update(id: string, patch: PatchIntegrationInput, actor: SettingsActor, opts?: UpdateSettingsOptions): Promise<SettingsResult>;
  /**
   * Configure (ID types, student and course admin roles, features): {@link IntegrationSettings.update}
   * plus the `integration.configured` audit entry, then the checks are re-run (they depend on the
   * ID types and on the features' scopes).
   * @throws AppError as {@link IntegrationSettings.update}
   */
  configure(id: string, patch: Pick<PatchIntegrationInput, 'courseIdType' | 'userIdType' | 'studentRoles' | 'courseAdminRoles' | 'features'>, actor: SettingsActor): Promise<SettingsResult>;
  /**
   * The LTI registration (environment, client id, deployments, issuer) through
   * {@link IntegrationSettings.update}, plus the `lti.registration.updated` audit entry.
   * @throws AppError as {@link IntegrationSettings.update}
   */
  updateLtiRegistration(id: string, lti: NonNullable<PatchIntegrationInput['lti']>, actor: SettingsActor, opts?: UpdateSettingsOptions): Promise<SettingsResult>;
  /**
   * Deletes an integration: disconnects first (revoking the token at Canvas, best effort: a
   * Canvas that cannot be reached does not keep an integration alive), then deletes and audits.
   * @throws AppError not_found
   */
  delete(id: string, actor: SettingsActor): Promise<Integration>;
}

const CUSTOM_ENDPOINTS = ['authUrl', 'jwksUrl'] as const;

const forbidden = (field: string, message: string) =>
  new AppError('forbidden', `${field}: ${message}`, { details: { field }, help: 'Ask the platform team to make this change.' });

/**
 * What an institution-scoped session (a Canvas admin who came in by a setup link, an
 * authorization link or an LTI admin launch) may change on ITS integration. Such a session is
 * easier to obtain than staff access (a forwarded link is enough), so it may not point the
 * integration's credentials somewhere else:
 * - `canvasUrl` and `clientId` only while no Canvas token is stored. With a token, the change is
 *   refused (403): disconnect first (which revokes the token at the Canvas that issued it), or ask
 *   platform staff. Without a token the change is allowed and still drops the client secret.
 * - `clientSecret`, `courseIdType`, `userIdType`, `studentRoles`, `features`: allowed (the secret only ever
 *   goes to the integration's own Canvas; the ID types are the institution's choice).
 * - `lti`: environment, client id, deployment ids and a custom issuer are allowed (a pair held by
 *   another integration is refused separately); the custom `authUrl` and `jwksUrl` (where launches
 *   are sent and whose keys are trusted) are staff-only.
 * - `name`, `accountId` and `canvasOtherUrl` are staff-only (the other name is a host the token
 *   may be sent to, so only staff may name it).
 * A field whose value does not change is never refused. Staff and API tokens may change anything.
 * @throws AppError forbidden (403) naming the field and what to do instead
 */
export function assertInstitutionMayChange(current: Integration, patch: PatchIntegrationInput, ctx: { tokenStored: boolean }): void {
  if (patch.name !== undefined && patch.name !== current.name) throw forbidden('name', 'only platform staff can rename an integration.');
  if (patch.accountId !== undefined && patch.accountId !== current.accountId) {
    throw forbidden('accountId', 'only platform staff can change which Canvas account is synced.');
  }
  if (patch.canvasOtherUrl !== undefined && (patch.canvasOtherUrl ?? null) !== (current.canvasOtherUrl ?? null)) {
    throw forbidden('canvasOtherUrl', "only platform staff can name another address of this Canvas (the token may be sent there).");
  }
  if (ctx.tokenStored) {
    const held = `while a Canvas token is stored. Disconnect first on this page (the token is revoked at ${current.canvasUrl}), or ask platform staff to change it.`;
    if (patch.canvasUrl !== undefined && patch.canvasUrl !== current.canvasUrl) throw forbidden('canvasUrl', `the Canvas URL cannot be changed ${held}`);
    if (patch.clientId !== undefined && patch.clientId !== current.clientId) throw forbidden('clientId', `the client id cannot be changed ${held}`);
  }
  if (patch.lti !== undefined) {
    for (const f of CUSTOM_ENDPOINTS) {
      const before = current.lti?.[f];
      const after = patch.lti?.[f];
      if (after !== undefined && after !== before) throw forbidden(`lti.${f}`, 'only platform staff can set where launches are sent and whose keys are trusted.');
    }
  }
}

export function createIntegrationSettings(deps: {
  repo: IntegrationsRepository;
  owners: PlatformOwners;
  oauth: Pick<CanvasOAuth, 'revoke'>;
  audit: AuditLog;
  /** Revokes and deletes the Canvas token (the connection service's disconnect). */
  disconnect?: (id: string, actor: string) => Promise<unknown>;
  /** Re-runs the checks and stores the status (the connection service's verify; nothing without a token). */
  verify?: (id: string, actor: string) => Promise<unknown>;
  logger?: Logger;
}): IntegrationSettings {
  const { repo, owners, audit } = deps;

  /** Integrations (other than `self`) whose registration resolves to `pair`, from before ownership was stored. */
  async function othersRegistered(pair: LtiPair, self: string | null): Promise<Integration[]> {
    return (await repo.list()).filter((i) => i.id !== self && samePair(ltiPairOf(i.canvasUrl, i.lti), pair));
  }

  const pairTaken = (actor: SettingsActor, holderName: string | null) => {
    const field = 'lti.clientId';
    if (actor.scope === 'platform') {
      return new AppError('conflict', `${field}: this LTI client id (with its issuer) is registered for another integration${holderName ? `, “${holderName}”` : ''}.`, {
        details: { field },
        help: 'Check the Client ID. To move the registration here, save again with “Move it here” ticked (API: ?moveLtiRegistration=true); the other integration loses it.',
      });
    }
    return new AppError('conflict', `${field}: this LTI client id is already registered for another integration, so it cannot be used here.`, {
      details: { field },
      help: "Check the Client ID of YOUR LTI key in Canvas (Admin › Developer Keys). If it is right, ask the platform team to move the registration to you.",
    });
  };

  /**
   * Makes `pair` belong to `id` before the integration row says so. Returns whether this call
   * took a new claim (to release it when the update fails).
   */
  async function takePair(id: string | null, pair: LtiPair, actor: SettingsActor, move: boolean): Promise<{ claimedNew: boolean; movedFrom: string[] }> {
    const holder = await owners.holderOf(pair);
    const legacy = await othersRegistered(pair, id);
    const otherHolder = holder && holder.integrationId !== id ? holder.integrationId : null;
    const others = new Set<string>([...legacy.map((i) => i.id), ...(otherHolder ? [otherHolder] : [])]);
    if (others.size > 0) {
      if (!(move && actor.scope === 'platform' && id)) {
        const name = actor.scope === 'platform' ? ((await repo.get([...others][0]!))?.name ?? null) : null;
        throw pairTaken(actor, name);
      }
      await owners.move(pair, id);
      for (const other of others) {
        // The pair leaves the other integration entirely, so its launches are no longer ambiguous.
        const o = await repo.get(other);
        if (o && samePair(ltiPairOf(o.canvasUrl, o.lti), pair)) await repo.update(other, { lti: null });
        await audit.record({ integrationId: other, actor: actor.label, action: 'lti.registration.moved', detail: { issuer: pair.issuer, clientId: pair.clientId, to: id } });
      }
      await audit.record({ integrationId: id, actor: actor.label, action: 'lti.registration.moved', detail: { issuer: pair.issuer, clientId: pair.clientId, from: [...others] } });
      return { claimedNew: true, movedFrom: [...others] };
    }
    if (!id) return { claimedNew: false, movedFrom: [] };
    const r = await owners.claim(pair, id, actor.scope === 'platform' ? 'staff' : null);
    if (!r.ok) {
      const name = actor.scope === 'platform' ? ((await repo.get(r.holder.integrationId))?.name ?? null) : null;
      throw pairTaken(actor, name);
    }
    return { claimedNew: !holder, movedFrom: [] };
  }

  async function revokeDropped(id: string, d: DroppedCredentials, actor: SettingsActor): Promise<CredentialsDropReport> {
    let revokedAtCanvas = false;
    if (d.accessToken) {
      // Best effort: the token is already gone here whatever the old Canvas answers.
      revokedAtCanvas = await deps.oauth
        .revoke(d.previous.canvasUrl, d.accessToken)
        .then((r) => r.ok)
        .catch(() => false);
    }
    const report: CredentialsDropReport = {
      changed: d.changed,
      previousCanvasUrl: d.previous.canvasUrl,
      revokedAtCanvas,
      tokenDropped: d.accessToken !== null,
      secretDropped: d.secretDropped,
    };
    await audit.record({ integrationId: id, actor: actor.label, action: 'integration.credentials_dropped', detail: { ...report } });
    return report;
  }

  /** Re-runs the checks; a failure to run them is logged, never fails the saved change. */
  async function reverify(id: string, actor: SettingsActor): Promise<void> {
    await deps.verify?.(id, actor.label).catch((err: unknown) => deps.logger?.warn({ err, integrationId: id }, 'checks after a settings change could not run'));
  }

  const sameFeatures = (a: readonly string[] | undefined, b: readonly string[] | undefined) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

  const service: IntegrationSettings = {
    async create(input, actor) {
      const pair = ltiPairOf(input.canvasUrl, input.lti);
      if (pair) await takePair(null, pair, actor, false);
      const created = await repo.create(input);
      if (pair) {
        const r = await owners.claim(pair, created.id, actor.scope === 'platform' ? 'staff' : null);
        if (!r.ok) {
          await repo.delete(created.id);
          throw pairTaken(actor, null);
        }
      }
      await audit.record({ integrationId: created.id, actor: actor.label, action: 'integration.created', detail: { name: created.name, canvasUrl: created.canvasUrl } });
      return created;
    },

    async update(id, patch, actor, opts = {}) {
      const result = await applyUpdate(id, patch, actor, opts);
      if (result.featuresChanged) await reverify(id, actor);
      return result.settings;
    },

    async configure(id, patch, actor) {
      const { settings } = await applyUpdate(id, patch, actor, {});
      await audit.record({ integrationId: id, actor: actor.label, action: 'integration.configured', detail: { ...patch } });
      await reverify(id, actor);
      return settings;
    },

    async updateLtiRegistration(id, lti, actor, opts = {}) {
      const result = await service.update(id, { lti }, actor, opts);
      await audit.record({ integrationId: id, actor: actor.label, action: 'lti.registration.updated', detail: { environment: lti.environment, clientId: lti.clientId, deployments: lti.deploymentIds.length } });
      return result;
    },

    async delete(id, actor) {
      const current = await repo.get(id);
      if (!current) throw new AppError('not_found', 'No such integration.');
      await deps.disconnect?.(id, actor.label).catch(() => undefined);
      await repo.delete(id);
      await audit.record({ integrationId: id, actor: actor.label, action: 'integration.deleted', detail: { name: current.name } });
      return current;
    },
  };

  /** The change itself (policy, LTI pair, credentials, audit); says whether the features changed. */
  async function applyUpdate(id: string, patch: PatchIntegrationInput, actor: SettingsActor, opts: UpdateSettingsOptions): Promise<{ settings: SettingsResult; featuresChanged: boolean }> {
    const current = await repo.get(id);
    if (!current) throw new AppError('not_found', 'No such integration.');
    if (actor.scope === 'institution') {
      assertInstitutionMayChange(current, patch, { tokenStored: (await repo.getToken(id)) !== undefined });
    }
    const before = ltiPairOf(current.canvasUrl, current.lti);
    const after = ltiPairOf(patch.canvasUrl ?? current.canvasUrl, patch.lti !== undefined ? patch.lti : current.lti);
    let claimedNew = false;
    const touchesPair = patch.lti !== undefined || patch.canvasUrl !== undefined;
    if (after && touchesPair && (!samePair(before, after) || actor.scope === 'platform')) {
      claimedNew = (await takePair(id, after, actor, opts.moveLtiRegistration === true)).claimedNew;
    }
    // Another name belongs to the Canvas it was set for: a new Canvas URL forgets it unless the
    // same change names the new one.
    if (patch.canvasUrl !== undefined && patch.canvasUrl !== current.canvasUrl && patch.canvasOtherUrl === undefined && current.canvasOtherUrl) {
      patch = { ...patch, canvasOtherUrl: null };
    }
    const drop: { credentials?: DroppedCredentials } = {};
    let updated: Integration | undefined;
    try {
      updated = await repo.update(id, patch, { onCredentialsDropped: (d) => void (drop.credentials = d) });
    } catch (err) {
      if (claimedNew && after) await owners.releaseOthers(id, before).catch(() => undefined);
      throw err;
    }
    if (!updated) throw new AppError('not_found', 'No such integration.');
    if (!samePair(before, after)) await owners.releaseOthers(id, after);
    const report = drop.credentials ? await revokeDropped(id, drop.credentials, actor) : null;
    const fields = Object.keys(patch).filter((k) => k !== 'clientSecret');
    await audit.record({ integrationId: id, actor: actor.label, action: 'integration.updated', detail: { fields, clientSecretChanged: patch.clientSecret !== undefined } });
    return { settings: { integration: updated, dropped: report }, featuresChanged: patch.features !== undefined && !sameFeatures(current.features, updated.features) };
  }
  return service;
}
