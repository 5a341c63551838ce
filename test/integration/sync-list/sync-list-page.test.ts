import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import type { Container } from '../../../src/container.js';
import { mintSessionCookie } from '../../support/session-cookie.js';
import { seedCourses } from '../../support/sync-list-seed.js';
import { createTestContainer } from '../../support/test-container.js';

describe('the sync list page says why it cannot sync', () => {
  let c: Container;
  let cookie: string;
  let id: string;
  beforeAll(async () => {
    c = await createTestContainer();
    id = (await c.integrations.create({ name: 'Page University', canvasUrl: 'https://page.instructure.com', clientId: '10000000000009', accountId: 'self', courseIdType: 'sis_course_id', userIdType: 'sis_user_id', studentRoles: ['StudentEnrollment'] })).id;
    await seedCourses(c.store, id);
    const staff = await c.staff.create({ email: 'page-list@example.edu', name: 'Pat Page', password: 'sync list page staff passphrase' });
    cookie = await mintSessionCookie(c, { staff: { id: staff.id, email: staff.email, name: staff.name } });
  });
  afterAll(async () => {
    await c.close();
  });
  const page = async () => (await request(createApp(c)).get(`/integrations/${id}/sync-list`).set('Cookie', cookie)).text;

  it('without a Canvas token: no Sync now, and a link to connect', async () => {
    await c.syncList.change(id, { add: ['101'] }, 'test');
    const html = await page();
    expect(html).toContain('id="not-connected"');
    expect(html).toContain(`href="/integrations/${id}"`);
    expect(html).not.toContain('id="sync-now"');
  });

  it('connected with an empty list: says to add courses; with courses: Sync now', async () => {
    await c.integrations.saveToken(id, { accessToken: 'a', refreshToken: 'r', expiresAt: null, ownerCanvasId: '1', ownerName: 'Ada Admin', scopes: [] });
    await c.integrations.setStatus(id, { ...(await c.integrations.get(id))!.status, state: 'verified' });
    await c.syncList.change(id, { remove: ['101'] }, 'test');
    const empty = await page();
    expect(empty).toContain('id="list-empty"');
    expect(empty).not.toContain('id="sync-now"');
    await c.syncList.change(id, { add: ['101'] }, 'test');
    const listed = await page();
    expect(listed).toContain('id="sync-now"');
    expect(listed).not.toContain('id="not-connected"');
  });
});
