import type { NewChange } from '../changes/change-log.js';
import { adminRoleOf } from './classify.js';
import type { CourseRow, RosterRow, SectionRow } from './course-repository.js';
import type { RosterReason } from './sync-reasons.js';

/** A stored roster row as plans compare it: without when and by which job it was written. */
export type StoredRosterRow = Omit<RosterRow, 'integration_id' | 'synced_at' | 'job_id'>;

/** What is stored for one course before a roster sync writes. */
export interface StoredCourseState {
  course: CourseRow | undefined;
  sections: SectionRow[];
  roster: StoredRosterRow[];
}

/** What Canvas has now for the course, as rows. */
export interface FreshCourseState {
  course: CourseRow;
  sections: SectionRow[];
  roster: RosterRow[];
}

/** Only the rows that differ, and one change entry per person (and per course) that changed. */
export interface RosterPlan {
  rosterInsert: RosterRow[];
  rosterUpdate: RosterRow[];
  rosterDelete: string[];
  sectionUpsert: SectionRow[];
  sectionDelete: string[];
  /** The course row to write (new, or with changed facts or a first `last_synced_at`); null: leave it. */
  course: CourseRow | null;
  changes: NewChange[];
}

/** Why someone stopped being an exam-taker or course admin, in the change log's words. */
export type RemovalWhy = 'left_course' | 'role_changed' | 'inactive' | 'concluded' | 'pending' | 'id_emptied' | 'id_hidden';

const WHY_OF_REASON: Record<RosterReason, RemovalWhy> = {
  role_not_selected: 'role_changed',
  inactive: 'inactive',
  concluded: 'concluded',
  pending: 'pending',
  missing_user_id: 'id_emptied',
  user_id_hidden: 'id_hidden',
};

const ROSTER_FIELDS = ['name', 'roles', 'enrollment_states', 'external_id', 'section_ids', 'exam_taker', 'reasons', 'course_admin', 'pending_until'] as const;
const SECTION_FIELDS = ['course_canvas_id', 'name', 'sis_section_id', 'canvas_integration_id', 'external_id', 'syncable', 'reasons'] as const;

/** Course columns that are facts read from Canvas, with the name a `course.updated` entry uses. */
const COURSE_FIELDS = {
  name: 'name',
  course_code: 'courseCode',
  sis_course_id: 'sisCourseId',
  canvas_integration_id: 'integrationId',
  external_id: 'externalId',
  workflow_state: 'workflowState',
  published: 'published',
  syncable: 'syncable',
  reasons: 'reasons',
  account_id: 'accountId',
  term_name: 'termName',
  term_start_at: 'termStartAt',
  term_end_at: 'termEndAt',
  start_at: 'startAt',
  end_at: 'endAt',
  department: 'department',
} as const satisfies Partial<Record<keyof CourseRow, string>>;

const same = <R extends object>(a: R, b: R, fields: readonly (keyof R)[]) => fields.every((f) => String(a[f] ?? '') === String(b[f] ?? '') && (a[f] === null) === (b[f] === null));

/** A course column's value as a change entry shows it (booleans and JSON decoded). */
function shown(field: keyof typeof COURSE_FIELDS, v: unknown): unknown {
  if (field === 'published' || field === 'syncable') return Number(v) === 1;
  if (field === 'reasons') return JSON.parse(String(v)) as unknown;
  return v ?? null;
}

function whyNotAdmin(fresh: RosterRow | undefined, courseAdminRoles: readonly string[]): RemovalWhy {
  if (!fresh) return 'left_course';
  if (adminRoleOf(JSON.parse(fresh.roles) as string[], courseAdminRoles) === null) return 'role_changed';
  if (fresh.external_id === null) return 'id_emptied';
  const states = JSON.parse(fresh.enrollment_states) as string[];
  if (states.includes('completed')) return 'concluded';
  if (states.includes('invited') || states.includes('creation_pending')) return 'pending';
  return 'inactive';
}

