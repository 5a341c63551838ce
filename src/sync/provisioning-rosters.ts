import { JobFailure } from '../jobs/types.js';
import { isoUtc, type EnrollmentJson, type SectionFacts } from './classify.js';
import { readZipCsv, type CsvHeader } from './csv-reader.js';
import { str } from './course-refresh-rows.js';

/**
 * The report's enrollment `status` is Canvas's workflow state under other names (`creation_pending`
 * is folded into `invited`, `completed` is called `concluded`); the REST API's names are used from here on.
 */
const ENROLLMENT_STATE: Record<string, string> = {
  active: 'active',
  invited: 'invited',
  concluded: 'completed',
  completed: 'completed',
  inactive: 'inactive',
  deleted: 'deleted',
  rejected: 'rejected',
};

/**
 * The report names built-in roles by their SIS role (`student`, `teacher`…) and custom roles by
 * their name; the REST API names built-in roles by their type (`StudentEnrollment`…). Custom role
 * names pass through unchanged on both.
 */
const BUILT_IN_SIS_ROLES = new Set(['student', 'teacher', 'ta', 'designer', 'observer']);

/** One course of the sync list as the report shows it: its sections and its enrollments, shaped as the REST API returns them. */
export interface ReportCourseRoster {
  courseId: string;
  sections: SectionFacts[];
  enrollments: EnrollmentJson[];
}

interface Login {
  sisUserId: string | null;
  integrationId: string | null;
  loginId: string | null;
  active: boolean;
}

interface ReportUser {
  name: string;
  sortableName: string;
  email: string | null;
  logins: Login[];
}

/**
 * Reads the rosters of the given courses out of a `provisioning_csv` zip holding sections.csv,
 * enrollments.csv and users.csv, and returns each course's sections and enrollments in the shape of
 * the REST answers, so the same classification and the same store write serve both paths.
 *
 * users.csv has one row per login: a person with two logins is one person whose ids come from the
 * login the enrollment names (`user_id` is that login's SIS id), else from the first active login.
 * Each file is inflated and parsed piece by piece; enrollments of other courses are dropped while
 * reading, and only the users those enrollments name are kept, so memory follows the listed
 * courses, not the account.
 * Canvas leaves out of enrollments.csv the people who have no login in the root account; the REST
 * path lists them (without ids). That is the one way the two paths can differ.
 * @throws JobFailure `report_unreadable` when the file is not a zip or lacks enrollments.csv or users.csv.
 */
export async function readReportRosters(zip: Uint8Array, courseIds: ReadonlySet<string>): Promise<Map<string, ReportCourseRoster>> {
  const out = new Map<string, ReportCourseRoster>();
  for (const id of courseIds) out.set(id, { courseId: id, sections: [], enrollments: [] });
  /** A column's value in a row ('' when the file has no such column). */
  const cell = (row: readonly string[], header: CsvHeader, column: string): string => {
    const i = header.get(column);
    return i === undefined ? '' : (row[i] ?? '');
  };

  readZipCsv(zip, 'sections.csv', (r, h) => {
    const course = out.get(cell(r, h, 'canvas_course_id').trim());
    if (!course || (cell(r, h, 'status') || 'active').toLowerCase() === 'deleted') return;
    const start = isoUtc(cell(r, h, 'start_date'));
    course.sections.push({
      canvasId: cell(r, h, 'canvas_section_id').trim(),
      courseCanvasId: course.courseId,
      name: cell(r, h, 'name'),
      sisSectionId: str(cell(r, h, 'section_id')),
      integrationId: str(cell(r, h, 'integration_id')),
      // Canvas writes a section's dates only when they limit participation; an empty start is not a limit.
      ...(start ? { restrictedStartAt: start } : {}),
    });
  });

  const rows: Array<{ course: ReportCourseRoster; userId: string; loginSis: string | null; e: Omit<EnrollmentJson, 'user'> }> = [];
  const wanted = new Set<string>();
  const hasEnrollments = readZipCsv(zip, 'enrollments.csv', (r, h) => {
    const course = out.get(cell(r, h, 'canvas_course_id').trim());
    if (!course) return;
    const userId = cell(r, h, 'canvas_user_id').trim();
    const state = ENROLLMENT_STATE[cell(r, h, 'status').toLowerCase()];
    if (!userId || !state) return;
    const sisRole = cell(r, h, 'role');
    const type = cell(r, h, 'base_role_type');
    wanted.add(userId);
    rows.push({
      course,
      userId,
      loginSis: str(cell(r, h, 'user_id')),
      e: {
        id: str(cell(r, h, 'canvas_enrollment_id')) ?? undefined,
        user_id: userId,
        course_section_id: str(cell(r, h, 'canvas_section_id')),
        role: BUILT_IN_SIS_ROLES.has(sisRole) || sisRole === '' ? type : sisRole,
        type,
        enrollment_state: state,
      },
    });
  });
  if (!hasEnrollments) throw new JobFailure('report_unreadable', 'The provisioning report has no enrollments.csv.');

  const users = new Map<string, ReportUser>();
  const hasUsers = readZipCsv(zip, 'users.csv', (r, h) => {
    const id = cell(r, h, 'canvas_user_id').trim();
    if (!wanted.has(id)) return;
    let u = users.get(id);
    if (!u) {
      u = { name: cell(r, h, 'full_name'), sortableName: cell(r, h, 'sortable_name'), email: str(cell(r, h, 'email')), logins: [] };
      users.set(id, u);
    }
    u.logins.push({
      sisUserId: str(cell(r, h, 'user_id')),
      integrationId: str(cell(r, h, 'integration_id')),
      loginId: str(cell(r, h, 'login_id')),
      active: (cell(r, h, 'status') || 'active').toLowerCase() === 'active',
    });
  });
  if (!hasUsers) throw new JobFailure('report_unreadable', 'The provisioning report has no users.csv.');

  // One user object per person and login, shared by that person's enrollments (nothing changes them).
  const userJson = new Map<string, EnrollmentJson['user']>();
  for (const { course, userId, loginSis, e } of rows) {
    const key = `${userId}\u0000${loginSis ?? ''}`;
    let user = userJson.get(key);
    let sis = user?.sis_user_id as string | null | undefined;
    if (!user) {
      const u = users.get(userId);
      const login = (loginSis ? u?.logins.find((l) => l.sisUserId === loginSis) : undefined) ?? u?.logins.find((l) => l.active) ?? u?.logins[0];
      user = {
        id: userId,
        name: u?.name || `User ${userId}`,
        sortable_name: u?.sortableName ?? '',
        sis_user_id: login?.sisUserId ?? null,
        integration_id: login?.integrationId ?? null,
        login_id: login?.loginId ?? null,
        email: u?.email ?? null,
      };
      userJson.set(key, user);
      sis = login?.sisUserId ?? null;
    }
    const full = e as EnrollmentJson;
    full.sis_user_id = sis ?? null;
    full.user = user;
    course.enrollments.push(full);
  }
  return out;
}
