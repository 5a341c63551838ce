import { randomUUID } from 'node:crypto';
import type { ExpressionBuilder, Kysely, Selectable, Transaction } from 'kysely';
import type { Dialect } from '../store/database.js';
import type { Database, WebhookDeliveriesTable, WebhookEndpointsTable } from '../store/schema.js';

/** The transaction a change is appended in: outbox rows written with it commit or roll back with the change. */
export type OutboxTx = Transaction<Database>;

export type EndpointRow = Selectable<WebhookEndpointsTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

/** What the worker writes after one attempt. */
export interface AttemptResult {
  status: 'delivered' | 'failed' | 'dead';
  nextAttemptAt: string | null;
  statusCode: number | null;
  error: string | null;
  at: string;
}

/** The SQL of webhooks: endpoints and the delivery outbox. Portable across SQLite and Postgres. */
export interface WebhooksRepository {
  insertEndpoint(row: EndpointRow): Promise<void>;
  getEndpoint(id: string): Promise<EndpointRow | undefined>;
  listEndpoints(): Promise<EndpointRow[]>;
  /** Deletes the endpoint and its deliveries; says whether it existed. */
  deleteEndpoint(id: string): Promise<boolean>;
  /** Endpoints not disabled whose integration is `integrationId` or all (`null`). */
  activeEndpointsFor(tx: OutboxTx | undefined, integrationId: string): Promise<EndpointRow[]>;
  /** Writes outbox rows with `db` (a transaction, so they commit or roll back with the change). */
  insertDeliveries(tx: OutboxTx | undefined, rows: DeliveryRow[]): Promise<void>;
  getDelivery(id: string): Promise<DeliveryRow | undefined>;
  listDeliveries(endpointId: string, limit: number): Promise<DeliveryRow[]>;
  /**
   * Claims up to `limit` due deliveries (pending, or failed with a retry due, not claimed by a live
   * worker) until `until`. Atomic: of two workers, each row goes to one (Postgres: `FOR UPDATE SKIP
   * LOCKED` plus a re-checked condition; SQLite: one statement in one process).
   */
  claimDue(now: string, until: string, limit: number): Promise<DeliveryRow[]>;
  /** Records an attempt if the claim `claimedUntil` still holds; says whether it did. */
  recordAttempt(id: string, claimedUntil: string, result: AttemptResult): Promise<boolean>;
  /** Makes a delivery due now again (a redelivery), keeping its id and attempt count. */
  requeue(id: string, now: string): Promise<void>;
  setFailingSince(endpointId: string, at: string | null): Promise<void>;
  /** Disables the endpoint with a reason and gives up its undelivered messages. */
  disable(endpointId: string, at: string, reason: string): Promise<void>;
  enable(endpointId: string): Promise<boolean>;
  /** Deletes up to `limit` finished deliveries (delivered, dead, or failed with no retry) written before `before`; returns how many. */
  pruneFinished(before: string, limit: number): Promise<number>;
  /** How many deliveries wait (pending or retrying). */
  countWaiting(): Promise<number>;
}

/** Creates the repository; `dialect` picks the claim's locking form. */
export function createWebhooksRepository(db: Kysely<Database>, dialect: Dialect): WebhooksRepository {
  return {
    async insertEndpoint(row) {
      await db.insertInto('webhook_endpoints').values(row).execute();
    },
    getEndpoint: (id) => db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst(),
    listEndpoints: () => db.selectFrom('webhook_endpoints').selectAll().orderBy('created_at').orderBy('id').execute(),
    async deleteEndpoint(id) {
      return db.transaction().execute(async (trx) => {
        await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
        const r = await trx.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
        return Number(r.numDeletedRows) > 0;
      });
    },
    activeEndpointsFor: (tx, integrationId) =>
      (tx ?? db)
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('disabled_at', 'is', null)
        .where((eb) => eb.or([eb('integration_id', 'is', null), eb('integration_id', '=', integrationId)]))
        .execute(),
    async insertDeliveries(tx, rows) {
      if (rows.length > 0) await (tx ?? db).insertInto('webhook_deliveries').values(rows).execute();
    },
    getDelivery: (id) => db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst(),
    listDeliveries: (endpointId, limit) =>
      db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute(),
    async claimDue(now, until, limit) {
      const free = (eb: ExpressionBuilder<Database, 'webhook_deliveries'>) =>
        eb.and([
          eb('status', 'in', ['pending', 'failed']),
          eb('next_attempt_at', 'is not', null),
          eb('next_attempt_at', '<=', now),
          eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]),
        ]);
      let due = db.selectFrom('webhook_deliveries').select('id').where(free).orderBy('next_attempt_at').limit(limit);
      if (dialect === 'postgres') due = due.forUpdate().skipLocked();
      return db.updateTable('webhook_deliveries').set({ claimed_until: until }).where('id', 'in', due).where(free).returningAll().execute();
    },
    async recordAttempt(id, claimedUntil, r) {
      const res = await db
        .updateTable('webhook_deliveries')
        .set((eb) => ({
          attempt: eb('attempt', '+', 1),
          status: r.status,
          next_attempt_at: r.nextAttemptAt,
          last_status_code: r.statusCode,
          last_error: r.error,
          delivered_at: r.status === 'delivered' ? r.at : null,
          claimed_until: null,
        }))
        .where('id', '=', id)
        .where('claimed_until', '=', claimedUntil)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    async requeue(id, now) {
      await db.updateTable('webhook_deliveries').set({ status: 'pending', next_attempt_at: now, claimed_until: null }).where('id', '=', id).execute();
    },
    async setFailingSince(endpointId, at) {
      let q = db.updateTable('webhook_endpoints').set({ failing_since: at }).where('id', '=', endpointId);
      // Only the first failure of a run sets it; a success clears it.
      if (at !== null) q = q.where('failing_since', 'is', null);
      await q.execute();
    },
    async disable(endpointId, at, reason) {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('webhook_endpoints').set({ disabled_at: at, disabled_reason: reason }).where('id', '=', endpointId).where('disabled_at', 'is', null).execute();
        await trx
          .updateTable('webhook_deliveries')
          .set({ status: 'dead', next_attempt_at: null, last_error: 'The endpoint was disabled before this message was delivered.' })
          .where('endpoint_id', '=', endpointId)
          .where('status', 'in', ['pending', 'failed'])
          .where('claimed_until', 'is', null)
          .execute();
      });
    },
    async enable(endpointId) {
      const r = await db
        .updateTable('webhook_endpoints')
        .set({ disabled_at: null, disabled_reason: null, failing_since: null })
        .where('id', '=', endpointId)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async pruneFinished(before, limit) {
      const old = db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('created_at', '<', before)
        .where((eb) => eb.or([eb('status', 'in', ['delivered', 'dead']), eb.and([eb('status', '=', 'failed'), eb('next_attempt_at', 'is', null)])]))
        .limit(limit);
      const r = await db.deleteFrom('webhook_deliveries').where('id', 'in', old).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async countWaiting() {
      const r = await db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', 'in', ['pending', 'failed'])
        .where('next_attempt_at', 'is not', null)
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
  };
}

/** A new message id: `msg_` and a UUID without dashes (the `webhook-id` header). */
export function newMessageId(): string {
  return `msg_${randomUUID().replaceAll('-', '')}`;
}
