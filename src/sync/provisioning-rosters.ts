import { unzipSync } from 'fflate';
import { JobFailure } from '../jobs/types.js';
import { isoUtc, type EnrollmentJson, type SectionFacts } from './classify.js';
import { csvRows } from './provisioning-report.js';
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
 * Enrollments of other courses are dropped while reading, and only the users those enrollments
 * name are kept, so memory follows the listed courses, not the account.
 * Canvas leaves out of enrollments.csv the people who have no login in the root account; the REST
 * path lists them (without ids). That is the one way the two paths can differ.
 * @throws JobFailure `report_unreadable` when the file is not a zip or lacks enrollments.csv or users.csv.
 */
export async function readReportRosters(zip: Uint8Array, courseIds: ReadonlySet<string>): Promise<Map<string, ReportCourseRoster>> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, { filter: (f) => /(^|\/)(sections|enrollments|users)\.csv$/i.test(f.name) });
  } catch (err) {
    throw new JobFailure('report_unreadable', 'The provisioning report file could not be read as a zip.', { cause: err });
  }
  const find = (name: string) => Object.entries(files).find(([k]) => k.toLowerCase().endsWith(name))?.[1];
  const enrollmentsCsv = find('enrollments.csv');
  const usersCsv = find('users.csv');
  if (!enrollmentsCsv) throw new JobFailure('report_unreadable', 'The provisioning report has no enrollments.csv.');
  if (!usersCsv) throw new JobFailure('report_unreadable', 'The provisioning report has no users.csv.');

  const out = new Map<string, ReportCourseRoster>();
  for (const id of courseIds) out.set(id, { courseId: id, sections: [], enrollments: [] });

  for await (const r of csvRows(find('sections.csv'))) {
    const course = out.get((r.canvas_course_id ?? '').trim());
    if (!course || (r.status ?? 'active').toLowerCase() === 'deleted') continue;
    course.sections.push({
      canvasId: (r.canvas_section_id ?? '').trim(),
      courseCanvasId: course.courseId,
      name: r.name ?? '',
      sisSectionId: str(r.section_id),
      integrationId: str(r.integration_id),
      // Canvas writes a section's dates only when they limit participation; an empty start is not a limit.
      ...(isoUtc(r.start_date) ? { restrictedStartAt: isoUtc(r.start_date) } : {}),
    });
  }

  const rows: Array<{ course: ReportCourseRoster; userId: string; loginSis: string | null; e: Omit<EnrollmentJson, 'user'> }> = [];
  const wanted = new Set<string>();
  for await (const r of csvRows(enrollmentsCsv)) {
    const course = out.get((r.canvas_course_id ?? '').trim());
    if (!course) continue;
    const userId = (r.canvas_user_id ?? '').trim();
    const state = ENROLLMENT_STATE[(r.status ?? '').toLowerCase()];
    if (!userId || !state) continue;
    const sisRole = r.role ?? '';
    const type = r.base_role_type ?? '';
    wanted.add(userId);
    rows.push({
      course,
      userId,
      loginSis: str(r.user_id),
      e: {
        id: str(r.canvas_enrollment_id) ?? undefined,
        user_id: userId,
        course_section_id: str(r.canvas_section_id),
        role: BUILT_IN_SIS_ROLES.has(sisRole) || sisRole === '' ? type : sisRole,
        type,
        enrollment_state: state,
      },
    });
  }

  const users = new Map<string, ReportUser>();
  for await (const r of csvRows(usersCsv)) {
    const id = (r.canvas_user_id ?? '').trim();
    if (!wanted.has(id)) continue;
    let u = users.get(id);
    if (!u) {
      u = { name: r.full_name ?? '', sortableName: r.sortable_name ?? '', email: str(r.email), logins: [] };
      users.set(id, u);
    }
    u.logins.push({
      sisUserId: str(r.user_id),
      integrationId: str(r.integration_id),
      loginId: str(r.login_id),
      active: (r.status ?? 'active').toLowerCase() === 'active',
    });
  }

  for (const { course, userId, loginSis, e } of rows) {
    const u = users.get(userId);
    const login = (loginSis ? u?.logins.find((l) => l.sisUserId === loginSis) : undefined) ?? u?.logins.find((l) => l.active) ?? u?.logins[0];
    course.enrollments.push({
      ...e,
      sis_user_id: login?.sisUserId ?? null,
      user: {
        id: userId,
        name: u?.name || `User ${userId}`,
        sortable_name: u?.sortableName ?? '',
        sis_user_id: login?.sisUserId ?? null,
        integration_id: login?.integrationId ?? null,
        login_id: login?.loginId ?? null,
        email: u?.email ?? null,
      },
    });
  }
  return out;
}
