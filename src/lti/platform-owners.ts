import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { platformEndpoints, type IntegrationLti } from './canvas-platforms.js';

/** An LTI platform as launches name it: the `iss` and the LTI key's client id. */
export interface LtiPair {
  issuer: string;
  clientId: string;
}

/** The pair an integration's launches arrive with (the issuer depends on the environment and, for custom, the Canvas URL). */
export function ltiPairOf(canvasUrl: string, lti: IntegrationLti | null | undefined): LtiPair | null {
  if (!lti) return null;
  return { issuer: platformEndpoints(canvasUrl, lti).issuer, clientId: lti.clientId };
}

export const samePair = (a: LtiPair | null, b: LtiPair | null): boolean =>
  a !== null && b !== null && a.issuer === b.issuer && a.clientId === b.clientId;

export interface PlatformOwner {
  integrationId: string;
  /** How ownership was shown: a successful launch, a staff save; null while only registered. */
  provenBy: 'launch' | 'staff' | null;
  provenAt: string | null;
}

export type ClaimResult = { ok: true } | { ok: false; holder: PlatformOwner };

/**
 * Which integration each LTI (issuer, client id) pair belongs to, on `lti_platform_owners`. The
 * primary key on the pair makes a claim atomic: of two integrations registering one pair at once,
 * exactly one gets it, so launches can never become ambiguous through a registration.
 */
export interface PlatformOwners {
  holderOf(pair: LtiPair): Promise<PlatformOwner | undefined>;
  /**
   * Claims a free pair for `integrationId` (or confirms it already holds it). With `proof`, records
   * how ownership was shown, unless it was already proven. Never takes a pair from another holder.
   */
  claim(pair: LtiPair, integrationId: string, proof: 'launch' | 'staff' | null): Promise<ClaimResult>;
  /** Gives the pair to `integrationId` whoever held it (staff's explicit move). */
  move(pair: LtiPair, integrationId: string): Promise<PlatformOwner | undefined>;
  /** Drops every pair `integrationId` holds except `keep` (its registration changed or went away). */
  releaseOthers(integrationId: string, keep: LtiPair | null): Promise<void>;
}

export function createPlatformOwners(deps: { db: Kysely<Database>; clock: () => Date }): PlatformOwners {
  const { db, clock } = deps;

  const holderOf = async (pair: LtiPair): Promise<PlatformOwner | undefined> => {
    const row = await db
      .selectFrom('lti_platform_owners')
      .select(['integration_id', 'proven_by', 'proven_at'])
      .where('issuer', '=', pair.issuer)
      .where('client_id', '=', pair.clientId)
      .executeTakeFirst();
    return row ? { integrationId: row.integration_id, provenBy: row.proven_by as PlatformOwner['provenBy'], provenAt: row.proven_at } : undefined;
  };

  async function claim(pair: LtiPair, integrationId: string, proof: 'launch' | 'staff' | null, retry = true): Promise<ClaimResult> {
    const now = clock().toISOString();
    await db
      .insertInto('lti_platform_owners')
      .values({ issuer: pair.issuer, client_id: pair.clientId, integration_id: integrationId, proven_by: proof, proven_at: proof ? now : null, created_at: now })
      .onConflict((oc) => oc.columns(['issuer', 'client_id']).doNothing())
      .execute();
    const holder = await holderOf(pair);
    if (!holder) {
      // Released between the two statements: try once more.
      if (retry) return claim(pair, integrationId, proof, false);
      throw new Error('LTI platform claim lost twice in a row');
    }
    if (holder.integrationId !== integrationId) return { ok: false, holder };
    if (proof && !holder.provenBy) {
      await db
        .updateTable('lti_platform_owners')
        .set({ proven_by: proof, proven_at: now })
        .where('issuer', '=', pair.issuer)
        .where('client_id', '=', pair.clientId)
        .where('integration_id', '=', integrationId)
        .where('proven_by', 'is', null)
        .execute();
    }
    return { ok: true };
  }

  return {
    holderOf,
    claim: (pair, integrationId, proof) => claim(pair, integrationId, proof),

    async move(pair, integrationId) {
      const before = await holderOf(pair);
      const now = clock().toISOString();
      await db
        .insertInto('lti_platform_owners')
        .values({ issuer: pair.issuer, client_id: pair.clientId, integration_id: integrationId, proven_by: 'staff', proven_at: now, created_at: now })
        .onConflict((oc) => oc.columns(['issuer', 'client_id']).doUpdateSet({ integration_id: integrationId, proven_by: 'staff', proven_at: now }))
        .execute();
      return before;
    },

    async releaseOthers(integrationId, keep) {
      const rows = await db.selectFrom('lti_platform_owners').select(['issuer', 'client_id']).where('integration_id', '=', integrationId).execute();
      for (const r of rows) {
        if (keep && r.issuer === keep.issuer && r.client_id === keep.clientId) continue;
        await db
          .deleteFrom('lti_platform_owners')
          .where('issuer', '=', r.issuer)
          .where('client_id', '=', r.client_id)
          .where('integration_id', '=', integrationId)
          .execute();
      }
    },
  };
}
