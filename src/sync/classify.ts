import type { CourseReason, RosterReason, SectionReason } from './sync-reasons.js';

export type CourseIdType = 'sis_course_id' | 'integration_id' | 'canvas_id';
export type UserIdType = 'sis_user_id' | 'integration_id' | 'email' | 'login_id';
export type CourseWorkflow = 'unpublished' | 'available' | 'completed' | 'deleted';

/**
 * A course as either refresh path sees it. For the SIS fields `undefined` means "Canvas did not
 * send the field" (hidden: the token owner lacks read_sis), `null` means "sent, but empty".
 */
export interface CourseFacts {
  canvasId: string;
  name: string;
  courseCode: string | null;
  sisCourseId: string | null | undefined;
  integrationId: string | null | undefined;
  workflowState: CourseWorkflow;
  accountId: string | null;
  /** The course's term; null when Canvas did not send it (includes not allowed), undefined when not read. */
  term?: TermFacts | null;
  /** The course's own start/end (ISO UTC), only when they limit participation (restricted to course dates). */
  startAt?: string | null;
  endAt?: string | null;
  /** The name of the course's (sub-)account; null when unknown. */
  department?: string | null;
}

/** A term's name and dates (ISO UTC, null when the term has none). */
export interface TermFacts {
  name: string;
  startAt: string | null;
  endAt: string | null;
}

export interface SectionFacts {
  canvasId: string;
  courseCanvasId: string;
  name: string;
  sisSectionId: string | null | undefined;
  integrationId: string | null | undefined;
  /** The section's start (ISO UTC) when its dates limit participation (restricted to section dates); else null/undefined. */
  restrictedStartAt?: string | null;
}

export interface Classified {
  externalId: string | null;
  syncable: boolean;
}

const blank = (v: string | null | undefined) => v === null || v === undefined || v.trim() === '';

function idOf(
  canvasId: string,
  type: CourseIdType,
  sis: string | null | undefined,
  integ: string | null | undefined,
): { externalId: string | null; hidden: boolean; missing: boolean } {
  if (type === 'canvas_id') return { externalId: canvasId, hidden: false, missing: false };
  const v = type === 'sis_course_id' ? sis : integ;
  if (v === undefined) return { externalId: null, hidden: true, missing: false };
  if (blank(v)) return { externalId: null, hidden: false, missing: true };
  return { externalId: v!, hidden: false, missing: false };
}

/** The course's external id and every reason it cannot be synced. */
export function classifyCourse(c: CourseFacts, type: CourseIdType): Classified & { published: boolean; reasons: CourseReason[] } {
  const reasons: CourseReason[] = [];
  if (c.workflowState === 'deleted') reasons.push('deleted');
  if (c.workflowState === 'unpublished') reasons.push('unpublished');
  const id = idOf(c.canvasId, type, c.sisCourseId, c.integrationId);
  if (id.hidden) reasons.push('sis_ids_hidden');
  if (id.missing) reasons.push('missing_course_id');
  return {
    externalId: id.externalId,
    published: c.workflowState === 'available' || c.workflowState === 'completed',
    syncable: reasons.length === 0,
    reasons,
  };
}

/** Sections use the course's ID type (`sis_section_id` / `integration_id` / `canvas_id`). */
export function classifySection(s: SectionFacts, type: CourseIdType): Classified & { reasons: SectionReason[] } {
  const id = idOf(s.canvasId, type, s.sisSectionId, s.integrationId);
  const reasons: SectionReason[] = [];
  if (id.hidden) reasons.push('sis_ids_hidden');
  if (id.missing) reasons.push('missing_section_id');
  return { externalId: id.externalId, syncable: reasons.length === 0, reasons };
}

/** The Canvas enrollment fields roster sync reads. */
export interface EnrollmentJson {
  id?: number | string;
  user_id: number | string;
  course_section_id?: number | string | null;
  role?: string;
  type?: string;
  enrollment_state: string;
  /** The enrollment's own dates; they count only when both are set. */
  start_at?: string | null;
  end_at?: string | null;
  sis_user_id?: string | null;
  user?: Record<string, unknown> & { id?: number | string; name?: string; sortable_name?: string };
}

export interface RosterPerson {
  canvasUserId: string;
  name: string;
  roles: string[];
  /** The enrollments' base types (`StudentEnrollment` for a custom student role too); absent when not known. */
  baseRoles?: string[];
  enrollmentStates: string[];
  externalId: string | null;
  sectionIds: string[];
  examTaker: boolean;
  reasons: RosterReason[];
  /** Role in `courseAdminRoles`, active, ID populated: an admin (instructor) of the course on the exam platform. */
  courseAdmin: boolean;
  /**
   * An exam-taker whose every active student enrollment has not started yet: Canvas shows them as
   * "Pending" (date-based) while its API says `active`. The earliest start (ISO UTC), else null.
   */
  pendingUntil: string | null;
}

/**
 * The dates that decide whether a student enrollment has started, as Canvas weighs them (first
 * match wins): the enrollment's own dates when both are set, the section's when restricted to
 * section dates, the course's when restricted to course dates, else the term's.
 */
export interface StartDates {
  /** Restricted section start per section id (sections restricted to their dates only). */
  sectionStart: ReadonlyMap<string, string | null>;
  /** The course's start when it is restricted to course dates (undefined: not restricted). */
  courseStart?: string | null;
  /** The term's start. */
  termStart?: string | null;
}

