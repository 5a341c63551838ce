import { describe, expect, it } from '@jest/globals';
import { createCanvasClient } from '../../../src/canvas/client.js';
import { createGradePostJob, type GradePostCheckpoint, type GradePostDeps } from '../../../src/grades/grade-post.js';
import { createGradeRepository } from '../../../src/grades/grade-repository.js';
import { createGradesService } from '../../../src/grades/grades-service.js';
import type { GradePostParams } from '../../../src/jobs/job-kinds.js';
import { createInProcessRunner } from '../../../src/jobs/in-process-runner.js';
import { createJobRepository } from '../../../src/jobs/job-repository.js';
import type { JobContext } from '../../../src/jobs/types.js';
import { createRosterSync } from '../../../src/sync/roster-sync.js';
import { testDatabases } from '../../support/databases.js';
import { runJob } from '../../support/run-job.js';
import { buildSyncWorld, useSyncHarnesses, type SyncHarness } from '../../support/sync-world.js';

const EXAM = { key: 'exam-midterm-1', title: 'Midterm 1', pointsPossible: 100, published: true };

/** Course 101's roster (see sync-world): S1, S8 exam-takers; S2 invited, S3 pending, S4 inactive, S5 concluded; T6 a teacher. */
const SCORES: GradePostParams['scores'] = [
  { userExternalId: 'S1', score: 91, comment: 'Well done' },
  { userExternalId: 'S8', score: 77.5 },
  { userExternalId: 'S2', score: 50 },
  { userExternalId: 'S4', score: 60 },
  { userExternalId: 'S5', score: 70 },
  { userExternalId: 'T6', score: 80 },
  { userExternalId: 'S404', score: 10 },
  { userExternalId: 'S3', score: -4 },
  { userExternalId: 'S9', score: 'abc' },
];

/** A client whose requests time out after 300 ms (a hanging answer ends quickly). */
function shortTimeoutClient(settings: Parameters<SyncHarness['deps']['clientFor']>[0]) {
  return createCanvasClient({ baseUrl: settings.canvasUrl, userAgent: 'grades-test/1.0', timeoutMs: 300, governor: null });
}

const outcomeOf = (outcomes: Array<{ userExternalId: string; outcome: string; detail?: string }>) =>
  Object.fromEntries(outcomes.map((o) => [o.userExternalId, o.outcome]));

