import { describe, expect, it } from '@jest/globals';
import { scopesFor } from '../../../src/canvas/endpoints.js';
import { createSyncListJob } from '../../../src/sync-list/sync-list-job.js';
import { createSyncListRepository } from '../../../src/sync-list/sync-list-repository.js';
import { createRosterReportSource } from '../../../src/sync/roster-report.js';
import { createRosterSync } from '../../../src/sync/roster-sync.js';
import type { World } from '../../../src/simulator/world.js';
import type { Store } from '../../../src/store/database.js';
import { testDatabases } from '../../support/databases.js';
import { runJob } from '../../support/run-job.js';
import { buildSyncWorld, useSyncHarnesses, type SyncHarness } from '../../support/sync-world.js';

const LISTED = ['101', '105', '106', '107', '1000', '1001', '1002', '1003'];

/** The sync world plus a teacher and a TA in two filler courses, and a term that has not started for one course. */
function world(): World {
  const w = buildSyncWorld({ fillers: 6 });
  w.terms.push({ id: '7', name: 'Next Year', startAt: '2099-01-10T08:00:00Z', endAt: '2099-06-01T08:00:00Z' });
  w.courses.find((c) => c.id === '1001')!.termId = '7';
  let e = 8000;
  const enroll = (userId: string, courseId: string, sectionId: string, type: World['enrollments'][number]['type']) =>
    w.enrollments.push({ id: String(e++), userId, courseId, sectionId, type, role: type, state: 'active' });
  enroll('6', '1000', '10000', 'TeacherEnrollment');
  enroll('1', '1000', '10000', 'StudentEnrollment');
  enroll('8', '1001', '10010', 'StudentEnrollment');
  enroll('4', '1001', '10011', 'TaEnrollment');
  return w;
}

/** What is stored for an integration, without the columns that say when or by which job. */
async function stored(store: Store, integrationId: string) {
  const roster = await store.db.selectFrom('roster_entries').selectAll().where('integration_id', '=', integrationId).orderBy('course_canvas_id').orderBy('canvas_user_id').execute();
  const sections = await store.db.selectFrom('sections').selectAll().where('integration_id', '=', integrationId).orderBy('canvas_id').execute();
  const courses = await store.db.selectFrom('courses').selectAll().where('integration_id', '=', integrationId).where('canvas_id', 'in', LISTED).orderBy('canvas_id').execute();
  const changes = await store.db.selectFrom('change_log').select(['type', 'course_canvas_id', 'data']).where('integration_id', '=', integrationId).orderBy('seq').execute();
  const strip = <T extends Record<string, unknown>>(rows: T[], drop: string[]) => rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !drop.includes(k))));
  return {
    roster: strip(roster, ['integration_id', 'synced_at', 'job_id']),
    sections: strip(sections, ['integration_id', 'refreshed_at', 'refresh_job_id']),
    courses: strip(courses, ['integration_id', 'refreshed_at', 'refresh_job_id', 'last_synced_at', 'synced_facts']),
    changes: changes.map((c) => ({ type: c.type, course: c.course_canvas_id, data: JSON.parse(c.data) as unknown })),
  };
}

