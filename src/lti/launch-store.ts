import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { parseIntegrationLti, type IntegrationLti } from './canvas-platforms.js';

/** What the LTI feature needs to know about an integration (read straight from the table). */
export interface LtiIntegration {
  id: string;
  name: string;
  canvasUrl: string;
  userIdType: string;
  lti: IntegrationLti;
}

/**
 * A validated launch, handed from the ltijs sub-app to the main app (which owns the session).
 * `inFrame`: the launch validated through Canvas's platform storage (no cookies), so its read-only
 * page may open inside the iframe with a frame token when the session cookie does not come back.
 */
export type HandoffPayload =
  | { kind: 'admin'; label: string; sub: string; name: string | null; inFrame?: true }
  | { kind: 'instructor'; courseId: string; courseTitle: string | null; sub: string; name: string | null; inFrame?: true }
  | { kind: 'student'; reason: string };

export interface NrpsMember {
  userId: string;
  name: string | null;
  email: string | null;
  sourcedId: string | null;
  canvasUserId: string | null;
  roles: string[];
  status: string;
}

export interface NrpsSnapshot {
  members: NrpsMember[];
  error: string | null;
  fetchedAt: string;
}

export type ConsumeResult =
  | { ok: true; integrationId: string; payload: HandoffPayload }
  | { ok: false; reason: 'unknown' | 'expired' | 'used' };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** How long a hand-over token may wait for the browser (it is used right after the launch). */
export const HANDOFF_TTL_MS = 2 * 60 * 1000;

/**
 * Storage for the LTI feature on SQLite or Postgres: integration lookups by LTI registration,
 * single-use hand-over tokens, and NRPS snapshots.
 */
export function createLaunchStore(deps: { db: Kysely<Database>; clock: () => Date; random?: (n: number) => Buffer }) {
  const { db, clock } = deps;
  const random = deps.random ?? randomBytes;

  const toLti = (row: { id: string; name: string; canvas_url: string; user_id_type: string; lti: string | null }): LtiIntegration | null => {
    const lti = parseIntegrationLti(row.lti);
    return lti ? { id: row.id, name: row.name, canvasUrl: row.canvas_url, userIdType: row.user_id_type, lti } : null;
  };

  /** Reads a hand-over token without using it up (unknown, expired and used tokens are refused). */
  async function peekHandoff(token: string): Promise<ConsumeResult> {
    const row = await db.selectFrom('lti_handoffs').selectAll().where('token_hash', '=', sha256(token)).executeTakeFirst();
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.used_at) return { ok: false, reason: 'used' };
    if (row.expires_at <= clock().toISOString()) return { ok: false, reason: 'expired' };
    return { ok: true, integrationId: row.integration_id, payload: JSON.parse(row.payload) as HandoffPayload };
  }

  return {
    /** Every integration with a usable LTI registration. */
    async listLtiIntegrations(): Promise<LtiIntegration[]> {
      const rows = await db
        .selectFrom('integrations')
        .select(['id', 'name', 'canvas_url', 'user_id_type', 'lti'])
        .where('lti', 'is not', null)
        .execute();
      return rows.map(toLti).filter((x): x is LtiIntegration => x !== null);
    },

    /** One integration, with or without LTI (`lti` null when not registered). */
    async getIntegration(id: string): Promise<(Omit<LtiIntegration, 'lti'> & { lti: IntegrationLti | null }) | undefined> {
      const row = await db
        .selectFrom('integrations')
        .select(['id', 'name', 'canvas_url', 'user_id_type', 'lti'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return undefined;
      return { id: row.id, name: row.name, canvasUrl: row.canvas_url, userIdType: row.user_id_type, lti: parseIntegrationLti(row.lti) };
    },

    /** Creates a single-use hand-over token (returned once; only its hash is stored). */
    async createHandoff(integrationId: string, payload: HandoffPayload): Promise<string> {
      const token = random(32).toString('base64url');
      const now = clock();
      await db
        .insertInto('lti_handoffs')
        .values({
          token_hash: sha256(token),
          integration_id: integrationId,
          kind: payload.kind,
          payload: JSON.stringify(payload),
          created_at: now.toISOString(),
          expires_at: new Date(now.getTime() + HANDOFF_TTL_MS).toISOString(),
          used_at: null,
        })
        .execute();
      return token;
    },

    peekHandoff,

    /**
     * Uses a hand-over token up: one conditional UPDATE (`used_at IS NULL` and unexpired) that
     * returns the row, so of any number of concurrent confirms exactly one gets the payload and
     * the others learn why not (`used`, `expired`, `unknown`).
     */
    async consumeHandoff(token: string): Promise<ConsumeResult> {
      const now = clock().toISOString();
      const row = await db
        .updateTable('lti_handoffs')
        .set({ used_at: now })
        .where('token_hash', '=', sha256(token))
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(['integration_id', 'payload'])
        .executeTakeFirst();
      if (row) return { ok: true, integrationId: row.integration_id, payload: JSON.parse(row.payload) as HandoffPayload };
      const why = await peekHandoff(token);
      return why.ok ? { ok: false, reason: 'used' } : why;
    },

    /** Deletes hand-over rows older than a day (called opportunistically). */
    async pruneHandoffs(): Promise<void> {
      const cutoff = new Date(clock().getTime() - 24 * 60 * 60 * 1000).toISOString();
      await db.deleteFrom('lti_handoffs').where('created_at', '<', cutoff).execute();
    },

    async saveNrpsSnapshot(integrationId: string, courseId: string, snap: NrpsSnapshot): Promise<void> {
      const values = {
        integration_id: integrationId,
        course_canvas_id: courseId,
        members: JSON.stringify(snap.members),
        error: snap.error,
        fetched_at: snap.fetchedAt,
      };
      await db
        .insertInto('lti_nrps_snapshots')
        .values(values)
        .onConflict((oc) =>
          oc.columns(['integration_id', 'course_canvas_id']).doUpdateSet({ members: values.members, error: values.error, fetched_at: values.fetched_at }),
        )
        .execute();
    },

    async getNrpsSnapshot(integrationId: string, courseId: string): Promise<NrpsSnapshot | undefined> {
      const row = await db
        .selectFrom('lti_nrps_snapshots')
        .selectAll()
        .where('integration_id', '=', integrationId)
        .where('course_canvas_id', '=', courseId)
        .executeTakeFirst();
      return row ? { members: JSON.parse(row.members) as NrpsMember[], error: row.error, fetchedAt: row.fetched_at } : undefined;
    },
  };
}

export type LaunchStore = ReturnType<typeof createLaunchStore>;
