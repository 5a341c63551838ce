import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testDatabases } from '../../support/databases.js';
import { startHarness, type Harness } from '../../support/generate-keys-harness.js';
import { mintSessionCookie } from '../../support/session-cookie.js';

async function waitJob(h: Harness, id: string): Promise<any> {
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await h.api('GET', `/api/v1/jobs/${id}`);
    expect(r.status).toBe(200);
    if (['succeeded', 'failed', 'cancelled'].includes(r.body.state)) return r.body;
    if (Date.now() > end) throw new Error(`job ${id} stuck in ${r.body.state}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe.each(testDatabases().map((d) => [d.name, d] as const))('course and roster JSON API (%s)', (_name, tdb) => {
  let h: Harness;
  let id: string;
  beforeAll(async () => {
    h = await startHarness(tdb, { courses: 30 });
    // The runner starts in the first test, after two POSTs met a queued job (deterministically).
    h.c.onClose(() => h.c.sync.runner.stop());
    id = await h.createIntegration();
    await h.authorize(id);
  });
  afterAll(async () => {
    await h.close();
  });

  it('POST course-refresh answers 202 with a job that ends succeeded; a second POST while it is queued returns the same job', async () => {
    const r = await h.api('POST', `/api/v1/integrations/${id}/course-refresh`, {});
    expect(r.status).toBe(202);
    expect(Object.keys(r.body).sort()).toEqual(['createdAt', 'error', 'etaSeconds', 'finishedAt', 'id', 'integrationId', 'kind', 'progress', 'startedAt', 'state', 'summary'].sort());
    expect(r.body).toMatchObject({ kind: 'course_refresh', integrationId: id, progress: { phase: expect.any(String), done: expect.any(Number) } });
    expect(r.body.state).toBe('queued');
    const again = await h.api('POST', `/api/v1/integrations/${id}/course-refresh`, {});
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: r.body.id, state: 'queued' });
    await h.c.sync.runner.start();
    const done = await waitJob(h, r.body.id);
    expect(done.state).toBe('succeeded');
    expect(done.error).toBeNull();
    expect(done.summary.courses).toBeGreaterThan(0);
  });

  it('lists courses with the exact API fields, filters on syncable, and pages with a cursor', async () => {
    const all = await h.api('GET', `/api/v1/integrations/${id}/courses?limit=7`);
    expect(all.status).toBe(200);
    expect(Object.keys(all.body).sort()).toEqual(['courses', 'nextCursor']);
    expect(all.body.courses).toHaveLength(7);
    expect(Object.keys(all.body.courses[0]).sort()).toEqual(['canvasId', 'courseCode', 'externalId', 'integrationId', 'name', 'published', 'reasons', 'sisCourseId', 'syncable', 'term', 'startAt', 'endAt', 'department'].sort());
    expect(typeof all.body.courses[0].canvasId).toBe('string');
    expect(all.body.nextCursor).toEqual(expect.any(String));
    const next = await h.api('GET', `/api/v1/integrations/${id}/courses?limit=7&cursor=${encodeURIComponent(all.body.nextCursor)}`);
    expect(next.body.courses[0].canvasId).not.toBe(all.body.courses[0].canvasId);
    const not = await h.api('GET', `/api/v1/integrations/${id}/courses?syncable=false&limit=500`);
    expect(not.body.courses.length).toBeGreaterThan(0);
    expect(not.body.courses.every((c: any) => c.syncable === false && c.reasons.length > 0)).toBe(true);
    const byId = Object.fromEntries(not.body.courses.map((c: any) => [c.canvasId, c.reasons]));
    expect(byId['1002']).toContain('unpublished');
    expect(byId['1004']).toContain('missing_course_id');
    expect(byId['1006']).toContain('deleted');
    const bad = await h.api('GET', `/api/v1/integrations/${id}/courses?syncable=maybe`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
  });

  it('looks a course up now, rejecting unknown body fields by name', async () => {
    const r = await h.api('POST', `/api/v1/integrations/${id}/courses/lookup`, { query: 'sis_course_id:' + (await firstSis()) });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ syncable: true, reasons: [], sections: expect.any(Array) });
    const unpub = await h.api('POST', `/api/v1/integrations/${id}/courses/lookup`, { query: `${h.sandbox.url}/courses/1002` });
    expect(unpub.body).toMatchObject({ canvasId: '1002', syncable: false, reasons: ['unpublished'] });
    const gone = await h.api('POST', `/api/v1/integrations/${id}/courses/lookup`, { query: '999999' });
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: 'not_found', help: expect.any(String) });
    const extra = await h.api('POST', `/api/v1/integrations/${id}/courses/lookup`, { query: '1001', force: true });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toContain('force');
  });

  it('refresh requests at the same moment (eight API calls and a second instance) get one job, and the course list stays whole', async () => {
    const before = (await h.api('GET', `/api/v1/integrations/${id}/courses?limit=500`)).body.courses.length;
    expect(before).toBeGreaterThan(0);
    const other = await h.secondInstance();
    await other.sync.runner.start();
    other.onClose(() => other.sync.runner.stop());
    const jobsBefore = await h.c.sync.jobs.list({ integrationId: id, kind: 'course_refresh', limit: 500 });
    // The sandbox answers slowly, so the job is still running when the last request arrives.
    h.sandbox.control.configure({ latencyMs: 40 });
    try {
      const [api, second] = await Promise.all([
        Promise.all(Array.from({ length: 8 }, () => h.api('POST', `/api/v1/integrations/${id}/course-refresh`, {}))),
        Promise.all([other.sync.startRefresh(id), other.sync.startRefresh(id, { path: 'rest' }), other.sync.startRefresh(id)]),
      ]);
      for (const r of api) expect(r.status).toBe(202);
      const ids = new Set([...api.map((r) => r.body.id as string), ...second.map((j) => j.id)]);
      expect(ids.size).toBe(1);
      const jobsAfter = await h.c.sync.jobs.list({ integrationId: id, kind: 'course_refresh', limit: 500 });
      expect(jobsAfter.length - jobsBefore.length).toBe(1);
      const done = await waitJob(h, api[0]!.body.id);
      expect(done.state).toBe('succeeded');
      expect(done.summary).toMatchObject({ removed: 0, courses: before });
    } finally {
      h.sandbox.control.configure({ latencyMs: 0 });
    }
    expect((await h.api('GET', `/api/v1/integrations/${id}/courses?limit=500`)).body.courses.length).toBe(before);
  });

  it('ten lookups of one course at once all answer 200 with the same course', async () => {
    h.sandbox.control.configure({ latencyMs: 10 });
    try {
      const all = await Promise.all(Array.from({ length: 10 }, () => h.api('POST', `/api/v1/integrations/${id}/courses/lookup`, { query: '1001' })));
      expect(all.map((r) => r.status)).toEqual(Array(10).fill(200));
      const strip = (b: any) => ({ ...b, refreshedAt: undefined });
      for (const r of all) expect(strip(r.body)).toEqual(strip(all[0]!.body));
      expect(all[0]!.body.sections.length).toBeGreaterThan(0);
    } finally {
      h.sandbox.control.configure({ latencyMs: 0 });
    }
  });

  it('thirty lookups at once share the integration\'s throttle governor: Canvas throttles none of them', async () => {
    const list = (await h.api('GET', `/api/v1/integrations/${id}/courses?limit=30`)).body.courses as Array<{ canvasId: string }>;
    expect(list.length).toBe(30);
    h.sandbox.control.resetThrottle();
    h.sandbox.control.resetCounters();
    h.sandbox.control.configure({ latencyMs: 200 });
    try {
      const all = await Promise.all(list.map((c) => h.api('POST', `/api/v1/integrations/${id}/courses/lookup`, { query: c.canvasId })));
      expect(all.map((r) => r.status).filter((s) => s !== 200 && s !== 404)).toEqual([]);
      expect(h.sandbox.control.counters().throttled).toBe(0);
    } finally {
      h.sandbox.control.configure({ latencyMs: 0 });
    }
  });

  it('syncs a course (202 job) and returns the roster in the exact API shape, with why answers', async () => {
    const r = await h.api('POST', `/api/v1/integrations/${id}/courses/1001/sync`, {});
    expect(r.status).toBe(202);
    expect((await waitJob(h, r.body.id)).state).toBe('succeeded');
    const roster = await h.api('GET', `/api/v1/integrations/${id}/courses/1001/roster`);
    expect(Object.keys(roster.body).sort()).toEqual(['courseAdmins', 'examTakers', 'sections', 'skipped']);
    for (const list of ['sections', 'examTakers', 'skipped']) expect(roster.body[list].length).toBeGreaterThan(0);
    expect(Object.keys(roster.body.sections[0]).sort()).toEqual(['canvasId', 'externalId', 'name', 'reasons', 'syncable']);
    expect(Object.keys(roster.body.examTakers[0]).sort()).toEqual(['canvasUserId', 'externalId', 'name', 'pendingUntil', 'sectionIds']);
    expect(Object.keys(roster.body.skipped[0]).sort()).toEqual(['canvasUserId', 'name', 'reasons', 'role']);
    expect(roster.body.courseAdmins.length).toBeGreaterThan(0);
    expect(Object.keys(roster.body.courseAdmins[0]).sort()).toEqual(['canvasUserId', 'externalId', 'name', 'role']);
    expect(roster.body.courseAdmins[0].role).toBe('TeacherEnrollment');
    const reasons = new Set(roster.body.skipped.flatMap((s: any) => s.reasons));
    for (const code of ['role_not_selected', 'pending', 'inactive', 'concluded', 'missing_user_id']) expect(reasons).toContain(code);
    const skippedOne = roster.body.skipped[0];
    const why = await h.api('GET', `/api/v1/integrations/${id}/courses/1001/roster/${skippedOne.canvasUserId}/why`);
    expect(why.body).toMatchObject({ verdict: 'skipped', reasons: skippedOne.reasons.map((code: string) => expect.objectContaining({ code, remedy: expect.any(String) })) });
    const whyCourse = await h.api('GET', `/api/v1/integrations/${id}/courses/1002/why`);
    expect(whyCourse.body).toMatchObject({ verdict: 'not_syncable', reasons: [expect.objectContaining({ code: 'unpublished' })] });
    const preview = await h.api('POST', `/api/v1/integrations/${id}/courses/1001/sync-preview`, {});
    expect(preview.body.diff).toEqual({ added: [], removed: [], changed: [] });
  });

  it('the course page shows term, department, course admins and students pending in Canvas until the term starts', async () => {
    // The future term moved far ahead, so the test does not depend on today's date.
    h.sandbox.world.terms.find((t) => t.id === '4')!.startAt = '2099-01-11T07:00:00Z';
    const refresh = await h.api('POST', `/api/v1/integrations/${id}/courses/lookup`, { query: '1011' });
    expect(refresh.status).toBe(200);
    expect(refresh.body.term).toEqual({ name: 'Spring 2027', startAt: '2099-01-11T07:00:00.000Z', endAt: '2027-05-07T06:00:00.000Z' });
    const r = await h.api('POST', `/api/v1/integrations/${id}/courses/1011/sync`, {});
    expect((await waitJob(h, r.body.id)).state).toBe('succeeded');
    const roster = await h.api('GET', `/api/v1/integrations/${id}/courses/1011/roster`);
    const pending = roster.body.examTakers.filter((p: any) => p.pendingUntil === '2099-01-11T07:00:00.000Z');
    expect(pending.length).toBeGreaterThan(0);
    const staff = await h.c.staff.create({ email: 'course-page@example.edu', name: 'Cy Page', password: 'a long enough passphrase 43' });
    const cookie = await mintSessionCookie(h.c, { staff: { id: staff.id, email: staff.email, name: staff.name } });
    const html = await (await fetch(`${h.appUrl}/integrations/${id}/courses/1011`, { headers: { cookie } })).text();
    expect(html).toContain('<dd id="course-term">Spring 2027 (2099-01-11 07:00:00 UTC');
    expect(html).toMatch(/<dd id="course-department">[^<]+<\/dd>/);
    expect(html).toContain('pending in Canvas until 2099-01-11 07:00:00 UTC');
    expect(html).toContain('id="pending-note"');
    expect(html).toContain('id="admins-title"');
    for (const a of roster.body.courseAdmins) expect(html).toContain(`<tr data-user-id="${a.canvasUserId}"><td data-label="Name">${a.name}`);
  });

  it('pages the change log with a stable cursor, refuses a bad after or limit by name, and the course page lists recent changes', async () => {
    const bad = await h.api('GET', `/api/v1/integrations/${id}/changes?after=abc`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^after: /);
    for (const limit of ['0', '1001', 'x']) {
      const r = await h.api('GET', `/api/v1/integrations/${id}/changes?limit=${limit}`);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toMatch(/^limit: /);
    }
    expect((await h.api('GET', '/api/v1/integrations/nope/changes')).status).toBe(404);
    const all = await h.api('GET', `/api/v1/integrations/${id}/changes`);
    expect(all.status).toBe(200);
    expect(Object.keys(all.body).sort()).toEqual(['changes', 'nextCursor']);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.changes.length).toBeGreaterThan(2);
    expect(Object.keys(all.body.changes[0]).sort()).toEqual(['at', 'courseCanvasId', 'data', 'seq', 'type']);
    const paged: unknown[] = [];
    let after = '0';
    for (;;) {
      const page = await h.api('GET', `/api/v1/integrations/${id}/changes?after=${after}&limit=2`);
      paged.push(...page.body.changes);
      if (page.body.nextCursor === null) break;
      after = page.body.nextCursor;
    }
    expect(paged).toEqual(all.body.changes);
    const staff = await h.c.staff.create({ email: 'changes-page@example.edu', name: 'Ch Anges', password: 'a long enough passphrase 44' });
    const cookie = await mintSessionCookie(h.c, { staff: { id: staff.id, email: staff.email, name: staff.name } });
    const html = await (await fetch(`${h.appUrl}/integrations/${id}/courses/1001`, { headers: { cookie } })).text();
    expect(html).toContain('id="recent-changes"');
    expect(html).toMatch(/<li data-seq="\d+" data-type="enrollment.added"><time[^>]*>[^<]+<\/time> — [^<]+ was added as an exam-taker/);
  });

  it('POST course-sync-all starts one job with every syncable course, and refuses a stale count (409) or a missing one (400)', async () => {
    const syncable = (await h.api('GET', `/api/v1/integrations/${id}/courses?syncable=true&limit=500`)).body.courses.map((c: any) => c.canvasId);
    expect(syncable.length).toBeGreaterThan(1);
    const stale = await h.api('POST', `/api/v1/integrations/${id}/course-sync-all`, { expected: syncable.length + 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'conflict', help: `Send expected: ${syncable.length} to sync them all.` });
    const missing = await h.api('POST', `/api/v1/integrations/${id}/course-sync-all`, {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('expected');
    const r = await h.api('POST', `/api/v1/integrations/${id}/course-sync-all`, { expected: syncable.length });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ kind: 'course_sync', integrationId: id });
    const job = await h.c.sync.jobs.get(r.body.id);
    expect((job!.params.courseIds as string[]).slice().sort()).toEqual(syncable.slice().sort());
    expect((await waitJob(h, r.body.id)).state).toBe('succeeded');
  });

  it('a course Canvas no longer has fails alone in a batch: the other courses sync and the job says which one did not', async () => {
    const syncable = (await h.api('GET', `/api/v1/integrations/${id}/courses?syncable=true&limit=500`)).body.courses.map((c: any) => c.canvasId);
    const gone = syncable.at(-1);
    h.sandbox.control.updateCourse({ courseId: gone, workflowState: 'deleted' });
    try {
      const r = await h.api('POST', `/api/v1/integrations/${id}/course-sync`, { courseIds: ['1001', gone] });
      expect(r.status).toBe(202);
      const done = await waitJob(h, r.body.id);
      expect([done.state, done.error]).toEqual(['succeeded', null]);
      expect(done.summary.failedCourses).toBe(1);
      expect(done.summary.courseResults).toEqual([
        expect.objectContaining({ courseId: '1001' }),
        expect.objectContaining({ courseId: gone, failed: { code: 'course_not_found', message: expect.stringContaining('no longer has this course') } }),
      ]);
      expect(done.summary.courseResults[0].failed).toBeUndefined();
      // Alone, the same course still fails the job (there is nothing else to go on with).
      const alone = await waitJob(h, (await h.api('POST', `/api/v1/integrations/${id}/course-sync`, { courseIds: [gone] })).body.id);
      expect(alone.state).toBe('failed');
    } finally {
      h.sandbox.control.updateCourse({ courseId: gone, workflowState: 'available' });
    }
  });

  it('names each job on the Jobs page by its kind\'s label and describes its summary', async () => {
    const staff = await h.c.staff.create({ email: 'jobs-page@example.edu', name: 'Jo Bs', password: 'a long enough passphrase 42' });
    const cookie = await mintSessionCookie(h.c, { staff: { id: staff.id, email: staff.email, name: staff.name } });
    const res = await fetch(`${h.appUrl}/jobs`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    const row = (kind: string) => {
      const m = [...html.matchAll(/<tr data-job-id="([^"]+)" data-state="succeeded">([\s\S]*?)<\/tr>/g)].map((x) => x[2]!).filter((r) => r.includes(`>${kind}<`));
      expect(m.length).toBeGreaterThan(0);
      return m[0]!.replace(/\s+/g, ' ');
    };
    expect(row('Course refresh')).toMatch(/<td[^>]*>\d+ courses, \d+ sections of syncable courses \((provisioning report|REST API)\)<\/td>/);
    expect(row('Roster sync')).toMatch(/<td[^>]*>\d+ exam-takers, \d+ skipped(; 1 course not synced)?<\/td>/);
    expect(html).not.toContain('>course_refresh<');
  });

  it('answers 404 for an unknown integration or job and 401 without a token', async () => {
    expect((await h.api('POST', '/api/v1/integrations/nope/course-refresh', {})).status).toBe(404);
    expect((await h.api('GET', '/api/v1/jobs/nope')).status).toBe(404);
    const anon = await fetch(`${h.appUrl}/api/v1/jobs/nope`);
    expect(anon.status).toBe(401);
  });

  async function firstSis(): Promise<string> {
    const r = await h.api('GET', `/api/v1/integrations/${id}/courses?syncable=true&limit=1`);
    return r.body.courses[0].sisCourseId;
  }
});
