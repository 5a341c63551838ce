import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

export type ChangeType =
  | 'enrollment.added'
  | 'enrollment.removed'
  | 'enrollment.updated'
  | 'course_admin.added'
  | 'course_admin.removed'
  | 'course.updated'
  | 'integration.status_changed';

export const CHANGE_TYPES: readonly ChangeType[] = [
  'enrollment.added',
  'enrollment.removed',
  'enrollment.updated',
  'course_admin.added',
  'course_admin.removed',
  'course.updated',
  'integration.status_changed',
];

export interface ChangeRecord {
  seq: number;
  at: string;
  integrationId: string;
  type: ChangeType;
  courseCanvasId: string | null;
  data: Record<string, unknown>;
}

/** Runs inside the transaction that appended `appended` (a webhook outbox writes here). */
export type ChangeListener = (tx: Transaction<Database>, appended: readonly ChangeRecord[]) => Promise<void>;

/** A change to append: `seq` and `at` are given by the log. */
export interface NewChange {
  type: ChangeType;
  courseCanvasId: string | null;
  data: Record<string, unknown>;
}

/** The transaction handle change-log appends run in (the caller's, so its own writes commit with them). */
export type ChangeTx = Transaction<Database>;

const CHUNK = 200;

function toRecord(r: { seq: number | string | bigint; at: string; integration_id: string; type: string; course_canvas_id: string | null; data: string }): ChangeRecord {
  return {
    seq: Number(r.seq),
    at: r.at,
    integrationId: r.integration_id,
    type: r.type as ChangeType,
    courseCanvasId: r.course_canvas_id,
    data: JSON.parse(r.data) as Record<string, unknown>,
  };
}

/**
 * The change_log table. Appends of one integration are serialised (a transaction-scoped advisory
 * lock on Postgres; SQLite has one writer anyway), so `seq` order is also commit order within an
 * integration: a reader paging with `after=<seq>` never skips an entry that commits later with a
 * smaller seq.
 */
export function createChangeLogRepository(db: Kysely<Database>) {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return {
    /** Runs `fn` in one transaction (the change log's own appends). */
    transaction<T>(fn: (tx: ChangeTx) => Promise<T>): Promise<T> {
      return db.transaction().execute(fn);
    },

    /**
     * Holds the integration's change-log lock until the transaction ends. Taken before reading
     * what a write compares against, two syncs of one integration cannot both append the same
     * change. Re-entrant within one transaction.
     */
    async lock(tx: ChangeTx, integrationId: string): Promise<void> {
      if (postgres) await sql`select pg_advisory_xact_lock(hashtext(${`change_log:${integrationId}`}))`.execute(tx);
    },

    /** Inserts the entries in order; returns them with their seq (ascending, in the given order). */
    async insert(tx: ChangeTx, integrationId: string, at: string, entries: readonly NewChange[]): Promise<ChangeRecord[]> {
      const out: ChangeRecord[] = [];
      for (let i = 0; i < entries.length; i += CHUNK) {
        const chunk = entries.slice(i, i + CHUNK);
        const rows = await tx
          .insertInto('change_log')
          .values(chunk.map((e) => ({ integration_id: integrationId, at, type: e.type, course_canvas_id: e.courseCanvasId, data: JSON.stringify(e.data) })))
          .returning('seq')
          .execute();
        // Both databases number a multi-row insert in the order of its rows.
        const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
        chunk.forEach((e, k) => out.push({ seq: seqs[k]!, at, integrationId, type: e.type, courseCanvasId: e.courseCanvasId, data: e.data }));
      }
      return out;
    },

    /** Entries after `after` in seq order, at most `limit`, optionally of one course. */
    async list(integrationId: string, opts: { after: number; limit: number; courseCanvasId?: string }): Promise<ChangeRecord[]> {
      let q = db.selectFrom('change_log').selectAll().where('integration_id', '=', integrationId).where('seq', '>', opts.after);
      if (opts.courseCanvasId !== undefined) q = q.where('course_canvas_id', '=', opts.courseCanvasId);
      return (await q.orderBy('seq').limit(opts.limit).execute()).map(toRecord);
    },

    /** The newest `limit` entries of one course, newest first. */
    async recent(integrationId: string, limit: number): Promise<ChangeRecord[]> {
      const rows = await db.selectFrom('change_log').selectAll().where('integration_id', '=', integrationId).orderBy('seq', 'desc').limit(limit).execute();
      return rows.map(toRecord);
    },
    async recentForCourse(integrationId: string, courseCanvasId: string, limit: number): Promise<ChangeRecord[]> {
      const rows = await db
        .selectFrom('change_log')
        .selectAll()
        .where('integration_id', '=', integrationId)
        .where('course_canvas_id', '=', courseCanvasId)
        .orderBy('seq', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toRecord);
    },
  };
}

export type ChangeLogRepository = ReturnType<typeof createChangeLogRepository>;
