import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { createCourseRepository, type PreparedStatementPool } from '../../../src/sync/course-repository.js';
import { testDatabases } from '../../support/databases.js';

const INTEGRATION = 'list-int';

describe.each(testDatabases().map((d) => [d.name, d] as const))('course list as a prepared statement (%s)', (name, tdb) => {
  let store: Awaited<ReturnType<typeof tdb.open>>;
  const sent: { name: string; text: string }[] = [];
  let pool: PreparedStatementPool | undefined;

  beforeAll(async () => {
    store = await tdb.open();
    const t = new Date().toISOString();
    await store.db
      .insertInto('integrations')
      .values({ id: INTEGRATION, name: 'U', canvas_url: 'https://u.instructure.com', client_id: '1', client_secret_enc: null, account_id: 'self', course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '[]', lti: null, state: 'verified', reasons: '[]', missing_scopes: '[]', checks: '[]', token_owner_id: null, token_owner_name: null, verified_at: t, checked_at: t, created_at: t, updated_at: t })
      .execute();
    // Ids of different lengths, inserted out of order: the list is in numeric order.
    const ids = Array.from({ length: 250 }, (_, i) => String(i % 2 === 0 ? 5 + i : 100_000 - i));
    await store.db
      .insertInto('courses')
      .values(ids.map((id) => ({ integration_id: INTEGRATION, canvas_id: id, name: `Course ${id}`, course_code: `C${id}`, sis_course_id: `SIS-${id}`, canvas_integration_id: null, external_id: `SIS-${id}`, workflow_state: 'available', published: 1, syncable: Number(id) % 3 === 0 ? 0 : 1, reasons: Number(id) % 3 === 0 ? '["unpublished"]' : '[]', account_id: '1', refreshed_at: t, refresh_job_id: 'job-1', last_synced_at: null })))
      .execute();
    const real = store.pgPool;
    pool = real ? { query: (config) => (sent.push({ name: config.name, text: config.text }), real.query(config)) } : undefined;
  });
  afterAll(async () => {
    await store.close();
  });

  const listAll = async (repo: ReturnType<typeof createCourseRepository>, opts: { syncable?: boolean } = {}) => {
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await repo.listCourses(INTEGRATION, { ...opts, cursor, limit: 40 });
      out.push(...page.courses.map((c) => c.canvasId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  };

  it('pages through the same courses, in numeric order, as the unprepared query', async () => {
    const prepared = createCourseRepository(store.db, { pgPool: pool });
    const plain = createCourseRepository(store.db);
    const all = await listAll(prepared);
    expect(all).toHaveLength(250);
    expect(all).toEqual([...all].sort((a, b) => Number(a) - Number(b)));
    expect(all).toEqual(await listAll(plain));
    expect(await listAll(prepared, { syncable: false })).toEqual(await listAll(plain, { syncable: false }));
    expect((await prepared.listCourses(INTEGRATION, { limit: 1 })).courses[0]).toEqual((await plain.listCourses(INTEGRATION, { limit: 1 })).courses[0]);
    if (name === 'postgres') {
      // Every page went out as a named statement, one name per SQL text.
      expect(sent.length).toBeGreaterThanOrEqual(9);
      const byText = new Map<string, Set<string>>();
      for (const s of sent) byText.set(s.text, (byText.get(s.text) ?? new Set()).add(s.name));
      expect([...byText.values()].every((names) => names.size === 1)).toBe(true);
      expect(new Set(sent.map((s) => s.name)).size).toBe(byText.size);
    }
  });

  it("the API's course summaries are the full courses without their four stored-only fields, on both paths", async () => {
    const t = new Date().toISOString();
    // Courses with a term, dates, a department and a Canvas integration id (the rows above have none).
    await store.db
      .insertInto('courses')
      .values(['6', '60', '600'].map((id, i) => ({ integration_id: INTEGRATION, canvas_id: id, name: `Dated "${id}" — é`, course_code: null, sis_course_id: null, canvas_integration_id: `ci-${id}`, external_id: null, workflow_state: 'completed', published: 0, syncable: 0, reasons: '["unpublished","missing_course_id"]', account_id: '2', refreshed_at: t, refresh_job_id: null, last_synced_at: t, term_name: i === 2 ? null : `Fall ${id}`, term_start_at: i === 0 ? '2026-09-01T00:00:00Z' : null, term_end_at: null, start_at: i === 1 ? '2026-09-02T00:00:00Z' : null, end_at: '2026-12-20T00:00:00Z', department: `Dept ${id}` })))
      .execute();
    const prepared = createCourseRepository(store.db, { pgPool: pool });
    const plain = createCourseRepository(store.db);
    for (const opts of [{}, { syncable: false }, { reason: 'missing_course_id' }, { search: 'dated' }]) {
      const full = await plain.listCourses(INTEGRATION, { ...opts, limit: 500 });
      const withoutStoredOnly = full.courses.map(({ workflowState: _w, accountId: _a, refreshedAt: _r, lastSyncedAt: _l, ...rest }) => rest);
      for (const repo of [prepared, plain]) {
        const summaries = await repo.listCourseSummaries(INTEGRATION, { ...opts, limit: 500 });
        expect(summaries.courses).toEqual(withoutStoredOnly);
        expect(summaries.courses.map((c) => Object.keys(c))).toEqual(withoutStoredOnly.map((c) => Object.keys(c)));
        expect(summaries.nextCursor).toBe(full.nextCursor);
      }
      // The full courses read through the prepared path are the same as through Kysely, with an
      // offset (the pages) and page by page with the cursor (the API) too.
      expect(await prepared.listCourses(INTEGRATION, { ...opts, limit: 500 })).toEqual(full);
      expect(await prepared.listCourses(INTEGRATION, { ...opts, limit: 2, offset: 1 })).toEqual(await plain.listCourses(INTEGRATION, { ...opts, limit: 2, offset: 1 }));
      const first = await prepared.listCourseSummaries(INTEGRATION, { ...opts, limit: 2 });
      const cursor = first.nextCursor ?? undefined;
      expect(await prepared.listCourseSummaries(INTEGRATION, { ...opts, limit: 2, cursor })).toEqual(await plain.listCourseSummaries(INTEGRATION, { ...opts, limit: 2, cursor }));
    }
    // Different values in one shape of query (its SQL compiled once) give each their own answer.
    expect((await prepared.listCourseSummaries(INTEGRATION, { search: 'Dated "60"' })).courses.map((c) => c.canvasId)).toEqual(['60']);
    expect((await prepared.listCourseSummaries(INTEGRATION, { search: 'Dated "600"' })).courses.map((c) => c.canvasId)).toEqual(['600']);
    expect((await prepared.listCourseSummaries('another-integration', { search: 'Dated "600"' })).courses).toEqual([]);
    const dated = (await prepared.listCourseSummaries(INTEGRATION, { search: 'dated' })).courses;
    expect(dated.map((c) => [c.canvasId, c.term, c.startAt, c.department, c.published, c.reasons])).toEqual([
      ['6', { name: 'Fall 6', startAt: '2026-09-01T00:00:00Z', endAt: null }, null, 'Dept 6', false, ['unpublished', 'missing_course_id']],
      ['60', { name: 'Fall 60', startAt: null, endAt: null }, '2026-09-02T00:00:00Z', 'Dept 60', false, ['unpublished', 'missing_course_id']],
      ['600', null, null, 'Dept 600', false, ['unpublished', 'missing_course_id']],
    ]);
    await store.db.deleteFrom('courses').where('canvas_id', 'in', ['6', '60', '600']).execute();
  });

  it('keeps answering after a column is added to courses (the statement names its columns)', async () => {
    const prepared = createCourseRepository(store.db, { pgPool: pool });
    const before = await listAll(prepared);
    await sql`alter table courses add column later_note text`.execute(store.db);
    expect(await listAll(prepared)).toEqual(before);
  });
});
