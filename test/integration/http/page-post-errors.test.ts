import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { seedCourses } from '../../support/sync-list-seed.js';
import { startStaffPages, type StaffPages } from '../../support/staff-pages.js';

/**
 * Post/Redirect/Get for refused page POSTs: a form refused with a 4xx (a file over the limit, a
 * connection gone since the page was drawn, an unknown field) answers 303 back to the form's page,
 * which shows the error once; the POST is never answered with an error page a reload would repeat.
 */
describe('refused page POSTs go back to their page with the error flashed', () => {
  let c: StaffPages['c'];
  let app: StaffPages['app'];
  let id: string;
  let cookie: string;
  let csrfToken: string;

  beforeAll(async () => {
    ({ c, app, id, cookie, csrfToken } = await startStaffPages());
    await seedCourses(c.store, id);
  });
  afterAll(async () => {
    await c.close();
  });

  /** The page the redirect leads to, read once: its alert text. */
  const flashed = async (location: string) => {
    const page = await request(app).get(location.replace(/#.*$/, '')).set('Cookie', cookie);
    expect(page.status).toBe(200);
    const again = await request(app).get(location.replace(/#.*$/, '')).set('Cookie', cookie);
    return { page: page.text, alert: /<div class="notice notice--error" role="alert"[^>]*>([\s\S]*?)<\/div>/.exec(page.text)?.[1] ?? '', shownAgain: again.text.includes('notice--error" role="alert"') };
  };

  it('an 11 MB sync list import: 303 to the import form, the limit is named there', async () => {
    const res = await request(app)
      .post(`/integrations/${id}/sync-list/import`)
      .set('Cookie', cookie)
      .field('_csrf', csrfToken)
      .field('mode', 'add')
      .attach('file', Buffer.alloc(11 * 1024 * 1024, 'a'), 'big.csv');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/integrations/${id}/sync-list#import`);
    const { alert, shownAgain } = await flashed(res.headers.location!);
    expect(alert).toContain('larger than 10 MB');
    expect(shownAgain).toBe(false);
  });

  it('a sync list sync from a page drawn before the connection went away: 303 to the sync list naming Generate Keys', async () => {
    await c.syncList.change(id, { add: ['101'] }, 'test');
    const res = await request(app).post(`/integrations/${id}/sync-list/sync`).set('Cookie', cookie).type('form').send({ _csrf: csrfToken });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/integrations/${id}/sync-list`);
    expect((await flashed(res.headers.location!)).alert).toContain('Generate Keys');
  });

  it('a course refresh without a connection: 303 to the courses page', async () => {
    const res = await request(app).post(`/integrations/${id}/course-refresh`).set('Cookie', cookie).type('form').send({ _csrf: csrfToken });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/integrations/${id}/courses`);
    expect((await flashed(res.headers.location!)).alert).toContain('Generate Keys');
  });

  it('"sync every syncable course" confirmed after the last syncable course went away: 303 to the confirmation page saying so', async () => {
    const empty = (await c.integrations.create({ name: 'Institution B', canvasUrl: 'https://b.instructure.com', clientId: '10000000000002', accountId: 'self', courseIdType: 'sis_course_id', userIdType: 'sis_user_id', studentRoles: ['StudentEnrollment'] })).id;
    const res = await request(app).post(`/integrations/${empty}/course-sync-all`).set('Cookie', cookie).type('form').send({ _csrf: csrfToken, expected: '3' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/integrations/${empty}/course-sync-all`);
    expect((await flashed(res.headers.location!)).alert).toContain('No course is syncable');
  });

  it('an unknown field posted to the settings form: 303 to LMS settings naming the field', async () => {
    const res = await request(app)
      .post(`/integrations/${id}/settings`)
      .set('Cookie', cookie)
      .type('form')
      .send({ _csrf: csrfToken, canvasUrl: 'https://a.instructure.com', clientId: '10000000000001', colour: 'blue' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/integrations/${id}`);
    expect((await flashed(res.headers.location!)).alert).toContain('colour');
  });

  it('a route without its own target goes back to a same-origin Referer; a foreign Referer gets the error page', async () => {
    const post = (referer: string) =>
      request(app).post('/settings/api-tokens').set('Cookie', cookie).set('Host', 'companion.test').set('Referer', referer).type('form').send({ _csrf: csrfToken, name: 'x', colour: 'blue' });
    const host = 'companion.test';
    const own = await post(`http://${host}/settings/api-tokens?x=1`);
    expect(own.status).toBe(303);
    expect(own.headers.location).toBe('/settings/api-tokens?x=1');
    expect((await flashed(own.headers.location!)).alert).toContain('colour');
    const foreign = await post('https://evil.example/settings/api-tokens');
    expect(foreign.status).toBe(400);
    const protocolRelative = await post(`http://${host}//evil.example/x`);
    expect(protocolRelative.status).toBe(400);
  });

  it('the API still answers JSON errors, and a CSRF failure is still its own page', async () => {
    const api = await request(app).post(`/api/v1/integrations/${id}/course-refresh`).set('Cookie', cookie).set('X-CSRF-Token', csrfToken).send({});
    expect(api.status).toBe(409);
    expect(api.body.error.code).toBe('not_connected');
    const csrf = await request(app).post(`/integrations/${id}/course-refresh`).set('Cookie', cookie).type('form').send({ _csrf: 'wrong' });
    expect(csrf.status).toBe(403);
  });
});
