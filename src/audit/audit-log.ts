import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** One audit event as read back. `detail` must never contain secrets. */
export interface AuditEvent {
  id: string;
  integrationId: string | null;
  /** 'staff:<id>', 'api-token:<id>', 'admin-link:<integration>', 'lti:<sub>', 'system' */
  actor: string;
  action: string;
  detail: Record<string, unknown>;
  createdAt: string;
}

export interface AuditLog {
  record(event: { integrationId?: string | null; actor: string; action: string; detail?: Record<string, unknown> }): Promise<void>;
  /** Newest first; `integrationId` null lists events not tied to an integration. */
  list(integrationId: string | null, limit?: number): Promise<AuditEvent[]>;
}

/** Append-only audit trail on `audit_events`. */
export function createAuditLog(deps: { db: Kysely<Database>; clock: () => Date }): AuditLog {
  const { db, clock } = deps;
  return {
    async record({ integrationId = null, actor, action, detail = {} }) {
      await db
        .insertInto('audit_events')
        .values({
          id: randomUUID(),
          integration_id: integrationId,
          actor,
          action,
          detail: JSON.stringify(detail),
          created_at: clock().toISOString(),
        })
        .execute();
    },
    async list(integrationId, limit = 50) {
      let q = db.selectFrom('audit_events').selectAll();
      q = integrationId === null ? q.where('integration_id', 'is', null) : q.where('integration_id', '=', integrationId);
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(Math.min(Math.max(limit, 1), 500)).execute();
      return rows.map((r) => ({
        id: r.id,
        integrationId: r.integration_id,
        actor: r.actor,
        action: r.action,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
        createdAt: r.created_at,
      }));
    },
  };
}
