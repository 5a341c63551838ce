import type { Store } from '../../src/store/database.js';

/**
 * Courses of a last refresh for sync list tests (sis_course_id as the course ID type): 101 and
 * 104–108 syncable (SIS-<id>), 102 unpublished, 103 without an SIS id; course 101 has two
 * exam-takers and one skipped person.
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
  const person = (userId: string, examTaker: boolean) => ({
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
  });
  await store.db.insertInto('roster_entries').values([person('1', true), person('2', true), person('3', false)]).execute();
}
