import { describe, expect, it } from '@jest/globals';
import { createCourseLookup } from '../../../src/sync/course-lookup.js';
import { createCourseRefreshJob } from '../../../src/sync/course-refresh.js';
import { createCourseSyncJob } from '../../../src/sync/roster-sync.js';
import { testDatabases } from '../../support/databases.js';
import { runJob } from '../../support/run-job.js';
import { buildSyncWorld, useSyncHarnesses } from '../../support/sync-world.js';

/**
 * A refresh runs for minutes on a large account; lookups and roster syncs of single courses run
 * meanwhile (other staff, other instances). Whatever they wrote after the refresh started is newer
 * than what the refresh read, and must survive it.
 */
describe.each(testDatabases().map((d) => [d.name, d] as const))('writers running during a refresh (%s)', (_name, tdb) => {
  const ctx = useSyncHarnesses(() => tdb.open());

  it.each(['rest', 'bulk'] as const)(
    '%s: a lookup and a roster sync during the refresh keep their rows, and the refresh counts them',
    async (path) => {
      const fillers = 40;
      const h = await ctx.harness(buildSyncWorld({ fillers }), { latencyMs: 2 });
      const world = h.sandbox.world;
      expect((await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path })).state).toBe('succeeded');
      const lookup = createCourseLookup(h.deps);
      const courses = h.deps.courses;

      // While the refresh saves its first courses (read from Canvas before): course 101 is renamed
      // and gets a third section in Canvas, and someone looks it up.
      const upsert = courses.upsertCourses;
      let looked = false;
      courses.upsertCourses = async (rows, opts) => {
        if (!looked && rows.length > 1) {
          looked = true;
          world.courses.find((c) => c.id === '101')!.name = 'Course 101 (renamed)';
          world.sections.push({ id: '1013', courseId: '101', name: 'Section 1013', sisSectionId: 'SEC-1013', integrationId: null });
          expect(await lookup(h.integrationId, '101')).toMatchObject({ found: true, course: { name: 'Course 101 (renamed)' } });
        }
        return upsert(rows, opts);
      };
      // Just before the refresh removes what it did not see: a course created in Canvas after it
      // listed the courses is looked up and its roster synced.
      const removeUnseen = courses.removeUnseen;
      let added = false;
      courses.removeUnseen = async (...args) => {
        if (!added) {
          added = true;
          world.courses.push({ id: '9001', accountId: '1', name: 'Course 9001', courseCode: 'C9001', workflowState: 'available', sisCourseId: 'SIS-9001', integrationId: null });
          world.sections.push({ id: '90011', courseId: '9001', name: 'Section 90011', sisSectionId: 'SEC-90011', integrationId: null });
          world.enrollments.push({ id: '99001', userId: '1', courseId: '9001', sectionId: '90011', type: 'StudentEnrollment', role: 'StudentEnrollment', state: 'active' });
          expect(await lookup(h.integrationId, '9001')).toMatchObject({ found: true, course: { syncable: true } });
          const sync = await runJob(ctx.store, createCourseSyncJob(h.deps), h.integrationId, { courseIds: ['9001'] });
          expect(sync).toMatchObject({ state: 'succeeded', summary: { examTakers: 1 } });
        }
        return removeUnseen(...args);
      };
      try {
        const job = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path });
        expect(looked && added).toBe(true);
        expect(job.state).toBe('succeeded');
        const sections = await ctx.store.db.selectFrom('sections').select('canvas_id').where('integration_id', '=', h.integrationId).execute();
        expect(job.summary).toMatchObject({ removed: 0, courses: fillers + 7 + 1, sections: sections.length });

        expect(await courses.getCourse(h.integrationId, '101')).toMatchObject({ name: 'Course 101 (renamed)' });
        expect((await courses.getSections(h.integrationId, '101')).map((s) => s.canvasId)).toEqual(['1011', '1012', '1013']);
        expect(await courses.getCourse(h.integrationId, '9001')).toMatchObject({ syncable: true, lastSyncedAt: expect.any(String) });
        expect((await courses.getSections(h.integrationId, '9001')).map((s) => s.canvasId)).toEqual(['90011']);
        expect((await courses.getRoster(h.integrationId, '9001')).map((r) => r.canvasUserId)).toEqual(['1']);
      } finally {
        courses.upsertCourses = upsert;
        courses.removeUnseen = removeUnseen;
      }

      // The next refresh sees everything in Canvas and agrees.
      const next = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path });
      expect(next.summary).toMatchObject({ removed: 0, courses: fillers + 7 + 1 });
      expect((await courses.getSections(h.integrationId, '101')).map((s) => s.canvasId)).toEqual(['1011', '1012', '1013']);
    },
    60_000,
  );

  it('ten lookups of one course at once all answer, with the same course and sections', async () => {
    const h = await ctx.harness(buildSyncWorld(), { latencyMs: 5 });
    const lookup = createCourseLookup(h.deps);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => lookup(h.integrationId, '106')));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const shapes = results.map((r) => {
      const o = (r as PromiseFulfilledResult<Awaited<ReturnType<typeof lookup>>>).value;
      if (!o.found) throw new Error('course 106 not found');
      const { refreshedAt: _r, ...course } = o.course;
      return { course, sections: o.sections };
    });
    for (const s of shapes) expect(s).toEqual(shapes[0]);
    expect(shapes[0]!.sections.map((s) => s.canvasId)).toEqual(['1061', '1062']);
    expect(await h.deps.courses.getSections(h.integrationId, '106')).toEqual(shapes[0]!.sections);
  });

  it('two roster syncs of one course at once both succeed and leave one roster', async () => {
    const h = await ctx.harness(buildSyncWorld(), { latencyMs: 5 });
    // Different selections (one job each) that all hold course 101.
    const selections = [['101'], ['101', '105'], ['106', '101']];
    const syncs = await Promise.all(selections.map((courseIds) => runJob(ctx.store, createCourseSyncJob(h.deps), h.integrationId, { courseIds })));
    for (const s of syncs) expect(s.state).toBe('succeeded');
    expect((await h.deps.courses.getRoster(h.integrationId, '101')).length).toBe(8);
  });
});