describe.each(testDatabases().map((d) => [d.name, d] as const))('sync_list_sync from one provisioning report (%s)', (_name, tdb) => {
  const ctx = useSyncHarnesses(() => tdb.open());

  /** Write transactions the last run opened (one per course it wrote). */
  let transactions = 0;
  const runList = async (h: SyncHarness, opts: { report: boolean }) => {
    const repo = createSyncListRepository(ctx.store.db);
    transactions = 0;
    const courses = { ...h.deps.courses, writeRoster: (...a: Parameters<typeof h.deps.courses.writeRoster>) => (transactions++, h.deps.courses.writeRoster(...a)) };
    const deps = { ...h.deps, courses };
    const def = createSyncListJob({ repo, syncRoster: createRosterSync(deps), report: opts.report ? createRosterReportSource(deps) : undefined, clock: () => new Date() });
    return runJob(ctx.store, def, h.integrationId, {});
  };
  const list = async (h: SyncHarness) => createSyncListRepository(ctx.store.db).change(h.integrationId, { add: LISTED, remove: [] }, 'test', new Date().toISOString());

  it('stores the same rosters, sections, course facts and change entries as per-course REST, in a handful of requests', async () => {
    const viaReport = await ctx.harness(world());
    const viaRest = await ctx.harness(world());
    await list(viaReport);
    await list(viaRest);
    viaReport.sandbox.control.resetCounters();
    viaRest.sandbox.control.resetCounters();
    const a = await runList(viaReport, { report: true });
    const b = await runList(viaRest, { report: false });
    expect([a.state, b.state]).toEqual(['succeeded', 'succeeded']);
    expect(a.summary).toMatchObject({ path: 'report', courses: LISTED.length, synced: LISTED.length, failed: 0, restCourses: 0 });
    expect(b.summary).toMatchObject({ path: 'rest', courses: LISTED.length, synced: LISTED.length, failed: 0 });
    const [sa, sb] = [await stored(ctx.store, viaReport.integrationId), await stored(ctx.store, viaRest.integrationId)];
    // The report folds creation_pending into invited (both are the reason `pending`).
    const fold = (rows: typeof sb.roster) => rows.map((r) => ({ ...r, enrollment_states: String(r.enrollment_states).replace('creation_pending', 'invited') }));
    expect(fold(sa.roster)).toEqual(fold(sb.roster));
    expect(sa.sections).toEqual(sb.sections);
    expect(sa.courses).toEqual(sb.courses);
    expect(sa.changes.map((c) => [c.type, c.course])).toEqual(sb.changes.map((c) => [c.type, c.course]));
    expect(sa.roster.some((r) => r.course_admin === 1)).toBe(true);
    expect(sa.roster.some((r) => r.pending_until === '2099-01-10T08:00:00.000Z')).toBe(true);
    // One report (start, a few polls, one download) against three requests and more per course.
    const total = (h: SyncHarness) => Object.values(h.sandbox.control.counters().requests as Record<string, number>).reduce((a, n) => a + n, 0);
    const [ra, rb] = [total(viaReport), total(viaRest)];
    expect(ra).toBeLessThan(10);
    expect(rb).toBeGreaterThanOrEqual(LISTED.length * 3);
  });

  it('a re-run with nothing changed at Canvas writes no roster row and appends nothing; a drop is one entry', async () => {
    const h = await ctx.harness(world());
    await list(h);
    expect((await runList(h, { report: true })).state).toBe('succeeded');
    const before = await stored(ctx.store, h.integrationId);
    const syncedAt = await ctx.store.db.selectFrom('roster_entries').select(['canvas_user_id', 'course_canvas_id', 'synced_at']).where('integration_id', '=', h.integrationId).execute();
    expect(transactions).toBe(LISTED.length);
    const again = await runList(h, { report: true });
    expect(again.summary).toMatchObject({ path: 'report', added: 0, removed: 0, changed: 0 });
    // Compared with what was read in one go before storing: not one write transaction.
    expect(transactions).toBe(0);
    expect(await stored(ctx.store, h.integrationId)).toEqual(before);
    expect(await ctx.store.db.selectFrom('roster_entries').select(['canvas_user_id', 'course_canvas_id', 'synced_at']).where('integration_id', '=', h.integrationId).execute()).toEqual(syncedAt);

    const amy = h.sandbox.world.enrollments.find((e) => e.userId === '1' && e.courseId === '101')!;
    h.sandbox.control.dropEnrollment({ enrollmentId: amy.id });
    const third = await runList(h, { report: true });
    expect(third.summary).toMatchObject({ path: 'report', removed: 1, added: 0, changed: 0 });
    expect(transactions).toBe(1);
    const after = await stored(ctx.store, h.integrationId);
    expect(after.changes.slice(before.changes.length)).toEqual([{ type: 'enrollment.removed', course: '101', data: expect.objectContaining({ canvasUserId: '1' }) }]);
  });

  it('falls back to REST when the token may not run the report, and says why', async () => {
    // A scoped key without the report endpoints: Canvas answers 401 Insufficient scopes.
    const scopes = scopesFor(['connection', 'course_refresh', 'roster_sync']);
    const h = await ctx.harness(world(), { key: { requireScopes: true, allowIncludes: true, scopes }, tokenScopes: scopes });
    await list(h);
    const job = await runList(h, { report: true });
    expect(job.state).toBe('succeeded');
    expect(job.summary).toMatchObject({ path: 'rest', synced: LISTED.length, fellBack: expect.stringContaining('report not allowed') });
  });
});