/**
 * Compares what Canvas has now with what is stored and returns only what differs: the rows to
 * insert, update and delete, and the change entries (`enrollment.*` for exam-takers,
 * `course_admin.*` for course admins, `course.updated` for the course's facts, compared with what the last sync recorded). Pure: the same
 * input always gives the same plan, so a re-sync with nothing changed writes nothing.
 */
export function planRoster(stored: StoredCourseState, fresh: FreshCourseState, opts: { courseAdminRoles: readonly string[]; syncedAt: string }): RosterPlan {
  const courseId = fresh.course.canvas_id;
  const plan: RosterPlan = { rosterInsert: [], rosterUpdate: [], rosterDelete: [], sectionUpsert: [], sectionDelete: [], course: null, changes: [] };

  const before = new Map(stored.roster.map((r) => [r.canvas_user_id, r]));
  const after = new Map(fresh.roster.map((r) => [r.canvas_user_id, r]));
  // People whose row is new, gone or different: only they can have a change entry.
  const touched: string[] = [];
  for (const r of fresh.roster) {
    const b = before.get(r.canvas_user_id);
    if (!b) plan.rosterInsert.push(r);
    else if (!same(b, r, ROSTER_FIELDS)) plan.rosterUpdate.push(r);
    else continue;
    touched.push(r.canvas_user_id);
  }
  for (const b of stored.roster) {
    if (after.has(b.canvas_user_id)) continue;
    plan.rosterDelete.push(b.canvas_user_id);
    touched.push(b.canvas_user_id);
  }

  const ids = touched.sort((x, y) => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0));
  for (const id of ids) {
    const b = before.get(id);
    const a = after.get(id);
    const wasTaker = Number(b?.exam_taker ?? 0) === 1;
    const isTaker = Number(a?.exam_taker ?? 0) === 1;
    const person = (r: StoredRosterRow) => ({ canvasUserId: id, name: r.name, externalId: r.external_id });
    if (!wasTaker && isTaker) {
      plan.changes.push({ type: 'enrollment.added', courseCanvasId: courseId, data: { ...person(a!), sectionIds: JSON.parse(a!.section_ids) as string[], pendingUntil: a!.pending_until } });
    } else if (wasTaker && !isTaker) {
      const reasons = a ? (JSON.parse(a.reasons) as RosterReason[]) : [];
      const why: RemovalWhy = a ? (reasons[0] ? WHY_OF_REASON[reasons[0]] : 'inactive') : 'left_course';
      plan.changes.push({ type: 'enrollment.removed', courseCanvasId: courseId, data: { ...person(b!), why, reasons } });
    } else if (wasTaker && isTaker) {
      const beforeFields: Record<string, unknown> = {};
      const afterFields: Record<string, unknown> = {};
      const diff = (key: string, x: unknown, y: unknown) => {
        if (JSON.stringify(x) !== JSON.stringify(y)) {
          beforeFields[key] = x;
          afterFields[key] = y;
        }
      };
      diff('externalId', b!.external_id, a!.external_id);
      diff('name', b!.name, a!.name);
      diff('sectionIds', JSON.parse(b!.section_ids), JSON.parse(a!.section_ids));
      diff('pendingUntil', b!.pending_until, a!.pending_until);
      if (Object.keys(afterFields).length > 0) {
        plan.changes.push({ type: 'enrollment.updated', courseCanvasId: courseId, data: { ...person(a!), before: beforeFields, after: afterFields } });
      }
    }
    const wasAdmin = Number(b?.course_admin ?? 0) === 1;
    const isAdmin = Number(a?.course_admin ?? 0) === 1;
    if (!wasAdmin && isAdmin) {
      plan.changes.push({ type: 'course_admin.added', courseCanvasId: courseId, data: { ...person(a!), role: adminRoleOf(JSON.parse(a!.roles) as string[], opts.courseAdminRoles) } });
    } else if (wasAdmin && !isAdmin) {
      plan.changes.push({ type: 'course_admin.removed', courseCanvasId: courseId, data: { ...person(b!), why: whyNotAdmin(a, opts.courseAdminRoles) } });
    }
  }

  const storedSections = new Map(stored.sections.map((s) => [s.canvas_id, s]));
  const freshSections = new Set(fresh.sections.map((s) => s.canvas_id));
  for (const s of fresh.sections) {
    const b = storedSections.get(s.canvas_id);
    if (!b || !same(b, s, SECTION_FIELDS)) plan.sectionUpsert.push(b ? { ...s, refresh_job_id: b.refresh_job_id } : { ...s, refresh_job_id: stored.course?.refresh_job_id ?? null });
  }
  for (const s of stored.sections) if (!freshSections.has(s.canvas_id)) plan.sectionDelete.push(s.canvas_id);

  const c = stored.course;
  const wrote = plan.rosterInsert.length + plan.rosterUpdate.length + plan.rosterDelete.length + plan.sectionUpsert.length + plan.sectionDelete.length > 0;
  const fields = Object.keys(COURSE_FIELDS) as Array<keyof typeof COURSE_FIELDS>;
  const freshFacts = factsJson(fresh.course);
  if (!c) {
    plan.course = { ...fresh.course, last_synced_at: opts.syncedAt, synced_facts: freshFacts };
  } else {
    // Compared with the facts the last sync recorded (a refresh may have updated the row since
    // without telling the change log); before any sync, with the row itself.
    const baseline: Partial<CourseRow> = c.synced_facts ? (JSON.parse(c.synced_facts) as Partial<CourseRow>) : c;
    const changed = fields.filter((f) => !same(baseline, fresh.course as Partial<CourseRow>, [f]));
    if (changed.length > 0) {
      const changes: Record<string, { before: unknown; after: unknown }> = {};
      for (const f of changed) changes[COURSE_FIELDS[f]] = { before: shown(f, baseline[f]), after: shown(f, fresh.course[f]) };
      plan.changes.push({
        type: 'course.updated',
        courseCanvasId: courseId,
        data: { name: fresh.course.name, externalId: fresh.course.external_id, syncable: fresh.course.syncable === 1, reasons: JSON.parse(fresh.course.reasons) as string[], changes },
      });
    }
    const rowChanged = fields.filter((f) => !same(c, fresh.course, [f]));
    // The sync stamp moves only with a write (or on the first sync): an unchanged re-sync writes no row.
    if (rowChanged.length > 0 || c.synced_facts !== freshFacts || wrote || c.last_synced_at === null) {
      plan.course = {
        ...c,
        ...pick(fresh.course, rowChanged),
        refreshed_at: rowChanged.length > 0 ? fresh.course.refreshed_at : c.refreshed_at,
        last_synced_at: opts.syncedAt,
        synced_facts: freshFacts,
      };
    }
  }
  return plan;
}

/** The course's fact columns as JSON, keys in a fixed order (compared as text). */
function factsJson(row: CourseRow): string {
  return JSON.stringify(Object.fromEntries((Object.keys(COURSE_FIELDS) as Array<keyof typeof COURSE_FIELDS>).map((f) => [f, row[f] ?? null])));
}

function pick(row: CourseRow, fields: readonly (keyof CourseRow)[]): Partial<CourseRow> {
  const out: Partial<CourseRow> = {};
  for (const f of fields) (out as Record<string, unknown>)[f] = row[f];
  return out;
}

/** Rows the plan writes (inserted, updated or deleted), counting the course row. */
export function rowsWritten(plan: RosterPlan): number {
  return plan.rosterInsert.length + plan.rosterUpdate.length + plan.rosterDelete.length + plan.sectionUpsert.length + plan.sectionDelete.length + (plan.course ? 1 : 0) + plan.changes.length;
}
