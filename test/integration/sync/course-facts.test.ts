import { describe, expect, it } from '@jest/globals';
import { scopesFor } from '../../../src/canvas/endpoints.js';
import { presentRoster } from '../../../src/http/presenters/course.js';
import { createCourseLookup } from '../../../src/sync/course-lookup.js';
import { createCourseRefreshJob } from '../../../src/sync/course-refresh.js';
import type { CourseView } from '../../../src/sync/course-repository.js';
import { createRosterSync } from '../../../src/sync/roster-sync.js';
import type { World } from '../../../src/simulator/world.js';
import { testDatabases } from '../../support/databases.js';
import { runJob } from '../../support/run-job.js';
import { buildSyncWorld, useSyncHarnesses, type SyncHarness } from '../../support/sync-world.js';

const FUTURE_TERM_START = '2099-01-10T07:00:00Z';
const SECTION_START = '2098-03-01T08:00:00Z';

/**
 * The sync world plus what course facts and date-based pending need: a term with dates (course
 * 101), a sub-sub-account the report's accounts.csv does not list (course 108), a course
 * restricted to its own dates (110), a course in a term that has not started (109: an active
 * student, an invited one and an active teacher), and in course 101 a section restricted to dates
 * that start later (1013) and an enrollment with its own future dates.
 */
function factsWorld(): World {
  const w = buildSyncWorld({ fillers: 5 });
  w.terms.push({ id: '2', name: 'Fall 2026', sisTermId: 'F26', startAt: '2026-08-24T06:00:00Z', endAt: '2099-12-18T07:00:00Z' });
  w.terms.push({ id: '3', name: 'Spring 2099', sisTermId: 'S99', startAt: FUTURE_TERM_START, endAt: '2099-05-20T06:00:00Z' });
  w.accounts.push({ id: '3', name: 'School of Nursing', parentAccountId: '2', sisAccountId: 'NURS' });
  w.courses.find((c) => c.id === '101')!.termId = '2';
  const add = (id: string, accountId: string, extra: Partial<World['courses'][number]> = {}) => {
    w.courses.push({ id, accountId, name: `Course ${id}`, courseCode: `C${id}`, workflowState: 'available', sisCourseId: `SIS-${id}`, integrationId: null, ...extra });
    w.sections.push({ id: `${id}1`, courseId: id, name: `Section ${id}1`, sisSectionId: `SEC-${id}1`, integrationId: null });
  };
  add('108', '3');
  add('109', '2', { termId: '3' });
  add('110', '1', { restrictEnrollmentsToCourseDates: true, startAt: '2026-09-01T06:00:00Z', endAt: '2099-01-31T07:00:00Z' });
  // Course dates that do not limit participation are not the course's dates.
  add('111', '1', { restrictEnrollmentsToCourseDates: false, startAt: '2026-09-01T06:00:00Z', endAt: '2027-01-31T07:00:00Z' });
  w.sections.push({ id: '1013', courseId: '101', name: 'Late section', sisSectionId: 'SEC-1013', integrationId: null, restrictEnrollmentsToSectionDates: true, startAt: SECTION_START, endAt: '2098-06-01T08:00:00Z' });
  const person = (id: string, name: string, sis: string | null) => w.users.push({ id, name, sortableName: name, loginId: `login${id}`, password: 'pw', sisUserId: sis, email: `u${id}@example.edu` });
  person('20', 'Fay Future', 'S20');
  person('21', 'Ivo Invited', 'S21');
  person('22', 'Tom Teacher', 'T22');
  person('23', 'Lea Late', 'S23');
  person('24', 'Own Dates', 'S24');
  person('25', 'Nod NoId Teacher', null);
  let n = 9000;
  const enroll = (userId: string, courseId: string, sectionId: string, type: World['enrollments'][number]['type'], state: World['enrollments'][number]['state'], extra: Partial<World['enrollments'][number]> = {}) =>
    w.enrollments.push({ id: String(n++), userId, courseId, sectionId, type, role: type, state, ...extra });
  enroll('20', '109', '1091', 'StudentEnrollment', 'active');
  enroll('21', '109', '1091', 'StudentEnrollment', 'invited');
  enroll('22', '109', '1091', 'TeacherEnrollment', 'active');
  enroll('23', '101', '1013', 'StudentEnrollment', 'active');
  enroll('24', '101', '1011', 'StudentEnrollment', 'active', { startAt: '2097-02-01T00:00:00Z', endAt: '2097-03-01T00:00:00Z' });
  enroll('25', '101', '1011', 'TeacherEnrollment', 'active');
  return w;
}

