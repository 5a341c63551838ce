import { describe, expect, it } from '@jest/globals';
import { DeleteQueryNode, InsertQueryNode, UpdateQueryNode, type KyselyPlugin } from 'kysely';
import { createChangeLog, type ChangeRecord } from '../../../src/changes/change-log.js';
import { createChangeLogRepository } from '../../../src/changes/change-log-repository.js';
import { createCourseRepository } from '../../../src/sync/course-repository.js';
import { createCourseRefreshJob } from '../../../src/sync/course-refresh.js';
import { createRosterStore, createRosterSync } from '../../../src/sync/roster-sync.js';
import { runJob } from '../../support/run-job.js';
import { testDatabases } from '../../support/databases.js';
import { buildSyncWorld, useSyncHarnesses, type SyncHarness } from '../../support/sync-world.js';

/** Counts the statements that write (insert, update, delete) through the Kysely handle it is plugged into. */
function writeCounter(): KyselyPlugin & { writes: number } {
  const counter = {
    writes: 0,
    transformQuery(args: Parameters<KyselyPlugin['transformQuery']>[0]) {
      const n = args.node;
      if (InsertQueryNode.is(n) || UpdateQueryNode.is(n) || DeleteQueryNode.is(n)) counter.writes++;
      return n;
    },
    async transformResult(args: Parameters<KyselyPlugin['transformResult']>[0]) {
      return args.result;
    },
  };
  return counter;
}

