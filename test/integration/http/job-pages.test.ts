import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startStaffPages, type StaffPages } from '../../support/staff-pages.js';

/** A job's page and its Cancel button: the kind is named from the registry, and Cancel returns to where it was pressed. */
describe('job pages', () => {
  let c: StaffPages['c'];
  let app: StaffPages['app'];
  let id: string;
  let cookie: string;
  let csrfToken: string;

  beforeAll(async () => {
    ({ c, app, id, cookie, csrfToken } = await startStaffPages());
  });
  afterAll(async () => {
    await c.close();
  });

  const gradePost = async (key: string) =>
    (await c.sync.jobs.createUnlessActive('grade_post', id, { courseId: '101', exam: { key, title: 'Midterm', pointsPossible: 10, published: true }, scores: [{ userExternalId: 'S1', score: 5 }] })).job;

  it('a queued grade post: the progress box names it "Grade post", never grade_post', async () => {
    const job = await gradePost('midterm');
    const page = await request(app).get(`/integrations/${id}/jobs/${job.id}`).set('Cookie', cookie).set('Accept', 'text/html');
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="job-detail-link">Grade post</a>');
    expect(page.text).not.toContain('>grade_post<');
    // The Cancel form carries the page it is on.
    expect(page.text).toContain(`name="back" value="/integrations/${id}/jobs/${job.id}"`);
  });

  it('Cancel returns to the page it was pressed on; a path off this site or none leads to the job page', async () => {
    const cancel = async (back?: string) => {
      const job = await gradePost(`exam-${Math.random()}`);
      const res = await request(app).post(`/integrations/${id}/jobs/${job.id}/cancel`).set('Cookie', cookie).type('form').send({ _csrf: csrfToken, ...(back === undefined ? {} : { back }) });
      expect(res.status).toBe(303);
      expect((await c.sync.jobs.get(job.id))!.state).toBe('cancelled');
      return { location: res.headers.location, jobPage: `/integrations/${id}/jobs/${job.id}` };
    };
    expect((await cancel(`/integrations/${id}/sync-list`)).location).toBe(`/integrations/${id}/sync-list`);
    expect((await cancel(`/integrations/${id}/courses/101`)).location).toBe(`/integrations/${id}/courses/101`);
    for (const back of [undefined, '//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      const r = await cancel(back);
      expect(r.location).toBe(r.jobPage);
    }
  });
});
