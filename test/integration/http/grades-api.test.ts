import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testDatabases } from '../../support/databases.js';
import { startHarness, type Harness } from '../../support/generate-keys-harness.js';
import { createBrowser, hiddenValue } from '../../support/browser-flow.js';
import { mintSessionCookie } from '../../support/session-cookie.js';
import { Webhook } from 'standardwebhooks';
import { startReceiver } from '../../support/webhook-receiver.js';

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

const EXAM = { key: 'final-2026', title: 'Final exam', pointsPossible: 40 };

describe.each(testDatabases().map((d) => [d.name, d] as const))('grade passback API and features (%s)', (_name, tdb) => {
  let h: Harness;
  let id: string;
  let takers: string[];
  beforeAll(async () => {
    h = await startHarness(tdb, { courses: 12 });
    h.c.onClose(() => h.c.sync.runner.stop());
    h.c.webhooks.worker.start();
    h.c.onClose(() => h.c.webhooks.worker.stop());
    await h.c.sync.runner.start();
    id = await h.createIntegration({ features: ['grade_passback', 'roster_sync', 'course_refresh'] });
    await h.authorize(id);
    const sync = await h.api('POST', `/api/v1/integrations/${id}/courses/1001/sync`, {});
    expect((await waitJob(h, sync.body.id)).state).toBe('succeeded');
    const roster = await h.api('GET', `/api/v1/integrations/${id}/courses/1001/roster`);
    takers = roster.body.examTakers.map((p: { externalId: string }) => p.externalId);
    expect(takers.length).toBeGreaterThan(3);
  });
  afterAll(async () => {
    await h.close();
  });

  it('features: stored in registry order, returned, validated by name; the scope manifest follows them', async () => {
    const got = await h.api('GET', `/api/v1/integrations/${id}`);
    expect(got.body.features).toEqual(['course_refresh', 'roster_sync', 'grade_passback']);
    expect(got.body.status.state).toBe('verified');
    const scopes = await h.api('GET', `/api/v1/integrations/${id}/scopes`);
    expect(scopes.body.scopes).toContain('url:POST|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades');
    const bad = await h.api('PATCH', `/api/v1/integrations/${id}`, { features: ['course_refresh', 'gradebook'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect(bad.body.error.message).toContain('features');
    const other = await h.createIntegration();
    expect((await h.api('GET', `/api/v1/integrations/${other}`)).body.features).toEqual(['course_refresh', 'roster_sync']);
    expect((await h.api('GET', `/api/v1/integrations/${other}/scopes`)).body.scopes.some((s: string) => s.includes('assignments'))).toBe(false);
    const refused = await h.api('POST', `/api/v1/integrations/${other}/courses/1001/grade-posts`, { exam: EXAM, scores: [{ userExternalId: 'x', score: 1 }] });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/Grade passback is not enabled/);
  });

  it('the Configure page offers the features as checkboxes; a form without them leaves them alone', async () => {
    const other = await h.createIntegration();
    await h.authorize(other);
    const link = await h.api('POST', `/api/v1/integrations/${other}/setup-links`, {});
    const b = createBrowser();
    await b.go(link.body.url);
    const page = await b.go(`${h.appUrl}/integrations/${other}/configure`);
    expect(page.text).toContain('name="features" value="grade_passback"');
    expect(page.text).toMatch(/name="features" value="roster_sync" checked/);
    const form = { _csrf: hiddenValue(page.text, '_csrf'), courseIdType: 'sis_course_id', userIdType: 'sis_user_id', studentRoles: 'StudentEnrollment' };
    expect((await b.go(`${h.appUrl}/integrations/${other}/configure`, { form })).status).toBe(200);
    const before = (await h.api('GET', `/api/v1/integrations/${other}`)).body;
    expect(before.features).toEqual(['course_refresh', 'roster_sync']);
    expect(before.status.checks.map((c: { name: string }) => c.name)).not.toContain('grade_scopes');
    const again = await b.go(`${h.appUrl}/integrations/${other}/configure`);
    await b.go(`${h.appUrl}/integrations/${other}/configure`, { form: { ...form, _csrf: hiddenValue(again.text, '_csrf'), featuresShown: '1', features: 'grade_passback' } });
    const after = (await h.api('GET', `/api/v1/integrations/${other}`)).body;
    expect(after.features).toEqual(['grade_passback']);
    // The checks re-ran on save and now probe the grade scopes (this sandbox key does not enforce scopes).
    expect(after.status.checks.find((c: { name: string }) => c.name === 'grade_scopes')).toMatchObject({ ok: true });
  });

  it('refuses bad input naming the field: unknown fields, published false, duplicate ids', async () => {
    const url = `/api/v1/integrations/${id}/courses/1001/grade-posts`;
    const unknown = await h.api('POST', url, { exam: EXAM, scores: [{ userExternalId: takers[0], score: 1 }], extra: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('extra');
    const unpublished = await h.api('POST', url, { exam: { ...EXAM, published: false }, scores: [{ userExternalId: takers[0], score: 1 }] });
    expect(unpublished.status).toBe(400);
    expect(unpublished.body.error.message).toMatch(/exam\.published: Canvas grades only published assignments/);
    const dup = await h.api('POST', url, { exam: EXAM, scores: [{ userExternalId: takers[0], score: 1 }, { userExternalId: takers[0], score: 2 }] });
    expect(dup.status).toBe(400);
    expect(dup.body.error.message).toContain('more than once');
  });

  it('a dry run answers 200 with outcomes and writes nothing; a post answers 202 and the last post reads back; the course page lists it', async () => {
    const url = `/api/v1/integrations/${id}/courses/1001/grade-posts`;
    const scores = [
      { userExternalId: takers[0], score: 38, comment: 'Great' },
      { userExternalId: takers[1], score: 21.5 },
      { userExternalId: 'NOBODY-1', score: 10 },
      { userExternalId: takers[2], score: -1 },
    ];
    const writes = h.sandbox.control.counters().writes;
    const dry = await h.api('POST', url, { exam: EXAM, scores, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body.outcomes.map((o: { outcome: string }) => o.outcome)).toEqual(['posted', 'posted', 'unknown_user', 'invalid_score']);
    expect(h.sandbox.control.counters().writes).toEqual(writes);

    const r = await h.api('POST', url, { exam: EXAM, scores });
    expect(r.status).toBe(202);
    expect(r.body.kind).toBe('grade_post');
    const job = await waitJob(h, r.body.id);
    expect(job.state).toBe('succeeded');
    expect(job.summary).toMatchObject({ posted: 2, unknownUser: 1, invalidScore: 1, writeRequests: 1 });
    const last = await h.api('GET', `${url}/${EXAM.key}`);
    expect(last.status).toBe(200);
    expect(last.body).toMatchObject({ exam: EXAM, state: 'succeeded', assignmentId: expect.any(String) });
    expect(last.body.outcomes).toEqual([
      { userExternalId: takers[0], outcome: 'posted' },
      { userExternalId: takers[1], outcome: 'posted' },
      { userExternalId: 'NOBODY-1', outcome: 'unknown_user', detail: expect.any(String) },
      { userExternalId: takers[2], outcome: 'invalid_score', detail: expect.any(String) },
    ]);
    expect((await h.api('GET', `${url}/nope`)).status).toBe(404);

    const staff = await h.c.staff.create({ email: 'grades-page@example.edu', name: 'Gr Ades', password: 'a long enough passphrase 42' });
    const cookie = await mintSessionCookie(h.c, { staff: { id: staff.id, email: staff.email, name: staff.name } });
    const html = await (await fetch(`${h.appUrl}/integrations/${id}/courses/1001`, { headers: { cookie } })).text();
    expect(html).toContain(`data-exam-key="${EXAM.key}"`);
    expect(html).toContain(`href="${h.sandbox.url}/courses/1001/assignments/${last.body.assignmentId}"`);
    expect(html).toMatch(/data-outcome="unknown_user"/);
  });

  it('a grade post larger than 1 MB is read; one over its limit is refused naming the fix; the OpenAPI row documents the dry run 200', async () => {
    const url = `/api/v1/integrations/${id}/courses/1001/grade-posts`;
    const comment = 'c'.repeat(400);
    const scores = Array.from({ length: 5000 }, (_, n) => ({ userExternalId: `NOBODY-${n}`, score: 1, comment }));
    const big = await h.api('POST', url, { exam: { ...EXAM, key: 'big-exam' }, scores, dryRun: true });
    expect(big.status).toBe(200);
    expect(big.body.outcomes).toHaveLength(5000);
    const huge = await h.api('POST', url, { exam: { ...EXAM, key: 'big-exam' }, scores: scores.map((x) => ({ ...x, comment: 'c'.repeat(3990) })), dryRun: true });
    expect(huge.status).toBe(400);
    expect(huge.body.error.message).toMatch(/larger than 16 MB, this route's limit\. Send less in one request/);
    const doc = await h.api('GET', '/api/v1/openapi.json');
    const op = doc.body.paths['/api/v1/integrations/{id}/courses/{canvasId}/grade-posts'].post;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '202']));
    expect(op.responses['200'].content['application/json'].schema.$ref).toMatch(/GradePreview$/);
  });

  it('a post that Canvas refuses (update_grades not authorized) ends failed, and the exam reads back failed with the message', async () => {
    const url = `/api/v1/integrations/${id}/courses/1001/grade-posts`;
    const exam = { key: 'refused-exam', title: 'Refused exam', pointsPossible: 10 };
    h.sandbox.control.injectFault({ path: 'update_grades$', method: 'POST', kind: 'unauthorized' });
    const r = await h.api('POST', url, { exam, scores: [{ userExternalId: takers[0], score: 4 }] });
    expect(r.status).toBe(202);
    const job = await waitJob(h, r.body.id);
    expect(job.state).toBe('failed');
    const last = await h.api('GET', `${url}/${exam.key}`);
    expect(last.body.state).toBe('failed');
    expect(last.body.message).toBe(job.error.message);
  });

  it('a cancelled post is recorded cancelled, not running', async () => {
    const url = `/api/v1/integrations/${id}/courses/1001/grade-posts`;
    const exam = { key: 'cancelled-exam', title: 'Cancelled exam', pointsPossible: 10 };
    // Canvas's bulk job never ends here: the post waits on its Progress until it is cancelled.
    h.sandbox.control.configure({ progressPolls: 1_000_000, progressRunMs: 3_600_000 });
    try {
      const sent = h.sandbox.control.counters().writes.updateGrades;
      const r = await h.api('POST', url, { exam, scores: [{ userExternalId: takers[0], score: 6 }] });
      const end = Date.now() + 30_000;
      while (h.sandbox.control.counters().writes.updateGrades === sent) {
        if (Date.now() > end) throw new Error('the post never sent its batch');
        await new Promise((res) => setTimeout(res, 20));
      }
      expect((await h.api('POST', `/api/v1/jobs/${r.body.id}/cancel`, {})).status).toBe(200);
      expect((await waitJob(h, r.body.id)).state).toBe('cancelled');
      const last = await h.api('GET', `${url}/${exam.key}`);
      expect(last.body.state).toBe('cancelled');
      expect(last.body.message).toMatch(/cancelled/);
    } finally {
      h.sandbox.control.configure({ progressPolls: 2, progressRunMs: 2000 });
      h.sandbox.control.runJobs();
    }
  });

  it('a real post sends a signed grades.posted once it has ended; an unpublished assignment sends a failed one', async () => {
    const rx = await startReceiver();
    try {
      const hook = await h.api('POST', '/api/v1/webhooks', { url: rx.url, events: ['grades.posted'] });
      expect(hook.status).toBe(201);
      const url = `/api/v1/integrations/${id}/courses/1001/grade-posts`;
      const exam = { key: 'hooked-exam', title: 'Hooked exam', pointsPossible: 10 };
      const events = () => rx.received.map((x) => new Webhook(hook.body.secret).verify(x.body, x.headers as Record<string, string>) as { type: string; data: Record<string, any> });
      const waitEvents = async (n: number) => {
        const end = Date.now() + 30_000;
        while (rx.received.length < n) {
          if (Date.now() > end) throw new Error(`${rx.received.length} grades.posted deliveries, expected ${n}`);
          await new Promise((res) => setTimeout(res, 50));
        }
        return events();
      };
      const ok = await h.api('POST', url, { exam, scores: [{ userExternalId: takers[0], score: 7 }] });
      expect((await waitJob(h, ok.body.id)).state).toBe('succeeded');
      const [first] = await waitEvents(1);
      expect(first).toMatchObject({ type: 'grades.posted', data: { integrationId: id, courseCanvasId: '1001', examKey: exam.key, state: 'succeeded', jobId: ok.body.id, counts: expect.objectContaining({ posted: 1 }) } });

      const rec = (await h.api('GET', `${url}/${exam.key}`)).body;
      h.sandbox.control.updateAssignment({ assignmentId: rec.assignmentId, published: false });
      const refused = await h.api('POST', url, { exam, scores: [{ userExternalId: takers[0], score: 8 }] });
      const failedJob = await waitJob(h, refused.body.id);
      expect(failedJob.error.code).toBe('assignment_unpublished');
      const all = await waitEvents(2);
      expect(all[1]).toMatchObject({ type: 'grades.posted', data: { examKey: exam.key, state: 'failed', jobId: refused.body.id, message: failedJob.error.message } });
      await new Promise((res) => setTimeout(res, 200));
      expect(rx.received).toHaveLength(2);
      await h.api('DELETE', `/api/v1/webhooks/${hook.body.id}`);
    } finally {
      await rx.close();
    }
  });
});
