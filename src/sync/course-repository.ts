import { createHash } from 'node:crypto';
import { sql, type CompiledQuery, type Kysely, type Selectable, type SelectQueryBuilder, type Transaction } from 'kysely';
import type { CoursesTable, Database, RosterEntriesTable, SectionsTable } from '../store/schema.js';
import type { CourseIdType, RosterPerson, UserIdType } from './classify.js';
import type { CourseReason, RosterReason, SectionReason } from './sync-reasons.js';
import type { RosterPlan, StoredCourseState } from './roster-plan.js';

/** The integration settings sync needs (read straight from the `integrations` table). */
export interface SyncSettings {
  id: string;
  canvasUrl: string;
  /** The institution's Canvas under another name, where Canvas may name report files (or null). */
  canvasOtherUrl?: string | null;
  accountId: string;
  courseIdType: CourseIdType;
  userIdType: UserIdType;
  studentRoles: string[];
  courseAdminRoles: string[];
}

/** A course as the API's course list returns it (the fields {@link CourseView} adds are not read for it). */
export type CourseSummary = Omit<CourseView, 'workflowState' | 'accountId' | 'refreshedAt' | 'lastSyncedAt'>;

/** A course as stored (the API's fields, plus its Canvas state, account and refresh/sync times). */
export interface CourseView {
  canvasId: string;
  name: string;
  courseCode: string | null;
  sisCourseId: string | null;
  integrationId: string | null;
  externalId: string | null;
  published: boolean;
  syncable: boolean;
  reasons: CourseReason[];
  workflowState: string;
  accountId: string | null;
  refreshedAt: string;
  lastSyncedAt: string | null;
  /** The course's term; null when Canvas did not send it (e.g. "Allow Include Parameters" off). */
  term: { name: string; startAt: string | null; endAt: string | null } | null;
  /** The course's own dates, only when they limit participation (restricted to course dates). */
  startAt: string | null;
  endAt: string | null;
  /** The name of the course's (sub-)account. */
  department: string | null;
}

export interface SectionView {
  canvasId: string;
  name: string;
  externalId: string | null;
  syncable: boolean;
  reasons: SectionReason[];
}

/** A person as the last roster sync recorded them. */
export interface RosterEntryView extends RosterPerson {
  syncedAt: string;
}

export type CourseRow = Selectable<CoursesTable>;
export type SectionRow = Selectable<SectionsTable>;
export type RosterRow = Selectable<RosterEntriesTable>;

/**
 * The columns a {@link CourseSummary} is made of, in the order {@link courseSummaryOfValues} reads
 * them: the API's course list reads only these (fewer values to decode per row).
 */
const COURSE_SUMMARY_COLUMNS = [
  'canvas_id',
  'name',
  'course_code',
  'sis_course_id',
  'canvas_integration_id',
  'external_id',
  'published',
  'syncable',
  'reasons',
  'term_name',
  'term_start_at',
  'term_end_at',
  'start_at',
  'end_at',
  'department',
] as const;

/** The course columns a {@link CourseView} is made of (the list reads only these): a summary's and four more. */
const COURSE_VIEW_COLUMNS = [...COURSE_SUMMARY_COLUMNS, 'workflow_state', 'account_id', 'refreshed_at', 'last_synced_at'] as const;
type CourseViewRow = Pick<CourseRow, (typeof COURSE_VIEW_COLUMNS)[number]>;
type CourseSummaryRow = Pick<CourseRow, (typeof COURSE_SUMMARY_COLUMNS)[number]>;

/** A {@link CourseSummary} from a row read as an object (SQLite, through Kysely). */
function courseSummaryOf(r: CourseSummaryRow): CourseSummary {
  return {
    canvasId: r.canvas_id,
    name: r.name,
    courseCode: r.course_code,
    sisCourseId: r.sis_course_id,
    integrationId: r.canvas_integration_id,
    externalId: r.external_id,
    published: Number(r.published) === 1,
    syncable: Number(r.syncable) === 1,
    reasons: JSON.parse(r.reasons) as CourseReason[],
    term: r.term_name === null ? null : { name: r.term_name, startAt: r.term_start_at, endAt: r.term_end_at },
    startAt: r.start_at,
    endAt: r.end_at,
    department: r.department,
  };
}

/**
 * A {@link CourseSummary} from a row read as an array of values in {@link COURSE_SUMMARY_COLUMNS}
 * order (Postgres, `rowMode: 'array'`: no object with named keys is built per row first).
 */
