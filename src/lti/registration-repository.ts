import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** An open Dynamic Registration window of one integration. */
export interface RegistrationWindow {
  integrationId: string;
  openedBy: string;
  openedAt: string;
  expiresAt: string;
}

export type RegistrationTokenOutcome = 'started' | 'registered' | 'refused';

/**
 * The SQL of LTI Dynamic Registration: the windows in which an integration accepts a registration
 * by URL, and the registration tokens already used (each is good for one registration).
 */
export interface RegistrationRepository {
  /** Opens (or extends) the window of an integration until `expiresAt`. */
  openWindow(integrationId: string, openedBy: string, expiresAt: string): Promise<RegistrationWindow>;
  closeWindow(integrationId: string): Promise<void>;
  /** The window, when one is open at `now` (an expired one is not returned). */
  openWindowOf(integrationId: string, now: string): Promise<RegistrationWindow | undefined>;
  /**
   * Records the first use of a registration token. False when the token was used before (by this
   * integration or any other): a reloaded or replayed registration page.
   */
  claimToken(tokenKey: string, integrationId: string): Promise<boolean>;
  finishToken(tokenKey: string, outcome: RegistrationTokenOutcome, clientId: string | null): Promise<void>;
  /** True when Dynamic Registration created `clientId` for the integration and no launch has added a deployment yet. */
  awaitingFirstDeployment(integrationId: string, clientId: string): Promise<boolean>;
  /** Records that a launch added the deployment of a dynamically registered key (once). False when already done. */
  markDeploymentAdopted(integrationId: string, clientId: string): Promise<boolean>;
}

export function createRegistrationRepository(deps: { db: Kysely<Database>; clock: () => Date }): RegistrationRepository {
  const { db, clock } = deps;
  const now = () => clock().toISOString();
  const toWindow = (r: { integration_id: string; opened_by: string; opened_at: string; expires_at: string }): RegistrationWindow => ({
    integrationId: r.integration_id,
    openedBy: r.opened_by,
    openedAt: r.opened_at,
    expiresAt: r.expires_at,
  });
  return {
    async openWindow(integrationId, openedBy, expiresAt) {
      const row = { integration_id: integrationId, opened_by: openedBy, opened_at: now(), expires_at: expiresAt };
      await db
        .insertInto('lti_registration_windows')
        .values(row)
        .onConflict((oc) => oc.column('integration_id').doUpdateSet({ opened_by: openedBy, opened_at: row.opened_at, expires_at: expiresAt }))
        .execute();
      return toWindow(row);
    },
    async closeWindow(integrationId) {
      await db.deleteFrom('lti_registration_windows').where('integration_id', '=', integrationId).execute();
    },
    async openWindowOf(integrationId, at) {
      const row = await db.selectFrom('lti_registration_windows').selectAll().where('integration_id', '=', integrationId).where('expires_at', '>', at).executeTakeFirst();
      return row ? toWindow(row) : undefined;
    },
    async claimToken(tokenKey, integrationId) {
      const r = await db
        .insertInto('lti_registration_tokens')
        .values({ token_key: tokenKey, integration_id: integrationId, outcome: 'started', client_id: null, deployment_adopted_at: null, created_at: now() })
        .onConflict((oc) => oc.column('token_key').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async finishToken(tokenKey, outcome, clientId) {
      await db.updateTable('lti_registration_tokens').set({ outcome, client_id: clientId }).where('token_key', '=', tokenKey).execute();
    },
    async awaitingFirstDeployment(integrationId, clientId) {
      const row = await db
        .selectFrom('lti_registration_tokens')
        .select('token_key')
        .where('integration_id', '=', integrationId)
        .where('client_id', '=', clientId)
        .where('outcome', '=', 'registered')
        .where('deployment_adopted_at', 'is', null)
        .executeTakeFirst();
      return row !== undefined;
    },
    async markDeploymentAdopted(integrationId, clientId) {
      const r = await db
        .updateTable('lti_registration_tokens')
        .set({ deployment_adopted_at: now() })
        .where('integration_id', '=', integrationId)
        .where('client_id', '=', clientId)
        .where('outcome', '=', 'registered')
        .where('deployment_adopted_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  };
}