describe.each(testDatabases().map((d) => [d.name, d] as const))('the change log from real roster syncs (%s)', (_name, tdb) => {
  const ctx = useSyncHarnesses(() => tdb.open());
  const harness = ctx.harness;

  /** A sync of course 101 that returns only the entries it appended. */
  async function syncAndRead(h: SyncHarness): Promise<ChangeRecord[]> {
    const last = (await h.deps.changeLog.list(h.integrationId)).changes.at(-1)?.seq ?? 0;
    await createRosterSync(h.deps)(h.integrationId, '101');
    return (await h.deps.changeLog.list(h.integrationId, { after: last })).changes;
  }

  it('the first sync records each exam-taker and course admin once; an unchanged re-sync appends nothing and writes no row', async () => {
    const h = await harness(buildSyncWorld());
    const first = await syncAndRead(h);
    expect(first.map((c) => [c.type, c.data.canvasUserId])).toEqual([
      ['enrollment.added', '1'],
      ['course_admin.added', '6'],
      ['enrollment.added', '8'],
    ]);
    expect(first[0]).toMatchObject({ courseCanvasId: '101', integrationId: h.integrationId, data: { name: 'Amy Active', externalId: 'S1', sectionIds: ['1011'], pendingUntil: null } });
    expect(first[1]!.data).toMatchObject({ externalId: 'T6', role: 'TeacherEnrollment' });

    const counter = writeCounter();
    const counted = ctx.store.db.withPlugin(counter);
    const deps = { ...h.deps, courses: createCourseRepository(counted), changeLog: createChangeLog({ repo: createChangeLogRepository(counted) }) };
    const again = await createRosterSync(deps)(h.integrationId, '101');
    expect(again.written).toEqual({ rows: 0, changes: 0 });
    expect(counter.writes).toBe(0);
    expect((await h.deps.changeLog.list(h.integrationId)).changes).toHaveLength(3);
    // The counter does count: a change at Canvas makes the same path write.
    h.sandbox.control.concludeEnrollment({ userId: '1', courseId: '101' });
    await createRosterSync(deps)(h.integrationId, '101');
    expect(counter.writes).toBeGreaterThan(0);
  });

  it('each change at Canvas is exactly one entry of the right type', async () => {
    const h = await harness(buildSyncWorld());
    const c = h.sandbox.control;
    await syncAndRead(h);
    const one = async (): Promise<ChangeRecord> => {
      const got = await syncAndRead(h);
      expect(got.map((x) => x.type)).toHaveLength(1);
      return got[0]!;
    };

    c.addUser({ id: '30', name: 'Nat New', sortableName: 'New, Nat', loginId: 'nat', password: 'pw-30', sisUserId: 'S30' });
    const nat = c.enroll({ userId: '30', courseId: '101', sectionId: '1011', type: 'StudentEnrollment', state: 'active' });
    expect(await one()).toMatchObject({ type: 'enrollment.added', data: { canvasUserId: '30', externalId: 'S30', sectionIds: ['1011'] } });

    c.moveEnrollment({ userId: '30', courseId: '101', sectionId: '1012' });
    expect(await one()).toMatchObject({ type: 'enrollment.updated', data: { canvasUserId: '30', before: { sectionIds: ['1011'] }, after: { sectionIds: ['1012'] } } });

    h.sandbox.state.user('30')!.sisUserId = 'S30-B';
    expect(await one()).toMatchObject({ type: 'enrollment.updated', data: { canvasUserId: '30', externalId: 'S30-B', before: { externalId: 'S30' }, after: { externalId: 'S30-B' } } });

    c.updateEnrollment({ enrollmentId: nat.id, type: 'TaEnrollment', role: 'TaEnrollment' });
    expect(await one()).toMatchObject({ type: 'enrollment.removed', data: { canvasUserId: '30', why: 'role_changed' } });

    c.concludeEnrollment({ userId: '1', courseId: '101' });
    expect(await one()).toMatchObject({ type: 'enrollment.removed', data: { canvasUserId: '1', why: 'concluded', reasons: ['concluded'] } });

    h.sandbox.state.user('8')!.sisUserId = null;
    expect(await one()).toMatchObject({ type: 'enrollment.removed', data: { canvasUserId: '8', externalId: 'S8', why: 'id_emptied' } });

    c.addUser({ id: '31', name: 'Dee Dropped', sortableName: 'Dropped, Dee', loginId: 'dee', password: 'pw-31', sisUserId: 'S31' });
    c.enroll({ userId: '31', courseId: '101', sectionId: '1011', type: 'StudentEnrollment', state: 'active' });
    expect((await one()).type).toBe('enrollment.added');
    c.dropEnrollment({ userId: '31', courseId: '101' });
    expect(await one()).toMatchObject({ type: 'enrollment.removed', data: { canvasUserId: '31', why: 'left_course', reasons: [] } });

    c.addUser({ id: '32', name: 'Tia Teacher', sortableName: 'Teacher, Tia', loginId: 'tia', password: 'pw-32', sisUserId: 'T32' });
    c.enroll({ userId: '32', courseId: '101', sectionId: '1011', type: 'TeacherEnrollment', state: 'active' });
    expect(await one()).toMatchObject({ type: 'course_admin.added', data: { canvasUserId: '32', externalId: 'T32', role: 'TeacherEnrollment' } });
    c.dropEnrollment({ userId: '6', courseId: '101' });
    expect(await one()).toMatchObject({ type: 'course_admin.removed', data: { canvasUserId: '6', why: 'left_course' } });

    c.updateCourse({ courseId: '101', published: false });
    const unpublished = await one();
    expect(unpublished).toMatchObject({
      type: 'course.updated',
      courseCanvasId: '101',
      data: { syncable: false, reasons: ['unpublished'], changes: { workflowState: { before: 'available', after: 'unpublished' }, published: { before: true, after: false }, syncable: { before: true, after: false } } },
    });
    expect((await h.deps.courses.getCourse(h.integrationId, '101'))!.reasons).toEqual(['unpublished']);

    // And nothing further once Canvas stops changing.
    expect(await syncAndRead(h)).toEqual([]);
  });

  it('a course change that a course refresh stored first is still recorded once by the next sync', async () => {
    const h = await harness(buildSyncWorld());
    await syncAndRead(h);
    h.sandbox.control.updateCourse({ courseId: '101', name: 'Course 101, renamed' });
    expect((await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path: 'rest' })).state).toBe('succeeded');
    expect((await h.deps.courses.getCourse(h.integrationId, '101'))!.name).toBe('Course 101, renamed');
    const got = await syncAndRead(h);
    expect(got).toEqual([expect.objectContaining({ type: 'course.updated', data: expect.objectContaining({ changes: { name: { before: 'Course 101', after: 'Course 101, renamed' } } }) })]);
    expect(await syncAndRead(h)).toEqual([]);
  });

  it('storeRoster (the port for rosters read from the report) writes and records like the REST sync', async () => {
    const h = await harness(buildSyncWorld());
    await syncAndRead(h);
    const last = (await h.deps.changeLog.list(h.integrationId)).changes.at(-1)!.seq;
    const course = (await h.deps.courses.getCourse(h.integrationId, '101'))!;
    const sections = await h.deps.courses.getSections(h.integrationId, '101');
    const roster = await h.deps.courses.getRoster(h.integrationId, '101');
    // The same people as stored, minus Amy: as if the report no longer listed her enrollment.
    const enrollments = roster
      .filter((p) => p.canvasUserId !== '1')
      .flatMap((p) => p.sectionIds.map((sec, k) => ({ user_id: p.canvasUserId, course_section_id: sec, role: p.roles[0], enrollment_state: p.enrollmentStates[k] ?? p.enrollmentStates[0]!, sis_user_id: p.externalId, user: { id: p.canvasUserId, name: p.name, sis_user_id: p.externalId } })));
    const store = createRosterStore(h.deps);
    const input = {
      course: { canvasId: '101', name: course.name, courseCode: course.courseCode, sisCourseId: course.sisCourseId, integrationId: course.integrationId, workflowState: course.workflowState as 'available', accountId: course.accountId, term: course.term, startAt: null, endAt: null, department: course.department },
      courseDatesRestricted: false,
      courseStartAt: null,
      sections: sections.map((s) => ({ canvasId: s.canvasId, courseCanvasId: '101', name: s.name, sisSectionId: s.externalId, integrationId: `SINT-${s.canvasId}` })),
      enrollments,
    };
    const r = await store(h.integrationId, '101', input);
    expect(r.written!.changes).toBe(1);
    const got = (await h.deps.changeLog.list(h.integrationId, { after: last })).changes;
    expect(got.map((x) => [x.type, x.data.canvasUserId, x.data.why])).toEqual([['enrollment.removed', '1', 'left_course']]);
    expect((await store(h.integrationId, '101', input)).written).toEqual({ rows: 0, changes: 0 });
  });

  it('two syncs of one course at once record a change once', async () => {
    const h = await harness(buildSyncWorld());
    await syncAndRead(h);
    const last = (await h.deps.changeLog.list(h.integrationId)).changes.at(-1)!.seq;
    h.sandbox.control.concludeEnrollment({ userId: '1', courseId: '101' });
    const sync = createRosterSync(h.deps);
    await Promise.all([sync(h.integrationId, '101'), sync(h.integrationId, '101'), sync(h.integrationId, '101')]);
    const got = (await h.deps.changeLog.list(h.integrationId, { after: last })).changes;
    expect(got.map((x) => [x.type, x.data.canvasUserId])).toEqual([['enrollment.removed', '1']]);
  });

  it('seq only grows and the cursor pages through every entry once, in order', async () => {
    const h = await harness(buildSyncWorld());
    await syncAndRead(h);
    h.sandbox.control.concludeEnrollment({ userId: '1', courseId: '101' });
    h.sandbox.control.dropEnrollment({ userId: '6', courseId: '101' });
    await syncAndRead(h);
    await h.deps.changeLog.append(h.integrationId, [{ type: 'integration.status_changed', courseCanvasId: null, data: { from: 'verified', to: 'failed', reasons: ['token_revoked'] } }]);
    const all = (await h.deps.changeLog.list(h.integrationId)).changes;
    expect(all).toHaveLength(6);
    const seqs = all.map((x) => x.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(all.at(-1)).toMatchObject({ type: 'integration.status_changed', courseCanvasId: null, data: { to: 'failed' } });

    const paged: ChangeRecord[] = [];
    let after = 0;
    for (;;) {
      const page = await h.deps.changeLog.list(h.integrationId, { after, limit: 4 });
      paged.push(...page.changes);
      if (page.nextCursor === null) break;
      expect(page.nextCursor).toBe(String(page.changes.at(-1)!.seq));
      after = Number(page.nextCursor);
    }
    expect(paged).toEqual(all);
    expect(await h.deps.changeLog.list(h.integrationId, { after: all.at(-1)!.seq })).toEqual({ changes: [], nextCursor: null });
    // Another integration's log is its own.
    const other = await harness(buildSyncWorld());
    expect((await other.deps.changeLog.list(other.integrationId)).changes).toEqual([]);
  });

  it('a crash between the diff and the write leaves neither: a listener that throws rolls back the roster and the entries', async () => {
    let fail = false;
    const seen: ChangeRecord[][] = [];
    const h = await harness(buildSyncWorld(), {
      changeListeners: [
        async (_tx, appended) => {
          if (fail) throw new Error('outbox unavailable');
          seen.push([...appended]);
        },
      ],
    });
    await syncAndRead(h);
    expect(seen).toHaveLength(1);
    const rosterBefore = await h.deps.courses.getRoster(h.integrationId, '101');
    const courseBefore = await h.deps.courses.getCourse(h.integrationId, '101');
    const logBefore = (await h.deps.changeLog.list(h.integrationId)).changes;

    h.sandbox.control.concludeEnrollment({ userId: '1', courseId: '101' });
    h.sandbox.control.updateCourse({ courseId: '101', name: 'Renamed course' });
    fail = true;
    await expect(createRosterSync(h.deps)(h.integrationId, '101')).rejects.toThrow('outbox unavailable');
    expect(await h.deps.courses.getRoster(h.integrationId, '101')).toEqual(rosterBefore);
    expect(await h.deps.courses.getCourse(h.integrationId, '101')).toEqual(courseBefore);
    expect((await h.deps.changeLog.list(h.integrationId)).changes).toEqual(logBefore);

    // Once the listener works again the same sync stores both, and the listener saw the entries.
    fail = false;
    const after = await syncAndRead(h);
    expect(after.map((x) => x.type).sort()).toEqual(['course.updated', 'enrollment.removed']);
    expect(seen.at(-1)!.map((x) => x.seq)).toEqual(after.map((x) => x.seq));
    expect((await h.deps.courses.getRosterEntry(h.integrationId, '101', '1'))!.examTaker).toBe(false);
  });
});
