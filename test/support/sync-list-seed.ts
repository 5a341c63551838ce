import type { Store } from '../../src/store/database.js';

/**
 * Courses of a last refresh for sync list tests (sis_course_id as the course ID type): 101 and
 * 104–108 syncable (SIS-<id>), 102 unpublished, 103 without an SIS id; course 101 (term Fall 2026,
 * ending early on 2026-12-10, department Engineering) has two exam-takers, one skipped person and
 * one course admin.
 */
export async function seedCourses(store: Store, integrationId: string): Promise<void> {
  const t = new Date().toISOString();
  const course = (canvasId: string, sis: string | null, syncable: boolean, reasons: string[] = []) => ({
    integration_id: integrationId,
    canvas_id: canvasId,
    name: `Course ${canvasId}`,
    course_code: `C${canvasId}`,
    sis_course_id: sis,
    canvas_integration_id: null,
    external_id: sis,
    workflow_state: syncable ? 'available' : 'unpublished',
    published: syncable ? 1 : 0,
    syncable: syncable ? 1 : 0,
    reasons: JSON.stringify(reasons),
    account_id: '1',
    refreshed_at: t,
    refresh_job_id: null,
    last_synced_at: null,
    term_name: canvasId === '101' ? 'Fall 2026' : null,
    term_start_at: canvasId === '101' ? '2026-09-01T00:00:00.000Z' : null,
    term_end_at: canvasId === '101' ? '2026-12-20T00:00:00.000Z' : null,
    start_at: null,
    end_at: canvasId === '101' ? '2026-12-10T00:00:00.000Z' : null,
    department: canvasId === '101' ? 'Engineering' : null,
  });
  await store.db
    .insertInto('courses')
    .values([
      course('101', 'SIS-101', true),
      course('102', 'SIS-102', false, ['unpublished']),
      course('103', null, false, ['missing_course_id']),
      ...['104', '105', '106', '107', '108'].map((n) => course(n, `SIS-${n}`, true)),
    ])
    .execute();
  const person = (userId: string, examTaker: boolean, courseAdmin = false) => ({
    integration_id: integrationId,
    course_canvas_id: '101',
    canvas_user_id: userId,
    name: `Person ${userId}`,
    roles: '["StudentEnrollment"]',
    enrollment_states: '["active"]',
    external_id: `S${userId}`,
    section_ids: '[]',
    exam_taker: examTaker ? 1 : 0,
    reasons: examTaker ? '[]' : '["pending"]',
    synced_at: t,
    job_id: null,
    course_admin: courseAdmin ? 1 : 0,
    pending_until: null,
  });
  await store.db.insertInto('roster_entries').values([person('1', true), person('2', true), person('3', false), person('4', false, true)]).execute();
}