/** The first of a person's roles that makes them a course admin, or null. */
export function adminRoleOf(roles: readonly string[], courseAdminRoles: readonly string[]): string | null {
  return roles.find((r) => courseAdminRoles.includes(r)) ?? null;
}

/** ISO text as UTC `toISOString()`, null when empty or unreadable: both refresh paths store dates alike. */
export function isoUtc(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  const t = Date.parse(String(v));
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/**
 * When a student enrollment starts for Canvas's date-based states, or null when no date limits it.
 * Which dates count follows Canvas's precedence (enrollment, section, course, term); the term's
 * per-enrollment-type overrides are not read.
 */
export function enrollmentStart(e: EnrollmentJson, dates: StartDates): string | null {
  if (e.start_at && e.end_at) return isoUtc(e.start_at);
  const section = e.course_section_id === null || e.course_section_id === undefined ? undefined : String(e.course_section_id);
  if (section !== undefined && dates.sectionStart.has(section)) return isoUtc(dates.sectionStart.get(section));
  if (dates.courseStart !== undefined) return isoUtc(dates.courseStart);
  return isoUtc(dates.termStart);
}

const USER_FIELD: Record<UserIdType, string> = {
  sis_user_id: 'sis_user_id',
  integration_id: 'integration_id',
  email: 'email',
  login_id: 'login_id',
};

/** Reads the chosen user id: `undefined` when the field is absent everywhere (hidden), null when empty. */
export function userIdOf(e: EnrollmentJson, type: UserIdType): string | null | undefined {
  const field = USER_FIELD[type];
  const u = e.user ?? {};
  if (field in u) {
    const v = u[field];
    return typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : null;
  }
  if (type === 'sis_user_id' && 'sis_user_id' in e) return blank(e.sis_user_id) ? null : e.sis_user_id!;
  return undefined;
}

const STATE_REASON: Record<string, RosterReason | undefined> = {
  invited: 'pending',
  creation_pending: 'pending',
  inactive: 'inactive',
  completed: 'concluded',
};

/**
 * Groups a course's enrollments by person. An exam-taker has an `active`
 * enrollment in one of `studentRoles` and a populated user id; everyone else is skipped with
 * reasons. Section membership comes from the enrollments' `course_section_id` (no include[]).
 * Deleted/rejected enrollments are ignored (removed from the course).
 */
export function classifyRoster(
  enrollments: EnrollmentJson[],
  opts: { userIdType: UserIdType; studentRoles: string[]; courseAdminRoles?: string[]; dates?: StartDates; now?: Date },
): RosterPerson[] {
  const adminRoles = new Set(opts.courseAdminRoles ?? []);
  const nowIso = (opts.now ?? new Date()).toISOString();
  const byUser = new Map<string, EnrollmentJson[]>();
  for (const e of enrollments) {
    if (e.enrollment_state === 'deleted' || e.enrollment_state === 'rejected') continue;
    const id = String(e.user_id);
    let list = byUser.get(id);
    if (!list) byUser.set(id, (list = []));
    list.push(e);
  }
  const roles = new Set(opts.studentRoles);
  const people: RosterPerson[] = [];
  for (const [userId, list] of byUser) {
    const roleOf = (e: EnrollmentJson) => e.role ?? e.type ?? '';
    const student = list.filter((e) => roles.has(roleOf(e)));
    const active = student.filter((e) => e.enrollment_state === 'active');
    let externalId: string | null | undefined = undefined;
    for (const e of list) {
      const v = userIdOf(e, opts.userIdType);
      if (v !== undefined) externalId = externalId ?? v;
      if (v) externalId = v;
    }
    const reasons: RosterReason[] = [];
    if (student.length === 0) reasons.push('role_not_selected');
    else if (active.length === 0) {
      for (const e of student) {
        const r = STATE_REASON[e.enrollment_state];
        if (r && !reasons.includes(r)) reasons.push(r);
      }
      if (reasons.length === 0) reasons.push('inactive');
    } else if (externalId === undefined) reasons.push('user_id_hidden');
    else if (externalId === null) reasons.push('missing_user_id');
    const examTaker = reasons.length === 0;
    // Date-based pending: every active student enrollment starts in the future.
    let pendingUntil: string | null = null;
    if (examTaker && opts.dates) {
      const starts = active.map((e) => enrollmentStart(e, opts.dates!));
      if (starts.every((s) => s !== null && s > nowIso)) pendingUntil = (starts as string[]).sort()[0] ?? null;
    }
    const admin = list.find((e) => adminRoles.has(roleOf(e)) && e.enrollment_state === 'active');
    const courseAdmin = admin !== undefined && typeof externalId === 'string' && externalId !== '';
    const sectionSource = examTaker ? active : student.length ? student : list;
    const sectionIds = [...new Set(sectionSource.map((e) => e.course_section_id).filter((s) => s !== null && s !== undefined).map(String))].sort();
    const first = list[0]!;
    people.push({
      canvasUserId: userId,
      name: String(first.user?.name ?? first.user?.sortable_name ?? `User ${userId}`),
      roles: [...new Set(list.map(roleOf))],
      baseRoles: [...new Set(list.map((e) => e.type ?? '').filter(Boolean))],
      enrollmentStates: [...new Set(list.map((e) => e.enrollment_state))],
      externalId: externalId ?? null,
      sectionIds,
      examTaker,
      reasons,
      courseAdmin,
      pendingUntil,
    });
  }
  return people.sort((a, b) => a.name.localeCompare(b.name) || a.canvasUserId.localeCompare(b.canvasUserId));
}