function courseSummaryOfValues(v: unknown[]): CourseSummary {
  const termName = v[9] as string | null;
  return {
    canvasId: v[0] as string,
    name: v[1] as string,
    courseCode: v[2] as string | null,
    sisCourseId: v[3] as string | null,
    integrationId: v[4] as string | null,
    externalId: v[5] as string | null,
    published: Number(v[6]) === 1,
    syncable: Number(v[7]) === 1,
    reasons: JSON.parse(v[8] as string) as CourseReason[],
    term: termName === null ? null : { name: termName, startAt: v[10] as string | null, endAt: v[11] as string | null },
    startAt: v[12] as string | null,
    endAt: v[13] as string | null,
    department: v[14] as string | null,
  };
}

export function toCourseView(r: CourseViewRow): CourseView {
  // The summary's fields, with the four a summary leaves out in their place (the keys' order is the answers').
  const { term, startAt, endAt, department, ...head } = courseSummaryOf(r);
  return {
    ...head,
    workflowState: r.workflow_state,
    accountId: r.account_id,
    refreshedAt: r.refreshed_at,
    lastSyncedAt: r.last_synced_at,
    term,
    startAt,
    endAt,
    department,
  };
}

export function toSectionView(r: SectionRow): SectionView {
  return {
    canvasId: r.canvas_id,
    name: r.name,
    externalId: r.external_id,
    syncable: Number(r.syncable) === 1,
    reasons: JSON.parse(r.reasons) as SectionReason[],
  };
}

export function toRosterView(r: RosterRow): RosterEntryView {
  return {
    canvasUserId: r.canvas_user_id,
    name: r.name,
    roles: JSON.parse(r.roles) as string[],
    ...(r.base_roles ? { baseRoles: JSON.parse(r.base_roles) as string[] } : {}),
    enrollmentStates: JSON.parse(r.enrollment_states) as string[],
    externalId: r.external_id,
    sectionIds: JSON.parse(r.section_ids) as string[],
    examTaker: Number(r.exam_taker) === 1,
    reasons: JSON.parse(r.reasons) as RosterReason[],
    courseAdmin: Number(r.course_admin) === 1,
    pendingUntil: r.pending_until,
    syncedAt: r.synced_at,
  };
}

/** Keyset cursor over (length(canvas_id), canvas_id): numeric ids in numeric order on both dialects. */
function encodeCursor(canvasId: string): string {
  return Buffer.from(canvasId, 'utf8').toString('base64url');
}
function decodeCursor(cursor: string): string | undefined {
  try {
    const v = Buffer.from(cursor, 'base64url').toString('utf8');
    return v.length > 0 && v.length < 200 ? v : undefined;
  } catch {
    return undefined;
  }
}

const CHUNK = 400;

/** The roster columns {@link CourseRepository.readStoredStates} reads: what a roster plan and a diff compare. */
const STORED_ROSTER_COLUMNS = [
  'course_canvas_id',
  'canvas_user_id',
  'name',
  'roles',
  'base_roles',
  'enrollment_states',
  'external_id',
  'section_ids',
  'exam_taker',
  'reasons',
  'course_admin',
  'pending_until',
] as const;

type Executor = Kysely<Database>;

/**
 * Inserts or updates sections by id, newer wins: a row written from an older read of Canvas
 * (`refreshed_at` earlier than the stored one) leaves the stored row alone. Sorted by id so that
 * concurrent writers lock rows in one order (no deadlock on Postgres).
 */
async function upsertSectionRows(db: Executor, rows: SectionRow[]): Promise<void> {
  const sorted = [...rows].sort((a, b) => (a.canvas_id < b.canvas_id ? -1 : a.canvas_id > b.canvas_id ? 1 : 0));
  for (let i = 0; i < sorted.length; i += CHUNK) {
    await db
      .insertInto('sections')
      .values(sorted.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc
          .columns(['integration_id', 'canvas_id'])
          .doUpdateSet((eb) => ({
            course_canvas_id: eb.ref('excluded.course_canvas_id'),
            name: eb.ref('excluded.name'),
            sis_section_id: eb.ref('excluded.sis_section_id'),
            canvas_integration_id: eb.ref('excluded.canvas_integration_id'),
            external_id: eb.ref('excluded.external_id'),
            syncable: eb.ref('excluded.syncable'),
            reasons: eb.ref('excluded.reasons'),
            refreshed_at: eb.ref('excluded.refreshed_at'),
            refresh_job_id: eb.ref('excluded.refresh_job_id'),
          }))
          .where((eb) => eb('sections.refreshed_at', '<=', eb.ref('excluded.refreshed_at'))),
      )
      .execute();
  }
}