describe.each(testDatabases())('grade passback against the sandbox on %s', (tdb) => {
  const ctx = useSyncHarnesses(() => tdb.open());

  async function setUp(opts: Parameters<typeof ctx.harness>[1] = {}) {
    const h = await ctx.harness(buildSyncWorld(), { progressPolls: 2, ...opts });
    await ctx.store.db.updateTable('integrations').set({ features: JSON.stringify(['course_refresh', 'roster_sync', 'grade_passback']) }).where('id', '=', h.integrationId).execute();
    await createRosterSync(h.deps)(h.integrationId, '101');
    const grades = createGradeRepository(ctx.store.db);
    const deps: GradePostDeps = {
      grades,
      courses: h.deps.courses,
      clientFor: h.deps.clientFor,
      tokenSourceFor: h.deps.tokenSourceFor,
      progressPollDelaysMs: [5],
    };
    return { h, grades, deps, job: createGradePostJob(deps) };
  }

  const writes = (h: SyncHarness) => h.sandbox.control.counters().writes;
  const post = (s: Awaited<ReturnType<typeof setUp>>, scores = SCORES, exam = EXAM) =>
    runJob(ctx.store, s.job, s.h.integrationId, { courseId: '101', exam, scores });

  it('gives every score its outcome, creates the published assignment with the exam key, and re-posting writes nothing', async () => {
    const s = await setUp();
    const first = await post(s);
    expect(first.state).toBe('succeeded');
    expect(first.summary).toMatchObject({ posted: 2, unchanged: 0, unknownUser: 1, notExamTaker: 4, invalidScore: 2, failed: 0, writeRequests: 1, assignmentCreated: true });
    const rec = (await s.grades.get(s.h.integrationId, '101', EXAM.key))!;
    expect(outcomeOf(rec.outcomes)).toEqual({
      S1: 'posted',
      S8: 'posted',
      S2: 'not_exam_taker',
      S4: 'not_exam_taker',
      S5: 'not_exam_taker',
      T6: 'not_exam_taker',
      S404: 'unknown_user',
      S3: 'invalid_score',
      S9: 'invalid_score',
    });
    const why = Object.fromEntries(rec.outcomes.map((o) => [o.userExternalId, o.detail ?? '']));
    expect(why.S2).toMatch(/^pending/);
    expect(why.S4).toMatch(/^inactive/);
    expect(why.S5).toMatch(/^concluded/);
    expect(why.T6).toMatch(/^role_not_selected/);
    // At Canvas: one assignment, published, keyed by the exam, holding the two scores and the comment.
    const world = s.h.sandbox.state.world;
    const assignment = world.assignments!.find((a) => a.id === rec.assignmentId)!;
    expect(assignment).toMatchObject({ name: 'Midterm 1', published: true, integrationId: EXAM.key, pointsPossible: 100, gradingType: 'points' });
    const held = world.submissions!.filter((x) => x.assignmentId === assignment.id);
    expect(Object.fromEntries(held.map((x) => [x.userId, x.score]))).toEqual({ '1': 91, '8': 77.5 });
    expect(held.find((x) => x.userId === '1')!.comments.map((c) => c.comment)).toEqual(['Well done']);
    expect(rec.assignmentUrl).toBe(`${s.h.sandbox.url}/courses/101/assignments/${assignment.id}`);

    const before = writes(s.h);
    const again = await post(s);
    expect(again.state).toBe('succeeded');
    expect(again.summary).toMatchObject({ posted: 0, unchanged: 2, writeRequests: 0, assignmentCreated: false });
    expect(writes(s.h)).toEqual(before);
    expect(outcomeOf((await s.grades.get(s.h.integrationId, '101', EXAM.key))!.outcomes)).toMatchObject({ S1: 'unchanged', S8: 'unchanged' });
  });

  it('recovers the mapping from Canvas by integration_id after the local record is deleted (no second assignment)', async () => {
    const s = await setUp();
    // Another exam's assignment comes first in the list: the match is by integration_id, not position.
    expect((await post(s, [{ userExternalId: 'S1', score: 1 }], { ...EXAM, key: 'exam-other', title: 'Other' })).state).toBe('succeeded');
    expect((await post(s)).state).toBe('succeeded');
    const id = (await s.grades.get(s.h.integrationId, '101', EXAM.key))!.assignmentId;
    await s.grades.delete(s.h.integrationId, '101', EXAM.key);
    const created = writes(s.h).assignmentsCreated;
    const r = await post(s, [{ userExternalId: 'S1', score: 95 }]);
    expect(r.state).toBe('succeeded');
    expect(r.summary).toMatchObject({ posted: 1, assignmentCreated: false, assignmentId: id });
    expect(writes(s.h).assignmentsCreated).toBe(created);
    expect(s.h.sandbox.state.world.assignments!.filter((a) => a.integrationId === EXAM.key)).toHaveLength(1);
  });

  it('a Progress that fails at Canvas ends the job failed with its message; the others are still posted', async () => {
    const s = await setUp();
    expect((await post(s)).state).toBe('succeeded');
    // Canvas concludes Amy after the last roster sync: the bulk job cannot find her.
    s.h.sandbox.control.concludeEnrollment({ userId: '1', courseId: '101' });
    const r = await post(s, [
      { userExternalId: 'S1', score: 50 },
      { userExternalId: 'S8', score: 60 },
    ]);
    expect(r.state).toBe('failed');
    expect(r.error?.code).toBe('grade_post_failed');
    expect(r.error?.message).toContain("Couldn't find User(s) with API ids '1'");
    const rec = (await s.grades.get(s.h.integrationId, '101', EXAM.key))!;
    expect(rec.state).toBe('failed');
    expect(outcomeOf(rec.outcomes)).toEqual({ S1: 'failed', S8: 'posted' });
    expect(rec.outcomes.find((o) => o.userExternalId === 'S1')!.detail).toContain("Couldn't find User(s) with API ids '1'");
    const held = s.h.sandbox.state.world.submissions!.filter((x) => x.assignmentId === rec.assignmentId);
    expect(Object.fromEntries(held.map((x) => [x.userId, x.score]))).toEqual({ '1': 91, '8': 60 });
  });

  it('reports an assignment someone unpublished at Canvas and never re-publishes it', async () => {
    const s = await setUp();
    expect((await post(s)).state).toBe('succeeded');
    const id = (await s.grades.get(s.h.integrationId, '101', EXAM.key))!.assignmentId!;
    s.h.sandbox.control.updateAssignment({ assignmentId: id, published: false });
    const before = writes(s.h);
    const r = await post(s, [{ userExternalId: 'S1', score: 12 }]);
    expect(r.state).toBe('failed');
    expect(r.error?.code).toBe('assignment_unpublished');
    expect(writes(s.h)).toEqual(before);
    expect(s.h.sandbox.state.world.assignments!.find((a) => a.id === id)!.published).toBe(false);
  });

  it('resumes after a crash mid-post without posting twice: the checkpointed Progress is followed, not re-sent', async () => {
    // Canvas's job runs only when polled here (not on its own within the test).
    const s = await setUp({ progressRunMs: 10 * 60_000 });
    const repo = createJobRepository(ctx.store.db);
    const params: GradePostParams = { courseId: '101', exam: EXAM, scores: SCORES };
    const job = await repo.create('grade_post', s.h.integrationId, params);
    // First attempt: dies right after Canvas accepted the batch and its Progress id was saved.
    let saved: GradePostCheckpoint | null = null;
    const crash = new Error('SIGKILL');
    const abort = new AbortController();
    const first: JobContext<GradePostParams, GradePostCheckpoint> = {
      jobId: job.id,
      integrationId: s.h.integrationId,
      params,
      checkpoint: null,
      attempt: 1,
      startedAt: new Date().toISOString(),
      async saveCheckpoint(c) {
        saved = JSON.parse(JSON.stringify(c)) as GradePostCheckpoint;
        if (c.batches?.some((b) => b.progressId)) throw crash;
      },
      async progress() {},
      isCancelled: () => false,
      signal: abort.signal,
    };
    await expect(s.job.run(first)).rejects.toBe(crash);
    expect(writes(s.h).updateGrades).toBe(1);
    expect(writes(s.h).gradesStored).toBe(0); // Canvas's job has not run yet (nobody polled it)
    const cp = saved as GradePostCheckpoint | null;
    expect(cp?.batches?.[0]?.progressId).toBeTruthy();

    const second = await s.job.run({ ...first, attempt: 2, checkpoint: cp, saveCheckpoint: async () => {} });
    expect(second).toMatchObject({ posted: 2, unchanged: 0, resumed: true, writeRequests: 1, failed: 0 });
    expect(writes(s.h).updateGrades).toBe(1);
    expect(writes(s.h).gradesStored).toBe(2);
    expect(writes(s.h).assignmentsCreated).toBe(1);
  });

  it('an update_grades whose answer is lost after Canvas queued the job is sent once: the scores Canvas stored are read back', async () => {
    const s = await setUp({ progressRunMs: 0 });
    s.h.sandbox.control.injectFault({ path: 'update_grades$', method: 'POST', kind: '500', afterApplying: true });
    const r = await post(s);
    expect(r.state).toBe('succeeded');
    expect(r.summary).toMatchObject({ posted: 2, failed: 0, writeRequests: 1 });
    expect(writes(s.h).updateGrades).toBe(1);
    expect(writes(s.h).gradesStored).toBe(2);
    const held = s.h.sandbox.state.world.submissions!.find((x) => x.userId === '1')!;
    expect(held.comments.map((c) => c.comment)).toEqual(['Well done']);
  });

  it('an update_grades that hangs after Canvas queued the job is sent once', async () => {
    const s = await setUp({ progressRunMs: 0 });
    s.h.sandbox.control.injectFault({ path: 'update_grades$', method: 'POST', kind: 'timeout', afterApplying: true });
    const job = createGradePostJob({ ...s.deps, clientFor: shortTimeoutClient });
    const r = await runJob(ctx.store, job, s.h.integrationId, { courseId: '101', exam: EXAM, scores: SCORES });
    expect(r.state).toBe('succeeded');
    expect(writes(s.h).updateGrades).toBe(1);
    expect(writes(s.h).gradesStored).toBe(2);
  });

  it('an assignment create whose answer is lost after Canvas created it is found again by integration_id: one assignment', async () => {
    const s = await setUp({ progressRunMs: 0 });
    s.h.sandbox.control.injectFault({ path: '/courses/101/assignments$', method: 'POST', kind: '500', afterApplying: true });
    const r = await post(s);
    expect(r.state).toBe('succeeded');
    expect(r.summary).toMatchObject({ posted: 2, assignmentCreated: true });
    expect(writes(s.h).assignmentsCreated).toBe(1);
    expect(s.h.sandbox.state.world.assignments!.filter((a) => a.integrationId === EXAM.key)).toHaveLength(1);
  });

  it('a batch checkpointed without its Progress id is not sent again on resume once Canvas ran it', async () => {
    const s = await setUp({ progressRunMs: 0 });
    const params: GradePostParams = { courseId: '101', exam: EXAM, scores: SCORES };
    let saved: GradePostCheckpoint | null = null;
    const crash = new Error('SIGKILL');
    const abort = new AbortController();
    const first: JobContext<GradePostParams, GradePostCheckpoint> = {
      jobId: 'no-progress-id',
      integrationId: s.h.integrationId,
      params,
      checkpoint: null,
      attempt: 1,
      startedAt: new Date().toISOString(),
      async saveCheckpoint(c) {
        // Dies after update_grades reached Canvas but before its answer was saved: the checkpoint holds the batch without a Progress id.
        if (c.batches?.some((b) => b.progressId)) throw crash;
        saved = JSON.parse(JSON.stringify(c)) as GradePostCheckpoint;
      },
      async progress() {},
      isCancelled: () => false,
      signal: abort.signal,
    };
    await expect(s.job.run(first)).rejects.toBe(crash);
    const cp = saved as GradePostCheckpoint | null;
    expect(cp?.batches?.[0]).toMatchObject({ progressId: null });
    expect(writes(s.h).updateGrades).toBe(1);
    const second = await s.job.run({ ...first, attempt: 2, checkpoint: cp, saveCheckpoint: async () => {} });
    expect(second).toMatchObject({ posted: 2, failed: 0, resumed: true });
    expect(writes(s.h).updateGrades).toBe(1);
    expect(writes(s.h).gradesStored).toBe(2);
    expect(s.h.sandbox.state.world.submissions!.find((x) => x.userId === '1')!.comments).toHaveLength(1);
  });

  it('a changed comment with an unchanged score is posted; the same comment again is not', async () => {
    const s = await setUp();
    expect((await post(s)).state).toBe('succeeded');
    const before = writes(s.h);
    const r = await post(s, [{ userExternalId: 'S1', score: 91, comment: 'Re-marked: still 91' }, { userExternalId: 'S8', score: 77.5 }]);
    expect(r.summary).toMatchObject({ posted: 1, unchanged: 1, writeRequests: 1 });
    expect(writes(s.h).gradesStored).toBe(before.gradesStored);
    expect(s.h.sandbox.state.world.submissions!.find((x) => x.userId === '1')!.comments.map((c) => c.comment)).toEqual(['Well done', 'Re-marked: still 91']);
    const again = await post(s, [{ userExternalId: 'S1', score: 91, comment: 'Re-marked: still 91' }, { userExternalId: 'S8', score: 77.5 }]);
    expect(again.summary).toMatchObject({ posted: 0, unchanged: 2, writeRequests: 0 });
  });

  it('a resumed post whose assignment was unpublished meanwhile fails as assignment_unpublished', async () => {
    const s = await setUp();
    expect((await post(s)).state).toBe('succeeded');
    const rec = (await s.grades.get(s.h.integrationId, '101', EXAM.key))!;
    s.h.sandbox.control.updateAssignment({ assignmentId: rec.assignmentId!, published: false });
    const params: GradePostParams = { courseId: '101', exam: EXAM, scores: [{ userExternalId: 'S1', score: 3 }] };
    const run = s.job.run({
      jobId: 'resumed-unpublished',
      integrationId: s.h.integrationId,
      params,
      checkpoint: { assignmentId: rec.assignmentId!, assignmentUrl: rec.assignmentUrl, planned: {}, batches: [], writeRequests: 0 },
      attempt: 2,
      startedAt: new Date().toISOString(),
      async saveCheckpoint() {},
      async progress() {},
      isCancelled: () => false,
      signal: new AbortController().signal,
    });
    await expect(run).rejects.toMatchObject({ code: 'assignment_unpublished' });
    expect(writes(s.h).updateGrades).toBe(1);
  });

  it('a cancel between finding the assignment and posting stops before any score is sent', async () => {
    const s = await setUp();
    const abort = new AbortController();
    const params: GradePostParams = { courseId: '101', exam: EXAM, scores: SCORES };
    const run = s.job.run({
      jobId: 'cancel-test',
      integrationId: s.h.integrationId,
      params,
      checkpoint: null,
      attempt: 1,
      startedAt: new Date().toISOString(),
      async saveCheckpoint(c) {
        if (c.assignmentId && !c.batches?.length) abort.abort(new Error('cancelled'));
      },
      async progress() {},
      isCancelled: () => abort.signal.aborted,
      signal: abort.signal,
    });
    await expect(run).rejects.toThrow('cancelled');
    expect(writes(s.h).assignmentsCreated).toBe(1);
    expect(writes(s.h).updateGrades).toBe(0);
  });

  it('one post per exam at a time: the same post again answers the queued job, other scores are refused (409)', async () => {
    const s = await setUp();
    const runner = createInProcessRunner({ repo: createJobRepository(ctx.store.db), definitions: [s.job], pollMs: 10, leaseMs: 5000 });
    const service = createGradesService({
      integrations: { get: async (id) => ({ id, features: ['grade_passback'] }) },
      courses: s.h.deps.courses,
      grades: s.grades,
      runner,
      audit: { record: async () => {}, list: async () => [] },
      post: s.deps,
    });
    const a = await service.post(s.h.integrationId, '101', { exam: EXAM, scores: SCORES }, 'test');
    const b = await service.post(s.h.integrationId, '101', { exam: EXAM, scores: SCORES }, 'test');
    expect(a.kind === 'job' && b.kind === 'job' && a.job.id === b.job.id).toBe(true);
    await expect(service.post(s.h.integrationId, '101', { exam: EXAM, scores: [{ userExternalId: 'S1', score: 1 }] }, 'test')).rejects.toMatchObject({ code: 'conflict' });
    const other = await service.post(s.h.integrationId, '101', { exam: { ...EXAM, key: 'another' }, scores: SCORES }, 'test');
    expect(other.kind === 'job' && a.kind === 'job' && other.job.id !== a.job.id).toBe(true);
  });

  it('a dry run answers the outcomes and writes nothing to Canvas', async () => {
    const s = await setUp();
    const service = createGradesService({
      integrations: { get: async (id) => ({ id, features: ['grade_passback'] }) },
      courses: s.h.deps.courses,
      grades: s.grades,
      runner: { enqueue: async () => { throw new Error('a dry run enqueues nothing'); } },
      audit: { record: async () => {}, list: async () => [] },
      post: s.deps,
    });
    const before = writes(s.h);
    const r = await service.post(s.h.integrationId, '101', { exam: EXAM, scores: SCORES, dryRun: true }, 'test');
    expect(r.kind).toBe('preview');
    if (r.kind !== 'preview') return;
    expect(outcomeOf(r.outcomes)).toMatchObject({ S1: 'posted', S8: 'posted', S404: 'unknown_user', S2: 'not_exam_taker', S3: 'invalid_score' });
    expect(r.assignmentId).toBeNull();
    expect(writes(s.h)).toEqual(before);
    await expect(service.post(s.h.integrationId, '101', { exam: { ...EXAM, published: false }, scores: SCORES }, 'test')).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
