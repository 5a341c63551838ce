import { sql, type Kysely } from 'kysely';
import type { Database, SyncListImportsTable } from '../store/schema.js';

/** A listed course with what the list page, the API and the export show of it. */
export interface ListedCourse {
  canvasId: string;
  /** The course's ID of the integration's course ID type, or null (empty, hidden, or the course is gone from the last refresh). */
  externalId: string | null;
  name: string | null;
  courseCode: string | null;
  /** False when the course is not in the last refresh. */
  known: boolean;
  syncable: boolean;
  reasons: string[];
  /** The course's term name. */
  term: string | null;
  /** The course's own start and end when set, else its term's (the dates Canvas applies). */
  startAt: string | null;
  endAt: string | null;
  department: string | null;
  addedAt: string;
  addedBy: string;
  /** When the course's roster was last synced (by the list or from the courses page); null: never. */
  lastSyncedAt: string | null;
  examTakers: number;
  courseAdmins: number;
}

/** What an import or an add by id needs to know of a course of the last refresh. */
export interface CourseFact {
  canvasId: string;
  externalId: string | null;
  name: string;
  syncable: boolean;
  reasons: string[];
}

export type StoredImport = SyncListImportsTable;

const CHUNK = 400;

function encodeCursor(canvasId: string): string {
  return Buffer.from(canvasId, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string | undefined {
  const v = Buffer.from(cursor, 'base64url').toString('utf8');
  return v.length > 0 && v.length < 200 ? v : undefined;
}

/**
 * Storage of the sync list, its pending import files and the re-sync schedule's due times
 * (SQLite and Postgres). Course ids are ordered as numbers (length, then text), like the course list.
 */
export function createSyncListRepository(db: Kysely<Database>) {
  /** Counts of exam-takers and course admins for these courses (one grouped query per chunk). */
  async function countsFor(integrationId: string, courseIds: string[]): Promise<Map<string, { examTakers: number; courseAdmins: number }>> {
    const out = new Map<string, { examTakers: number; courseAdmins: number }>();
    for (let i = 0; i < courseIds.length; i += CHUNK) {
      const chunk = courseIds.slice(i, i + CHUNK);
      const rows = await db
        .selectFrom('roster_entries')
        .select(['course_canvas_id', sql<number>`sum(exam_taker)`.as('takers'), sql<number>`sum(course_admin)`.as('admins')])
        .where('integration_id', '=', integrationId)
        .where('course_canvas_id', 'in', chunk)
        .groupBy('course_canvas_id')
        .execute();
      for (const r of rows) out.set(r.course_canvas_id, { examTakers: Number(r.takers ?? 0), courseAdmins: Number(r.admins ?? 0) });
    }
    return out;
  }

  /** Joins the listed rows with their course facts and counts. */
  async function describe(
    integrationId: string,
    rows: Array<{ canvas_course_id: string; added_at: string; added_by: string; last_synced_at: string | null }>,
  ): Promise<ListedCourse[]> {
    const ids = rows.map((r) => r.canvas_course_id);
    type Facts = { name: string; course_code: string | null; external_id: string | null; syncable: number; reasons: string; term_name: string | null; term_start_at: string | null; term_end_at: string | null; start_at: string | null; end_at: string | null; department: string | null; last_synced_at: string | null };
    const facts = new Map<string, Facts>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const found = await db
        .selectFrom('courses')
        .select(['canvas_id', 'name', 'course_code', 'external_id', 'syncable', 'reasons', 'term_name', 'term_start_at', 'term_end_at', 'start_at', 'end_at', 'department', 'last_synced_at'])
        .where('integration_id', '=', integrationId)
        .where('canvas_id', 'in', ids.slice(i, i + CHUNK))
        .execute();
      for (const f of found) facts.set(f.canvas_id, f);
    }
    const counts = await countsFor(integrationId, ids);
    return rows.map((r) => {
      const f = facts.get(r.canvas_course_id);
      const c = counts.get(r.canvas_course_id);
      return {
        canvasId: r.canvas_course_id,
        externalId: f?.external_id ?? null,
        name: f?.name ?? null,
        courseCode: f?.course_code ?? null,
        known: f !== undefined,
        syncable: f ? Number(f.syncable) === 1 : false,
        reasons: f ? (JSON.parse(f.reasons) as string[]) : [],
        term: f?.term_name ?? null,
        // The course's own dates when it has them, else its term's: the dates Canvas applies.
        startAt: f?.start_at ?? f?.term_start_at ?? null,
        endAt: f?.end_at ?? f?.term_end_at ?? null,
        department: f?.department ?? null,
        addedAt: r.added_at,
        addedBy: r.added_by,
        // The roster's last sync, whichever started it (the list's run or a sync from the courses
        // page): the counts beside it come from that roster. ISO timestamps compare as text.
        lastSyncedAt: [r.last_synced_at, f?.last_synced_at ?? null].filter((t): t is string => t !== null).sort().at(-1) ?? null,
        examTakers: c?.examTakers ?? 0,
        courseAdmins: c?.courseAdmins ?? 0,
      };
    });
  }

  const listColumns = ['canvas_course_id', 'added_at', 'added_by', 'last_synced_at'] as const;

  return {
    /** One page of the list in course id order. A cursor that does not decode starts from the beginning. */
    async page(integrationId: string, opts: { cursor?: string; limit?: number } = {}): Promise<{ courses: ListedCourse[]; nextCursor: string | null }> {
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), 500);
      let q = db.selectFrom('sync_list').select(listColumns).where('integration_id', '=', integrationId);
      const after = opts.cursor ? decodeCursor(opts.cursor) : undefined;
      if (after !== undefined) {
        q = q.where((eb) =>
          eb.or([
            eb(sql`length(canvas_course_id)`, '>', after.length),
            eb.and([eb(sql`length(canvas_course_id)`, '=', after.length), eb('canvas_course_id', '>', after)]),
          ]),
        );
      }
      const rows = await q.orderBy(sql`length(canvas_course_id)`).orderBy('canvas_course_id').limit(limit + 1).execute();
      const page = rows.slice(0, limit);
      return { courses: await describe(integrationId, page), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.canvas_course_id) : null };
    },

    /** Every listed course, described (the export). */
    async all(integrationId: string): Promise<ListedCourse[]> {
      const rows = await db
        .selectFrom('sync_list')
        .select(listColumns)
        .where('integration_id', '=', integrationId)
        .orderBy(sql`length(canvas_course_id)`)
        .orderBy('canvas_course_id')
        .execute();
      return describe(integrationId, rows);
    },

    /** The canvas ids on the list. */
    async listedIds(integrationId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('sync_list')
        .select('canvas_course_id')
        .where('integration_id', '=', integrationId)
        .orderBy(sql`length(canvas_course_id)`)
        .orderBy('canvas_course_id')
        .execute();
      return rows.map((r) => r.canvas_course_id);
    },

    async count(integrationId: string): Promise<number> {
      const r = await db.selectFrom('sync_list').select(sql<number>`count(*)`.as('n')).where('integration_id', '=', integrationId).executeTakeFirst();
      return Number(r?.n ?? 0);
    },

    /** Every course of the last refresh (what an import's ids are matched against). */
    async courseFacts(integrationId: string): Promise<CourseFact[]> {
      const rows = await db
        .selectFrom('courses')
        .select(['canvas_id', 'external_id', 'name', 'syncable', 'reasons'])
        .where('integration_id', '=', integrationId)
        .execute();
      return rows.map((r) => ({ canvasId: r.canvas_id, externalId: r.external_id, name: r.name, syncable: Number(r.syncable) === 1, reasons: JSON.parse(r.reasons) as string[] }));
    },

    /** The facts of these courses (by canvas id). */
    async coursesById(integrationId: string, ids: string[]): Promise<Map<string, CourseFact>> {
      const out = new Map<string, CourseFact>();
      for (let i = 0; i < ids.length; i += CHUNK) {
        const rows = await db
          .selectFrom('courses')
          .select(['canvas_id', 'external_id', 'name', 'syncable', 'reasons'])
          .where('integration_id', '=', integrationId)
          .where('canvas_id', 'in', ids.slice(i, i + CHUNK))
          .execute();
        for (const r of rows) out.set(r.canvas_id, { canvasId: r.canvas_id, externalId: r.external_id, name: r.name, syncable: Number(r.syncable) === 1, reasons: JSON.parse(r.reasons) as string[] });
      }
      return out;
    },

    /**
     * Adds and removes in one transaction (all or nothing). An id already listed is left as it was
     * (its `added_at` kept); removing an id that is not listed does nothing.
     */
    async change(integrationId: string, change: { add: string[]; remove: string[] }, actor: string, at: string): Promise<void> {
      if (change.add.length === 0 && change.remove.length === 0) return;
      await db.transaction().execute(async (tx) => {
        for (let i = 0; i < change.remove.length; i += CHUNK) {
          await tx.deleteFrom('sync_list').where('integration_id', '=', integrationId).where('canvas_course_id', 'in', change.remove.slice(i, i + CHUNK)).execute();
        }
        const rows = change.add.map((id) => ({ integration_id: integrationId, canvas_course_id: id, added_at: at, added_by: actor, last_synced_at: null }));
        for (let i = 0; i < rows.length; i += CHUNK) {
          await tx
            .insertInto('sync_list')
            .values(rows.slice(i, i + CHUNK))
            .onConflict((oc) => oc.columns(['integration_id', 'canvas_course_id']).doNothing())
            .execute();
        }
      });
    },

    /** Stamps when a sync list run synced these courses (only those still listed). */
    async markSynced(integrationId: string, courseIds: string[], at: string): Promise<void> {
      for (let i = 0; i < courseIds.length; i += CHUNK) {
        await db
          .updateTable('sync_list')
          .set({ last_synced_at: at })
          .where('integration_id', '=', integrationId)
          .where('canvas_course_id', 'in', courseIds.slice(i, i + CHUNK))
          .execute();
      }
    },

    async saveImport(row: StoredImport): Promise<void> {
      await db.insertInto('sync_list_imports').values(row).execute();
    },

    async getImport(integrationId: string, id: string): Promise<StoredImport | undefined> {
      return db.selectFrom('sync_list_imports').selectAll().where('integration_id', '=', integrationId).where('id', '=', id).executeTakeFirst();
    },

    /** Marks an import applied unless it already was; true for the one caller that won. */
    async claimImport(integrationId: string, id: string, at: string): Promise<boolean> {
      const r = await db
        .updateTable('sync_list_imports')
        .set({ applied_at: at })
        .where('integration_id', '=', integrationId)
        .where('id', '=', id)
        .where('applied_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    async releaseImport(integrationId: string, id: string): Promise<void> {
      await db.updateTable('sync_list_imports').set({ applied_at: null }).where('integration_id', '=', integrationId).where('id', '=', id).execute();
    },

    async saveImportResult(integrationId: string, id: string, result: string): Promise<void> {
      await db.updateTable('sync_list_imports').set({ result, content_base64: '' }).where('integration_id', '=', integrationId).where('id', '=', id).execute();
    },

    /** Forgets uploaded files that were never applied (older than `before`). */
    async dropStaleImports(before: string): Promise<void> {
      await db.deleteFrom('sync_list_imports').where('created_at', '<', before).where('applied_at', 'is', null).execute();
    },

    /** Integrations whose scheduled re-sync is due at `now`, with their schedule. */
    async dueSchedules(now: string, limit = 100): Promise<Array<{ integrationId: string; nextSyncAt: string; everyMinutes: number }>> {
      const rows = await db
        .selectFrom('integrations')
        .select(['id', 'next_sync_at', 'sync_schedule'])
        .where('next_sync_at', 'is not', null)
        .where('next_sync_at', '<=', now)
        .orderBy('next_sync_at')
        .limit(limit)
        .execute();
      return rows.flatMap((r) => {
        const s = r.sync_schedule ? (JSON.parse(r.sync_schedule) as { everyMinutes?: unknown }) : null;
        return s && typeof s.everyMinutes === 'number' && r.next_sync_at ? [{ integrationId: r.id, nextSyncAt: r.next_sync_at, everyMinutes: s.everyMinutes }] : [];
      });
    },

    /**
     * Moves a due schedule to its next time, only if it is still at `from`: of several instances
     * ticking at once, exactly one wins (true) and enqueues the run.
     */
    async advanceSchedule(integrationId: string, from: string, to: string): Promise<boolean> {
      const r = await db.updateTable('integrations').set({ next_sync_at: to }).where('id', '=', integrationId).where('next_sync_at', '=', from).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
}

export type SyncListRepository = ReturnType<typeof createSyncListRepository>;