async function allCourses(h: SyncHarness): Promise<Array<Omit<CourseView, 'refreshedAt' | 'lastSyncedAt'>>> {
  const out = [];
  let cursor: string | undefined;
  do {
    const page = await h.deps.courses.listCourses(h.integrationId, { cursor, limit: 50 });
    for (const { refreshedAt: _r, lastSyncedAt: _l, ...rest } of page.courses) out.push(rest);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

describe.each(testDatabases().map((d) => [d.name, d] as const))('course facts, course admins and date-based pending (%s)', (_name, tdb) => {
  const ctx = useSyncHarnesses(() => tdb.open());
  const harness = ctx.harness;

  it('stores term, course dates and department, equal on the report and the REST path', async () => {
    const world = factsWorld();
    const rest = await harness(world);
    const bulk = await harness(world);
    const a = await runJob(ctx.store, createCourseRefreshJob(rest.deps), rest.integrationId, { path: 'rest' });
    const b = await runJob(ctx.store, createCourseRefreshJob(bulk.deps), bulk.integrationId, {});
    expect(a.state).toBe('succeeded');
    expect(b.state).toBe('succeeded');
    expect(b.summary).toMatchObject({ path: 'bulk' });
    const restCourses = await allCourses(rest);
    expect(await allCourses(bulk)).toEqual(restCourses);
    const byId = Object.fromEntries(restCourses.map((c) => [c.canvasId, c]));
    expect(byId['101']).toMatchObject({
      term: { name: 'Fall 2026', startAt: '2026-08-24T06:00:00.000Z', endAt: '2099-12-18T07:00:00.000Z' },
      startAt: null,
      endAt: null,
      department: 'Sync University',
    });
    expect(byId['107']!.department).toBe('Sub account');
    expect(byId['108']!.department).toBe('School of Nursing');
    expect(byId['109']!.term).toEqual({ name: 'Spring 2099', startAt: '2099-01-10T07:00:00.000Z', endAt: '2099-05-20T06:00:00.000Z' });
    expect(byId['110']).toMatchObject({ startAt: '2026-09-01T06:00:00.000Z', endAt: '2099-01-31T07:00:00.000Z' });
    expect(byId['111']).toMatchObject({ startAt: null, endAt: null });
    expect(byId['1000']!.term).toEqual({ name: 'Default Term', startAt: null, endAt: null });
  });

  it('leaves the facts empty, without failing, when the key does not allow include parameters', async () => {
    const h = await harness(factsWorld(), { key: { requireScopes: true, allowIncludes: false }, tokenScopes: scopesFor() });
    const job = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path: 'rest' });
    expect(job.state).toBe('succeeded');
    const c = (await h.deps.courses.getCourse(h.integrationId, '101'))!;
    expect(c).toMatchObject({ syncable: true, term: null, department: null });
  });

  it('a specific course refresh stores the same facts', async () => {
    const h = await harness(factsWorld());
    const r = await createCourseLookup(h.deps)(h.integrationId, '108');
    expect(r.found).toBe(true);
    const c = (await h.deps.courses.getCourse(h.integrationId, '108'))!;
    expect(c).toMatchObject({ term: { name: 'Default Term', startAt: null, endAt: null }, department: 'School of Nursing', startAt: null, endAt: null });
  });

  it('lists course admins: role in courseAdminRoles, active, ID populated', async () => {
    const h = await harness(factsWorld());
    const r = await createRosterSync(h.deps)(h.integrationId, '101');
    expect(r.people.filter((p) => p.courseAdmin).map((p) => p.canvasUserId)).toEqual(['6']);
    const roster = await h.deps.courses.getRoster(h.integrationId, '101');
    const api = presentRoster(await h.deps.courses.getSections(h.integrationId, '101'), roster, ['TeacherEnrollment']);
    expect(api.courseAdmins).toEqual([{ canvasUserId: '6', name: 'Tea Teacher', externalId: 'T6', role: 'TeacherEnrollment' }]);
    // A teacher without an ID is no course admin; students never are.
    expect(roster.find((p) => p.canvasUserId === '25')!.courseAdmin).toBe(false);
    expect(roster.find((p) => p.canvasUserId === '1')!.courseAdmin).toBe(false);

    await ctx.store.db.updateTable('integrations').set({ course_admin_roles: JSON.stringify(['TaEnrollment']) }).where('id', '=', h.integrationId).execute();
    await createRosterSync(h.deps)(h.integrationId, '101');
    expect((await h.deps.courses.getRoster(h.integrationId, '101')).filter((p) => p.courseAdmin)).toEqual([]);
  });

  it('keeps a student whose course or section has not started as an exam-taker, pending until the start; invited stays skipped', async () => {
    const h = await harness(factsWorld());
    const sync = createRosterSync(h.deps);
    await sync(h.integrationId, '109');
    const future = await h.deps.courses.getRoster(h.integrationId, '109');
    const byId = Object.fromEntries(future.map((p) => [p.canvasUserId, p]));
    expect(byId['20']).toMatchObject({ examTaker: true, pendingUntil: '2099-01-10T07:00:00.000Z', reasons: [] });
    expect(byId['21']).toMatchObject({ examTaker: false, pendingUntil: null, reasons: ['pending'] });
    // A teacher before the term starts is date-"inactive" in Canvas but active in the API: still an admin.
    expect(byId['22']).toMatchObject({ courseAdmin: true, pendingUntil: null });
    const api = presentRoster([], future, ['TeacherEnrollment']);
    expect(api.examTakers).toEqual([{ canvasUserId: '20', name: 'Fay Future', externalId: 'S20', sectionIds: ['1091'], pendingUntil: '2099-01-10T07:00:00.000Z' }]);

    await sync(h.integrationId, '101');
    const current = Object.fromEntries((await h.deps.courses.getRoster(h.integrationId, '101')).map((p) => [p.canvasUserId, p]));
    expect(current['1']).toMatchObject({ examTaker: true, pendingUntil: null });
    expect(current['23']).toMatchObject({ examTaker: true, pendingUntil: '2098-03-01T08:00:00.000Z' });
    expect(current['24']).toMatchObject({ examTaker: true, pendingUntil: '2097-02-01T00:00:00.000Z' });
  });
});
