import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createCourseRepository } from '../../../src/sync/course-repository.js';
import { testDatabases } from '../../support/databases.js';

const INTEGRATION = 'paging-int';

/** The pages' numbered paging ("courses 51–100 of N"), its count, "every syncable course", and the base roles a roster keeps. */
describe.each(testDatabases().map((d) => [d.name, d] as const))('course list paging, counts and roster base roles (%s)', (_name, tdb) => {
  let store: Awaited<ReturnType<typeof tdb.open>>;
  let repo: ReturnType<typeof createCourseRepository>;
  const t = new Date().toISOString();

  beforeAll(async () => {
    store = await tdb.open();
    repo = createCourseRepository(store.db, { pgPool: store.pgPool });
    await store.db
      .insertInto('integrations')
      .values({ id: INTEGRATION, name: 'U', canvas_url: 'https://u.instructure.com', client_id: '1', client_secret_enc: null, account_id: 'self', course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '[]', lti: null, state: 'verified', reasons: '[]', missing_scopes: '[]', checks: '[]', token_owner_id: null, token_owner_name: null, verified_at: t, checked_at: t, created_at: t, updated_at: t })
      .execute();
    const ids = Array.from({ length: 130 }, (_, i) => String(i % 2 === 0 ? 7 + i : 50_000 - i));
    await store.db
      .insertInto('courses')
      .values(ids.map((id) => ({ integration_id: INTEGRATION, canvas_id: id, name: Number(id) % 5 === 0 ? `Biology ${id}` : `Course ${id}`, course_code: `C${id}`, sis_course_id: `SIS-${id}`, canvas_integration_id: null, external_id: `SIS-${id}`, workflow_state: 'available', published: 1, syncable: Number(id) % 3 === 0 ? 0 : 1, reasons: Number(id) % 3 === 0 ? '["unpublished"]' : '[]', account_id: '1', refreshed_at: t, refresh_job_id: 'job-1', last_synced_at: null })))
      .execute();
  });
  afterAll(async () => {
    await store.close();
  });

  it('numbered pages cover the filtered list once, in the cursor order, and the count matches', async () => {
    for (const filters of [{}, { syncable: true }, { syncable: false, reason: 'unpublished' }, { search: 'biology' }, { syncable: true, search: 'biology' }]) {
      const total = await repo.countCourses(INTEGRATION, filters);
      const byOffset: string[] = [];
      for (let offset = 0; offset < total + 50; offset += 50) byOffset.push(...(await repo.listCourses(INTEGRATION, { ...filters, limit: 50, offset })).courses.map((c) => c.canvasId));
      const byCursor: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await repo.listCourses(INTEGRATION, { ...filters, limit: 50, cursor });
        byCursor.push(...page.courses.map((c) => c.canvasId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect([filters, byOffset]).toEqual([filters, byCursor]);
      expect([filters, total]).toEqual([filters, byCursor.length]);
    }
    expect(await repo.countCourses(INTEGRATION, { syncable: true })).toBeGreaterThan(0);
    expect(await repo.countCourses(INTEGRATION, { search: 'biology' })).toBeLessThan(130);
  });

  it('"every syncable course" is exactly the syncable filter, in list order', async () => {
    const ids = await repo.syncableCourseIds(INTEGRATION);
    const listed = (await repo.listCourses(INTEGRATION, { syncable: true, limit: 500 })).courses.map((c) => c.canvasId);
    expect(ids).toEqual(listed);
    expect(ids.length).toBe((await repo.countsFor(INTEGRATION)).syncable);
  });

  it('a roster keeps each person’s base role types; rows without them read as unknown', async () => {
    const row = (user: string, roles: string[], base: string[] | null) => ({ integration_id: INTEGRATION, course_canvas_id: '7', canvas_user_id: user, name: `P${user}`, roles: JSON.stringify(roles), base_roles: base ? JSON.stringify(base) : null, enrollment_states: '["active"]', external_id: null, section_ids: '[]', exam_taker: 0, reasons: '["role_not_selected"]', synced_at: t, job_id: null, course_admin: 0, pending_until: null });
    await repo.replaceRoster(INTEGRATION, '7', [row('1', ['Exam Candidate'], ['StudentEnrollment']), row('2', ['TeacherEnrollment'], null)], t);
    const roster = await repo.getRoster(INTEGRATION, '7');
    expect(roster.map((p) => [p.canvasUserId, p.baseRoles])).toEqual([
      ['1', ['StudentEnrollment']],
      ['2', undefined],
    ]);
  });
});
