import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { HashedSidStore, type ClosableSessionStore } from '../../../src/http/session-store.js';
import { testDatabases } from '../../support/databases.js';
import { createTestContainer } from '../../support/test-container.js';
import { firstGroup } from '../../support/first-group.js';

const PASSWORD = 'a long passphrase for signing in';
const csrfFrom = (html: string) => firstGroup(/name="_csrf" value="([^"]+)"/, html);
/** The `name=value` pair of a Set-Cookie header (what a browser sends back). */
const cookiePair = (setCookie: unknown) => String(setCookie).split(';')[0] ?? '';

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
    const cookie1 = cookiePair(page.headers['set-cookie']);
    const login = await request(one)
      .post('/login')
      .set('Cookie', cookie1)
      .type('form')
      .send({ _csrf: csrfFrom(page.text), email: 'staff@example.edu', password: PASSWORD });
    expect(login.status).toBe(303);
    const cookie = cookiePair(login.headers['set-cookie']);
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
      .set('Cookie', cookiePair(page.headers['set-cookie']))
      .type('form')
      .send({ _csrf: csrfFrom(page.text), email: 'staff@example.edu', password: PASSWORD });
    const { sql } = await import('kysely');
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(c.store.db);
    expect(rows.rows.length).toBeGreaterThan(0);
    const sid = decodeURIComponent(cookiePair(login.headers['set-cookie']).split('=')[1] ?? '').slice(2).split('.')[0] ?? '';
    expect(sid.length).toBeGreaterThan(20);
    const dump = JSON.stringify(rows.rows);
    expect(dump).toContain('staff@example.edu');
    expect(dump).not.toContain(PASSWORD);
    expect(dump).not.toContain(sid);
  });

  it('reading pages with a session writes nothing to the database (no touch per request)', async () => {
    const app = createApp(c);
    const page = await request(app).get('/login');
    const login = await request(app)
      .post('/login')
      .set('Cookie', cookiePair(page.headers['set-cookie']))
      .type('form')
      .send({ _csrf: csrfFrom(page.text), email: 'staff@example.edu', password: PASSWORD });
    const cookie = cookiePair(login.headers['set-cookie']);
    const { sql } = await import('kysely');
    const table = tdb.name === 'postgres' ? 'http_sessions' : 'sessions';
    const snapshot = async () => JSON.stringify((await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by 1`.execute(c.store.db)).rows);
    const before = await snapshot();
    for (const path of ['/integrations', '/settings/api-tokens', '/integrations']) {
      const res = await request(app).get(path).set('Cookie', cookie);
      expect(res.status).toBe(200);
      expect(String(res.headers['set-cookie'])).toMatch(/^cc\.sid=/); // the browser's cookie still slides
    }
    expect(await snapshot()).toBe(before);
  });
});

describe('HashedSidStore.touch', () => {
  const fakeInner = () => {
    const writes: string[] = [];
    const inner = {
      get: (_sid: string, cb: (e: unknown, s?: null) => void) => cb(null, null),
      set: (sid: string, _s: unknown, cb?: () => void) => {
        writes.push(sid);
        cb?.();
      },
      destroy: (_sid: string, cb?: () => void) => cb?.(),
      close: () => undefined,
    } as unknown as ClosableSessionStore;
    return { inner, writes };
  };
  const loaded = (store: HashedSidStore, storedExpires: Date, nextExpires: Date) => {
    const req = { sessionID: 'sid-1', sessionStore: store } as unknown as Parameters<HashedSidStore['createSession']>[0];
    const sess = store.createSession(req, { cookie: { originalMaxAge: 1000, expires: storedExpires.toISOString() } } as never);
    sess.cookie.expires = nextExpires;
    return sess;
  };

  it('skips the write while the expiry moved less than touchEveryMs since the row was written, and writes after', async () => {
    const { inner, writes } = fakeInner();
    const store = new HashedSidStore(inner, 5 * 60_000);
    const t = Date.parse('2026-12-06T10:00:00Z');
    await new Promise<void>((r) => store.touch('sid-1', loaded(store, new Date(t), new Date(t + 60_000)), r));
    expect(writes).toEqual([]);
    await new Promise<void>((r) => store.touch('sid-1', loaded(store, new Date(t), new Date(t + 5 * 60_000)), r));
    expect(writes.length).toBe(1);
  });
});