/** The part of a `pg` pool that runs a named prepared statement. */
export interface PreparedStatementPool {
  query(config: { name: string; text: string; values: unknown[]; rowMode?: 'array' }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs a read as a named prepared statement when a Postgres pool is given (else through Kysely).
 * Kysely sends every query unnamed, so Postgres parses and plans it anew on each call; named, each
 * connection parses it once and, after a few runs, keeps a generic plan. For the course list that
 * plan walks the list-order index and stops after one page, whether or not the table has been
 * analyzed yet: a fresh plan for a table without statistics expects a handful of rows and reads
 * and sorts every course of the integration instead. The name is derived from the SQL text, so
 * each variant of a query (filters present or not) has its own statement; the variants are few.
 */
function preparedReader(db: Kysely<Database>, pool: PreparedStatementPool | undefined) {
  const names = new Map<string, string>();
  const nameOf = (sqlText: string) => {
    let name = names.get(sqlText);
    if (name === undefined) {
      name = `cc_${createHash('sha256').update(sqlText).digest('hex').slice(0, 24)}`;
      names.set(sqlText, name);
    }
    return name;
  };
  /**
   * Each row as `fromRow(row)` (objects, through Kysely) or, with a Postgres pool, as
   * `fromValues(values)`: the row as an array in the query's column order, so the driver builds no
   * object with named keys per row.
   */
  return {
    /** True when reads go to Postgres as named statements (then `read` needs only `sql` and `parameters`). */
    prepared: pool !== undefined,
    read: async <R, T>(compiled: CompiledQuery<R> | { sql: string; parameters: readonly unknown[] }, fromRow: (row: R) => T, fromValues: (values: unknown[]) => T): Promise<T[]> => {
      if (!pool) return (await db.executeQuery(compiled as CompiledQuery<R>)).rows.map(fromRow);
      const { rows } = await pool.query({ name: nameOf(compiled.sql), text: compiled.sql, values: [...compiled.parameters], rowMode: 'array' });
      return (rows as unknown[][]).map(fromValues);
    },
  };
}

/**
 * Storage for courses, sections and roster entries (one narrow port; SQLite and Postgres).
 * `pgPool` (Postgres only): the pool the hot course list runs on as a named prepared statement.
 */
/** The course list's filters, shared by the list and its count. */
export interface CourseFilters {
  syncable?: boolean;
  reason?: string;
  search?: string;
}

/** The SQL values of {@link CourseFilters}: what a query on `courses` is filtered with. */
interface FilterValues {
  integrationId: string;
  syncable?: 0 | 1;
  /** `%"code"%` for the `reasons` JSON text. */
  reasonLike?: string;
  /** The search text as typed (an exact Canvas or SIS id) and as `%lowercase%` for names and codes. */
  search?: string;
  searchLike?: string;
}

/** The values of one page of the course list: the filters, the cursor, the page size and offset. */
interface ListValues extends FilterValues {
  /** The cursor's Canvas id and its length (the list is ordered by length, then id). */
  after?: string;
  afterLength?: number;
  /** The page size plus one (to know whether there is a next page). */
  limitPlusOne: number;
  offset?: number;
}

function filterValues(integrationId: string, opts: CourseFilters): FilterValues {
  return {
    integrationId,
    syncable: opts.syncable === undefined ? undefined : opts.syncable ? 1 : 0,
    reasonLike: opts.reason ? `%"${opts.reason.replace(/[%_"\\]/g, '')}"%` : undefined,
    search: opts.search || undefined,
    searchLike: opts.search ? `%${opts.search.toLowerCase().replace(/[%_\\]/g, '')}%` : undefined,
  };
}

/** Applies the filter values (and the integration) to a query on `courses`. */
function filtered<Q extends SelectQueryBuilder<Database, 'courses', O>, O>(q: Q, v: FilterValues): Q {
  let r = q.where('integration_id', '=', v.integrationId);
  if (v.syncable !== undefined) r = r.where('syncable', '=', v.syncable);
  if (v.reasonLike !== undefined) r = r.where('reasons', 'like', v.reasonLike);
  if (v.search !== undefined && v.searchLike !== undefined) {
    const { search, searchLike } = v;
    r = r.where((eb) =>
      eb.or([
        eb(eb.fn('lower', ['name']), 'like', searchLike),
        eb(eb.fn('lower', ['course_code']), 'like', searchLike),
        eb('canvas_id', '=', search),
        eb('sis_course_id', '=', search),
      ]),
    );
  }
  return r as Q;
}

/**
 * Stands for one of a call's {@link ListValues} while a course-list query is compiled once per
 * shape: the compiled parameters then say which value goes where.
 */
class Slot {
  constructor(readonly key: keyof ListValues) {}
}

export function createCourseRepository(db: Kysely<Database>, opts: { pgPool?: PreparedStatementPool } = {}) {
  const readPrepared = preparedReader(db, opts.pgPool);

  /** A page of the course list as a Kysely query, from its values (real ones, or {@link Slot}s). */
  function listQuery<C extends ReadonlyArray<keyof CourseRow & string>>(columns: C, v: ListValues) {
    // Named columns, not `*`: a prepared statement fails once a column is added under it.
    let q = filtered(db.selectFrom('courses').select(columns), v);
    const { after, afterLength } = v;
    if (after !== undefined && afterLength !== undefined) {
      q = q.where((eb) =>
        eb.or([eb(sql`length(canvas_id)`, '>', afterLength), eb.and([eb(sql`length(canvas_id)`, '=', afterLength), eb('canvas_id', '>', after)])]),
      );
    }
    const ordered = q.orderBy(sql`length(canvas_id)`).orderBy('canvas_id').limit(v.limitPlusOne);
    // Pages number their rows (previous/next, "courses 51–100 of 1,814"); the API pages by cursor.
    return v.offset !== undefined ? ordered.offset(v.offset) : ordered;
  }

  /** columns → shape (which values are present) → the SQL and where each parameter comes from. */
  const listTemplates = new Map<readonly string[], Map<string, { sql: string; parameters: unknown[] }>>();

  /**
   * The SQL and parameters of {@link listQuery}, compiled once per column list and shape (which
   * filters, cursor and offset are present; a handful): building and compiling the Kysely query
   * was a fixed cost of every call. The SQL text is the same as compiling the query anew.
   */
  function compiledList(columns: ReadonlyArray<keyof CourseRow & string>, v: ListValues): { sql: string; parameters: unknown[] } {
    const keys = Object.keys(v) as (keyof ListValues)[];
    const shape = keys.filter((k) => v[k] !== undefined).join(',');
    let byShape = listTemplates.get(columns);
    if (!byShape) listTemplates.set(columns, (byShape = new Map()));
    let template = byShape.get(shape);
    if (!template) {
      const slots = Object.fromEntries(keys.map((k) => [k, v[k] === undefined ? undefined : new Slot(k)])) as unknown as ListValues;
      const compiled = listQuery(columns, slots).compile();
      const used = new Set(compiled.parameters.filter((p): p is Slot => p instanceof Slot).map((p) => p.key));
      if (keys.some((k) => v[k] !== undefined && !used.has(k))) throw new Error(`course list: a value was not sent as a parameter (${shape})`);
      template = { sql: compiled.sql, parameters: [...compiled.parameters] };
      byShape.set(shape, template);
    }
    return { sql: template.sql, parameters: template.parameters.map((p) => (p instanceof Slot ? v[p.key] : p)) };
  }

  /**
   * One page of the course list in list order (numeric Canvas id): `limit` courses (default 100,
   * at most 500) after the cursor or from `offset`, with the cursor of the next page. Run as a
   * named prepared statement on Postgres (see {@link preparedReader}).
   */
  async function listPage<C extends ReadonlyArray<keyof CourseRow & string>, T extends { canvasId: string }>(
    columns: C,
    fromRow: (row: Pick<CourseRow, C[number]>) => T,
    fromValues: (values: unknown[]) => T,
    integrationId: string,
    opts: CourseFilters & { cursor?: string; limit?: number; offset?: number },
  ): Promise<{ courses: T[]; nextCursor: string | null }> {
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 500);
    const after = opts.cursor ? decodeCursor(opts.cursor) : undefined;
    const values: ListValues = { ...filterValues(integrationId, opts), after, afterLength: after?.length, limitPlusOne: limit + 1, offset: opts.offset || undefined };
    const query = readPrepared.prepared ? compiledList(columns, values) : listQuery(columns, values).compile();
    const rows = await readPrepared.read(query, fromRow as (row: unknown) => T, fromValues);
    const page = rows.length > limit ? rows.slice(0, limit) : rows;
    return { courses: page, nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.canvasId) : null };
  }
  const upsertCourses = async (rows: CourseRow[], opts: { keepRefreshJob?: boolean } = {}) => {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      // Newer wins: a refresh that listed this page before a lookup read the course does not undo it.
      await db
        .insertInto('courses')
        .values(chunk)
        .onConflict((oc) =>
          oc.columns(['integration_id', 'canvas_id']).doUpdateSet((eb) => ({
            name: eb.ref('excluded.name'),
            course_code: eb.ref('excluded.course_code'),
            sis_course_id: eb.ref('excluded.sis_course_id'),
            canvas_integration_id: eb.ref('excluded.canvas_integration_id'),
            external_id: eb.ref('excluded.external_id'),
            workflow_state: eb.ref('excluded.workflow_state'),
            published: eb.ref('excluded.published'),
            syncable: eb.ref('excluded.syncable'),
            reasons: eb.ref('excluded.reasons'),
            account_id: eb.ref('excluded.account_id'),
            term_name: eb.ref('excluded.term_name'),
            term_start_at: eb.ref('excluded.term_start_at'),
            term_end_at: eb.ref('excluded.term_end_at'),
            start_at: eb.ref('excluded.start_at'),
            end_at: eb.ref('excluded.end_at'),
            department: eb.ref('excluded.department'),
            refreshed_at: eb.ref('excluded.refreshed_at'),
            ...(opts.keepRefreshJob ? {} : { refresh_job_id: eb.ref('excluded.refresh_job_id') }),
          })).where((eb) => eb('courses.refreshed_at', '<=', eb.ref('excluded.refreshed_at'))),
        )
        .execute();
    }
  };

  return {
    async getSettings(integrationId: string): Promise<SyncSettings | undefined> {
      const r = await db
        .selectFrom('integrations')
        .select(['id', 'canvas_url', 'canvas_other_url', 'account_id', 'course_id_type', 'user_id_type', 'student_roles', 'course_admin_roles'])
        .where('id', '=', integrationId)
        .executeTakeFirst();
      if (!r) return undefined;
      return {
        id: r.id,
        canvasUrl: r.canvas_url,
        canvasOtherUrl: r.canvas_other_url,
        accountId: r.account_id,
        courseIdType: r.course_id_type as CourseIdType,
        userIdType: r.user_id_type as UserIdType,
        studentRoles: JSON.parse(r.student_roles) as string[],
        courseAdminRoles: JSON.parse(r.course_admin_roles) as string[],
      };
    },

    upsertCourses,

    /**
     * Makes these the sections of the given courses, as read from Canvas at `asOf` (one
     * transaction): upserts them (newer wins), then removes the courses' other sections unless a
     * later read wrote them. Never deletes and re-inserts, so concurrent writers of one course
     * (two lookups, a lookup during a refresh) neither collide on the key nor undo newer data.
     * A row without `refresh_job_id` (a lookup or a roster sync wrote it) takes its course's, so a
     * refresh resuming meanwhile still counts the course's sections as saved.
     */
    async replaceSections(integrationId: string, courseIds: string[], sections: SectionRow[], asOf: string): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const inherited = new Map<string, string | null>();
        const orphanCourses = [...new Set(sections.filter((r) => r.refresh_job_id === null).map((r) => r.course_canvas_id))];
        for (let i = 0; i < orphanCourses.length; i += CHUNK) {
          const rows = await tx
            .selectFrom('courses')
            .select(['canvas_id', 'refresh_job_id'])
            .where('integration_id', '=', integrationId)
            .where('canvas_id', 'in', orphanCourses.slice(i, i + CHUNK))
            .execute();
          for (const r of rows) inherited.set(r.canvas_id, r.refresh_job_id);
        }
        const rows = sections.map((r) => (r.refresh_job_id === null ? { ...r, refresh_job_id: inherited.get(r.course_canvas_id) ?? null } : r));
        await upsertSectionRows(tx, rows);
        const byCourse = new Map<string, string[]>();
        for (const r of rows) byCourse.set(r.course_canvas_id, [...(byCourse.get(r.course_canvas_id) ?? []), r.canvas_id]);
        for (let i = 0; i < courseIds.length; i += CHUNK) {
          const chunk = courseIds.slice(i, i + CHUNK);
          const keep = chunk.flatMap((c) => byCourse.get(c) ?? []);
          let q = tx
            .deleteFrom('sections')
            .where('integration_id', '=', integrationId)
            .where('course_canvas_id', 'in', chunk)
            .where('refreshed_at', '<=', asOf);
          if (keep.length > 0) q = q.where('canvas_id', 'not in', keep);
          await q.execute();
        }
      });
    },

    /**
     * Inserts or updates sections by id, newer wins (a section moved to another course follows
     * it). The bulk refresh streams sections this way; the ones it did not see go in `removeUnseen`.
     */
    async upsertSections(rows: SectionRow[]): Promise<void> {
      await upsertSectionRows(db, rows);
    },

    /**
     * The syncable courses a refresh job has seen whose sections it has not saved yet (in key
     * order), and how many syncable courses it has seen: what a resumed REST refresh still has to
     * fetch. A course with no sections at all is never "saved", so a resume asks for it again.
     */
    async syncableCoursesWithoutSections(integrationId: string, jobId: string): Promise<{ ids: string[]; syncable: number }> {
      const rows = await db
        .selectFrom('courses as c')
        .select(['c.canvas_id', (eb) =>
          eb
            .exists(
              eb
                .selectFrom('sections as s')
                .select(sql`1`.as('one'))
                .whereRef('s.integration_id', '=', 'c.integration_id')
                .whereRef('s.course_canvas_id', '=', 'c.canvas_id')
                .where('s.refresh_job_id', '=', jobId),
            )
            .as('saved'),
        ])
        .where('c.integration_id', '=', integrationId)
        .where('c.refresh_job_id', '=', jobId)
        .where('c.syncable', '=', 1)
        .orderBy(sql`length(c.canvas_id)`)
        .orderBy('c.canvas_id')
        .execute();
      return { ids: rows.filter((r) => Number(r.saved) === 0).map((r) => r.canvas_id), syncable: rows.length };
    },

    /**
     * Removes what a complete refresh did not see: courses (with their sections and roster) that
     * left the account or were purged, and sections deleted in Canvas or belonging to a course that
     * cannot be synced (a refresh records sections only for syncable courses). Only called after a
     * refresh finished without error. Returns the number of courses removed.
     *
     * `since` is when the refresh started: a row written after that (a lookup or a roster sync that
     * ran meanwhile, by any instance) is newer than what the refresh read and stays, seen or not.
     */
    async removeUnseen(integrationId: string, jobId: string, since: string): Promise<number> {
      const gone = await db
        .selectFrom('courses')
        .select('canvas_id')
        .where('integration_id', '=', integrationId)
        .where((eb) => eb.or([eb('refresh_job_id', 'is', null), eb('refresh_job_id', '!=', jobId)]))
        .where('refreshed_at', '<', since)
        .where((eb) => eb.or([eb('last_synced_at', 'is', null), eb('last_synced_at', '<', since)]))
        .execute();
      const ids = gone.map((g) => g.canvas_id);
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        await db.transaction().execute(async (tx) => {
          await tx.deleteFrom('roster_entries').where('integration_id', '=', integrationId).where('course_canvas_id', 'in', chunk).execute();
          await tx.deleteFrom('sections').where('integration_id', '=', integrationId).where('course_canvas_id', 'in', chunk).execute();
          await tx.deleteFrom('courses').where('integration_id', '=', integrationId).where('canvas_id', 'in', chunk).execute();
        });
      }
      await db
        .deleteFrom('sections')
        .where('integration_id', '=', integrationId)
        .where((eb) => eb.or([eb('refresh_job_id', 'is', null), eb('refresh_job_id', '!=', jobId)]))
        .where('refreshed_at', '<', since)
        .execute();
      return ids.length;
    },

    async countsFor(integrationId: string): Promise<{ courses: number; syncable: number; sections: number; sectionsMissingId: number; byReason: Record<string, number> }> {
      // Grouped in the database: a handful of (syncable, reasons) combinations instead of every course row.
      const groups = await db
        .selectFrom('courses')
        .select(['syncable', 'reasons', sql<number>`count(*)`.as('n')])
        .where('integration_id', '=', integrationId)
        .groupBy(['syncable', 'reasons'])
        .execute();
      const byReason: Record<string, number> = {};
      let syncable = 0;
      let courses = 0;
      for (const g of groups) {
        const n = Number(g.n);
        courses += n;
        if (Number(g.syncable) === 1) syncable += n;
        for (const reason of JSON.parse(g.reasons) as string[]) byReason[reason] = (byReason[reason] ?? 0) + n;
      }
      const s = await db
        .selectFrom('sections')
        .select([sql<number>`count(*)`.as('n'), sql<number>`sum(case when syncable = 1 then 0 else 1 end)`.as('bad')])
        .where('integration_id', '=', integrationId)
        .executeTakeFirst();
      return { courses, syncable, sections: Number(s?.n ?? 0), sectionsMissingId: Number(s?.bad ?? 0), byReason };
    },

    async listCourses(
      integrationId: string,
      opts: CourseFilters & { cursor?: string; limit?: number; offset?: number } = {},
    ): Promise<{ courses: CourseView[]; nextCursor: string | null }> {
      return listPage(COURSE_VIEW_COLUMNS, toCourseView, (v) => toCourseView(Object.fromEntries(COURSE_VIEW_COLUMNS.map((c, i) => [c, v[i]])) as CourseViewRow), integrationId, opts);
    },

    /**
     * The API's course list: as {@link listCourses}, but each course as a {@link CourseSummary}
     * (only the columns the API answers with are read).
     */
    async listCourseSummaries(
      integrationId: string,
      opts: CourseFilters & { cursor?: string; limit?: number } = {},
    ): Promise<{ courses: CourseSummary[]; nextCursor: string | null }> {
      return listPage(COURSE_SUMMARY_COLUMNS, courseSummaryOf, courseSummaryOfValues, integrationId, opts);
    },

    /** How many courses match the filters (the pages' "of 1,814"). */
    async countCourses(integrationId: string, filters: CourseFilters = {}): Promise<number> {
      const r = await filtered(db.selectFrom('courses').select(sql<number>`count(*)`.as('n')), filterValues(integrationId, filters)).executeTakeFirst();
      return Number(r?.n ?? 0);
    },

    /** The Canvas ids of every syncable course of the integration, in list order ("sync every syncable course"). */
    async syncableCourseIds(integrationId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('courses')
        .select('canvas_id')
        .where('integration_id', '=', integrationId)
        .where('syncable', '=', 1)
        .orderBy(sql`length(canvas_id)`)
        .orderBy('canvas_id')
        .execute();
      return rows.map((r) => r.canvas_id);
    },

    async getCourse(integrationId: string, canvasId: string): Promise<CourseView | undefined> {
      const r = await db.selectFrom('courses').selectAll().where('integration_id', '=', integrationId).where('canvas_id', '=', canvasId).executeTakeFirst();
      return r ? toCourseView(r) : undefined;
    },

    async getSections(integrationId: string, courseId: string): Promise<SectionView[]> {
      const rows = await db
        .selectFrom('sections')
        .selectAll()
        .where('integration_id', '=', integrationId)
        .where('course_canvas_id', '=', courseId)
        .orderBy('name')
        .orderBy('canvas_id')
        .execute();
      return rows.map(toSectionView);
    },

    async getRoster(integrationId: string, courseId: string): Promise<RosterEntryView[]> {
      const rows = await db
        .selectFrom('roster_entries')
        .selectAll()
        .where('integration_id', '=', integrationId)
        .where('course_canvas_id', '=', courseId)
        .orderBy('name')
        .orderBy('canvas_user_id')
        .execute();
      return rows.map(toRosterView);
    },

    async getRosterEntry(integrationId: string, courseId: string, userId: string): Promise<RosterEntryView | undefined> {
      const r = await db
        .selectFrom('roster_entries')
        .selectAll()
        .where('integration_id', '=', integrationId)
        .where('course_canvas_id', '=', courseId)
        .where('canvas_user_id', '=', userId)
        .executeTakeFirst();
      return r ? toRosterView(r) : undefined;
    },

    /**
     * What is stored for many courses at once (course row, sections, roster rows), three queries
     * per 400 courses instead of three per course: a sync of a long list compares each course with
     * this and opens a write transaction only for the courses that changed. Courses with nothing
     * stored get an empty state.
     */
    async readStoredStates(integrationId: string, courseIds: readonly string[]): Promise<Map<string, StoredCourseState>> {
      const out = new Map<string, StoredCourseState>();
      for (const id of courseIds) out.set(id, { course: undefined, sections: [], roster: [] });
      for (let i = 0; i < courseIds.length; i += CHUNK) {
        const ids = courseIds.slice(i, i + CHUNK);
        const [courses, sections, roster] = await Promise.all([
          db.selectFrom('courses').selectAll().where('integration_id', '=', integrationId).where('canvas_id', 'in', ids).execute(),
          db.selectFrom('sections').selectAll().where('integration_id', '=', integrationId).where('course_canvas_id', 'in', ids).execute(),
          // Without the columns no comparison reads (when and by which job a row was written).
          db
            .selectFrom('roster_entries')
            .select(STORED_ROSTER_COLUMNS)
            .where('integration_id', '=', integrationId)
            .where('course_canvas_id', 'in', ids)
            .execute(),
        ]);
        for (const c of courses) out.get(c.canvas_id)!.course = c;
        for (const s of sections) out.get(s.course_canvas_id)?.sections.push(s);
        for (const r of roster) out.get(r.course_canvas_id)?.roster.push(r);
      }
      return out;
    },

    /**
     * The diff-based roster write, in one transaction: takes the lock (the change log's, so two
     * syncs of one integration do not both record a change), reads what is stored for the course,
     * lets `plan` compare it with Canvas, writes only the rows the plan names, and calls `append`
     * with the plan in the same transaction (the change entries). Whatever throws rolls all of it
     * back: never stored state without its change entries, nor entries without the state.
     * @throws what `lock`, `plan`, `append` or the database throw
     */
    async writeRoster(
      integrationId: string,
      courseId: string,
      opts: {
        lock?: (tx: Transaction<Database>) => Promise<void>;
        plan: (stored: StoredCourseState) => RosterPlan;
        append?: (tx: Transaction<Database>, plan: RosterPlan) => Promise<void>;
      },
    ): Promise<RosterPlan> {
      return db.transaction().execute(async (tx) => {
        await opts.lock?.(tx);
        const [course, sections, roster] = await Promise.all([
          tx.selectFrom('courses').selectAll().where('integration_id', '=', integrationId).where('canvas_id', '=', courseId).executeTakeFirst(),
          tx.selectFrom('sections').selectAll().where('integration_id', '=', integrationId).where('course_canvas_id', '=', courseId).execute(),
          tx.selectFrom('roster_entries').selectAll().where('integration_id', '=', integrationId).where('course_canvas_id', '=', courseId).execute(),
        ]);
        const plan = opts.plan({ course, sections, roster });
        for (let i = 0; i < plan.rosterInsert.length; i += CHUNK) {
          await tx.insertInto('roster_entries').values(plan.rosterInsert.slice(i, i + CHUNK)).execute();
        }
        for (const r of plan.rosterUpdate) {
          const { integration_id: _i, course_canvas_id: _c, canvas_user_id: userId, ...values } = r;
          await tx
            .updateTable('roster_entries')
            .set(values)
            .where('integration_id', '=', integrationId)
            .where('course_canvas_id', '=', courseId)
            .where('canvas_user_id', '=', userId)
            .execute();
        }
        for (let i = 0; i < plan.rosterDelete.length; i += CHUNK) {
          await tx
            .deleteFrom('roster_entries')
            .where('integration_id', '=', integrationId)
            .where('course_canvas_id', '=', courseId)
            .where('canvas_user_id', 'in', plan.rosterDelete.slice(i, i + CHUNK))
            .execute();
        }
        if (plan.sectionUpsert.length > 0) await upsertSectionRows(tx, plan.sectionUpsert);
        for (let i = 0; i < plan.sectionDelete.length; i += CHUNK) {
          await tx
            .deleteFrom('sections')
            .where('integration_id', '=', integrationId)
            .where('course_canvas_id', '=', courseId)
            .where('canvas_id', 'in', plan.sectionDelete.slice(i, i + CHUNK))
            .execute();
        }
        if (plan.course) {
          const { integration_id: _i, canvas_id: _c, ...values } = plan.course;
          if (course) await tx.updateTable('courses').set(values).where('integration_id', '=', integrationId).where('canvas_id', '=', courseId).execute();
          else await tx.insertInto('courses').values(plan.course).execute();
        }
        await opts.append?.(tx, plan);
        return plan;
      });
    },

    /**
     * Not diff-based and records no change entries: roster syncs use {@link writeRoster} (through
     * `createRosterStore`). Kept for callers that only need the rows replaced.
     *
     * Makes these entries the course's roster as read from Canvas at `syncedAt` and stamps
     * `last_synced_at` (one transaction). Upserts (newer wins) and removes the others unless a later
     * sync wrote them, so two syncs of one course at once neither collide on the key nor let the
     * older read win.
     */
    async replaceRoster(integrationId: string, courseId: string, entries: RosterRow[], syncedAt: string): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const sorted = [...entries].sort((a, b) => (a.canvas_user_id < b.canvas_user_id ? -1 : a.canvas_user_id > b.canvas_user_id ? 1 : 0));
        for (let i = 0; i < sorted.length; i += CHUNK) {
          await tx
            .insertInto('roster_entries')
            .values(sorted.slice(i, i + CHUNK))
            .onConflict((oc) =>
              oc
                .columns(['integration_id', 'course_canvas_id', 'canvas_user_id'])
                .doUpdateSet((eb) => ({
                  name: eb.ref('excluded.name'),
                  roles: eb.ref('excluded.roles'),
                  base_roles: eb.ref('excluded.base_roles'),
                  enrollment_states: eb.ref('excluded.enrollment_states'),
                  external_id: eb.ref('excluded.external_id'),
                  section_ids: eb.ref('excluded.section_ids'),
                  exam_taker: eb.ref('excluded.exam_taker'),
                  reasons: eb.ref('excluded.reasons'),
                  course_admin: eb.ref('excluded.course_admin'),
                  pending_until: eb.ref('excluded.pending_until'),
                  synced_at: eb.ref('excluded.synced_at'),
                  job_id: eb.ref('excluded.job_id'),
                }))
                .where((eb) => eb('roster_entries.synced_at', '<=', eb.ref('excluded.synced_at'))),
            )
            .execute();
        }
        // The others, unless a later sync wrote them (compared here: a roster can be larger than
        // one statement's parameters).
        const wanted = new Set(entries.map((e) => e.canvas_user_id));
        const stale = (
          await tx
            .selectFrom('roster_entries')
            .select('canvas_user_id')
            .where('integration_id', '=', integrationId)
            .where('course_canvas_id', '=', courseId)
            .where('synced_at', '<=', syncedAt)
            .execute()
        )
          .map((r) => r.canvas_user_id)
          .filter((id) => !wanted.has(id));
        for (let i = 0; i < stale.length; i += CHUNK) {
          await tx
            .deleteFrom('roster_entries')
            .where('integration_id', '=', integrationId)
            .where('course_canvas_id', '=', courseId)
            .where('canvas_user_id', 'in', stale.slice(i, i + CHUNK))
            .where('synced_at', '<=', syncedAt)
            .execute();
        }
        await tx
          .updateTable('courses')
          .set({ last_synced_at: syncedAt })
          .where('integration_id', '=', integrationId)
          .where('canvas_id', '=', courseId)
          .where((eb) => eb.or([eb('last_synced_at', 'is', null), eb('last_synced_at', '<=', syncedAt)]))
          .execute();
      });
    },
  };
}

export type CourseRepository = ReturnType<typeof createCourseRepository>;
