import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { testDatabases } from '../../support/databases.js';
import { createTestContainer } from '../../support/test-container.js';

const PASSWORD = 'a long passphrase for signing in';
const csrfFrom = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1];

describe.each(testDatabases())('sessions in the database on $name', (tdb) => {
  let c: Awaited<ReturnType<typeof createTestContainer>>;
  beforeAll(async () => {
    c = await createTestContainer({ tdb });
    await c.staff.create({ email: 'staff@example.edu', name: 'Sam Staff', password: PASSWORD });
  });
  afterAll(async () => {
    await c.close();
  });

  it('a session made by one instance is honoured by another (shared store), and sign-out ends it everywhere', async () => {
    const one = createApp(c);
    const two = createApp(c);
    const page = await request(one).get('/login');
    const cookie1 = String(page.headers['set-cookie']).split(';')[0];
    const login = await request(one)
      .post('/login')
      .set('Cookie', cookie1)
      .type('form')
      .send({ _csrf: csrfFrom(page.text), email: 'staff@example.edu', password: PASSWORD });
    expect(login.status).toBe(303);
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    const onTwo = await request(two).get('/settings/api-tokens').set('Cookie', cookie);
    expect(onTwo.status).toBe(200);
    const out = await request(two).post('/logout').set('Cookie', cookie).type('form').send({ _csrf: csrfFrom(onTwo.text) });
    expect(out.status).toBe(303);
    expect((await request(one).get('/settings/api-tokens').set('Cookie', cookie)).status).toBe(303);
  });

  it('the stored session holds no password or session id in plaintext', async () => {
    const table = tdb.name === 'postgres' ? 'http_sessions' : 'sessions';
    const page = await request(createApp(c)).get('/login');
    const login = await request(createApp(c))
      .post('/login')
      .set('Cookie', String(page.headers['set-cookie']).split(';')[0])
      .type('form')
      .send({ _csrf: csrfFrom(page.text), email: 'staff@example.edu', password: PASSWORD });
    const { sql } = await import('kysely');
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(c.store.db);
    expect(rows.rows.length).toBeGreaterThan(0);
    const sid = decodeURIComponent(String(login.headers['set-cookie']).split(';')[0].split('=')[1]).slice(2).split('.')[0];
    expect(sid.length).toBeGreaterThan(20);
    const dump = JSON.stringify(rows.rows);
    expect(dump).toContain('staff@example.edu');
    expect(dump).not.toContain(PASSWORD);
    expect(dump).not.toContain(sid);
  });
});
