import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateToLatest, openStore } from '../../../src/store/database.js';
import type { Database } from '../../../src/store/schema.js';
import { createReadinessProbe } from '../../../src/store/readiness.js';
import { createTestContainer } from '../../support/test-container.js';

type TestContainer = Awaited<ReturnType<typeof createTestContainer>>;
const PASSWORD = 'a long passphrase for signing in';

function csrfFrom(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token in page');
  return token;
}

async function signIn(agent: ReturnType<typeof request.agent>, email: string, next?: string) {
  const page = await agent.get('/login');
  return agent
    .post('/login')
    .type('form')
    .send({ _csrf: csrfFrom(page.text), email, password: PASSWORD, ...(next ? { next } : {}) });
}

describe('web app', () => {
  let c: TestContainer;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    c = await createTestContainer({ env: { BOOTSTRAP_API_TOKEN: 'bootstrap-token-for-tests-0123456789' } });
    await c.staff.create({ email: 'staff@example.edu', name: 'Sam Staff', password: PASSWORD });
    app = createApp(c);
  });
  afterAll(async () => {
    await c.close();
  });

  describe('health', () => {
    it('GET /healthz answers 200 {status: ok}', async () => {
      const res = await request(app).get('/healthz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('GET /readyz answers 200 when the database is migrated', async () => {
      expect((await request(app).get('/readyz')).status).toBe(200);
    });

    it('GET /readyz answers 503 when the database is unreachable', async () => {
      const unreachable = openStore({ kind: 'postgres', url: 'postgres://nobody@127.0.0.1:1/none' }); // nothing listens on port 1
      const readiness = createReadinessProbe(unreachable.db, { intervalMs: 60_000 });
      await readiness.start();
      const res = await request(createApp({ ...c, store: unreachable, readiness })).get('/readyz');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'unavailable', reason: 'database_unreachable' });
      await unreachable.close();
    });

    it('GET /readyz answers from the background probe, never with a database query of its own', async () => {
      const sqlite = new SqliteDatabase(':memory:');
      const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
      await migrateToLatest(db);
      const readiness = createReadinessProbe(db, { intervalMs: 60_000 });
      await readiness.start();
      const probed = createApp({ ...c, readiness });
      sqlite.close(); // any query from now on fails
      expect((await request(probed).get('/readyz')).status).toBe(200);
      await readiness.probe(); // the next background probe notices
      expect((await request(probed).get('/readyz')).body).toEqual({ status: 'unavailable', reason: 'database_unreachable' });
      readiness.markStopping();
      expect((await request(probed).get('/readyz')).body).toEqual({ status: 'unavailable', reason: 'stopping' });
      readiness.stop();
    });
  });

  describe('sign-in', () => {
    it('a protected page redirects to /login with next', async () => {
      const res = await request(app).get('/settings/api-tokens');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login?next=%2Fsettings%2Fapi-tokens');
    });

    it('signs in with the right password, regenerates the session id, and follows next', async () => {
      const agent = request.agent(app);
      const page = await agent.get('/login');
      const before = String(page.headers['set-cookie']);
      const res = await agent
        .post('/login')
        .type('form')
        .send({ _csrf: csrfFrom(page.text), email: 'staff@example.edu', password: PASSWORD, next: '/settings/api-tokens' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/settings/api-tokens');
      const after = String(res.headers['set-cookie']);
      expect(after).toMatch(/^cc\.sid=.*HttpOnly; SameSite=Lax/);
      expect(after.split(';')[0]).not.toBe(before.split(';')[0]);
      const tokens = await agent.get('/settings/api-tokens');
      expect(tokens.status).toBe(200);
      expect(tokens.text).toContain('Sam Staff');
      expect(tokens.text).toContain('href="/settings/api-tokens" aria-current="page"');
    });

    it('refuses a wrong password with 401 and the sign-in form', async () => {
      const agent = request.agent(app);
      const page = await agent.get('/login');
      const res = await agent.post('/login').type('form').send({ _csrf: csrfFrom(page.text), email: 'staff@example.edu', password: 'nope nope nope' });
      expect(res.status).toBe(401);
      expect(res.text).toContain('data-code="unauthenticated"');
      expect((await agent.get('/settings/api-tokens')).status).toBe(303);
    });

    it('never redirects off-site after sign-in', async () => {
      const res = await signIn(request.agent(app), 'staff@example.edu', '//evil.example.com/x');
      expect(res.headers.location).toBe('/integrations');
    });

    it('rate-limits sign-in: the 11th wrong try within 15 minutes gets 429', async () => {
      const agent = request.agent(app);
      const token = csrfFrom((await agent.get('/login')).text);
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const res = await agent.post('/login').type('form').send({ _csrf: token, email: 'victim@example.edu', password: `guess number ${i}` });
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses[10]).toBe(429);
    });

    it('signs out with POST /logout', async () => {
      const agent = request.agent(app);
      await signIn(agent, 'staff@example.edu');
      const page = await agent.get('/settings/api-tokens');
      const res = await agent.post('/logout').type('form').send({ _csrf: csrfFrom(page.text) });
      expect(res.status).toBe(303);
      expect((await agent.get('/settings/api-tokens')).status).toBe(303);
    });
  });

  describe('CSRF', () => {
    it('rejects a form without a token with 403 csrf_failed', async () => {
      const agent = request.agent(app);
      await agent.get('/login');
      const res = await agent.post('/login').type('form').send({ email: 'staff@example.edu', password: PASSWORD });
      expect(res.status).toBe(403);
      expect(res.text).toContain('data-code="csrf_failed"');
    });

    it('rejects a form with a token from another session', async () => {
      const other = csrfFrom((await request.agent(app).get('/login')).text);
      const agent = request.agent(app);
      await agent.get('/login');
      const res = await agent.post('/login').type('form').send({ _csrf: other, email: 'staff@example.edu', password: PASSWORD });
      expect(res.status).toBe(403);
    });
  });

  describe('https mode opened over plain http', () => {
    let secure: Awaited<ReturnType<typeof createTestContainer>>;
    beforeAll(async () => {
      secure = await createTestContainer({ env: { PUBLIC_URL: 'https://exams.example.edu', TRUST_PROXY: 'loopback' } });
      await secure.staff.create({ email: 'staff@example.edu', name: 'Sam Staff', password: PASSWORD });
    });
    afterAll(async () => {
      await secure.close();
    });

    it('a form posted over http says the site must be opened over https (403), not that the form expired', async () => {
      const agent = request.agent(createApp(secure));
      const page = await agent.get('/login'); // over http: the Secure session cookie is not kept by a browser
      const res = await agent.post('/login').type('form').send({ _csrf: csrfFrom(page.text), email: 'staff@example.edu', password: PASSWORD });
      expect(res.status).toBe(403);
      expect(res.text).toContain('data-code="csrf_failed"');
      expect(res.text).toContain('must be opened over https');
      expect(res.text).toContain('https://exams.example.edu');
      expect(res.text).not.toContain('This form has expired');
    });

    it('behind an https proxy named in TRUST_PROXY (X-Forwarded-Proto from loopback) the same form works', async () => {
      const agent = request.agent(createApp(secure));
      const page = await agent.get('/login').set('X-Forwarded-Proto', 'https');
      const cookie = String(page.headers['set-cookie']).split(';')[0] ?? '';
      const res = await agent
        .post('/login')
        .set('X-Forwarded-Proto', 'https')
        .set('Cookie', cookie)
        .type('form')
        .send({ _csrf: csrfFrom(page.text), email: 'staff@example.edu', password: PASSWORD });
      expect(res.status).toBe(303);
    });
  });

  describe('API tokens', () => {
    it('API: no token 401, bad token 401, good token 200', async () => {
      const none = await request(app).get('/api/v1/whoami');
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('unauthenticated');
      const bad = await request(app).get('/api/v1/whoami').set('Authorization', 'Bearer cc_not-a-real-token');
      expect(bad.status).toBe(401);
      expect(bad.body.error.code).toBe('unauthenticated');
      const good = await request(app).get('/api/v1/whoami').set('Authorization', 'Bearer bootstrap-token-for-tests-0123456789');
      expect(good.status).toBe(200);
      expect(good.body.actor).toMatch(/^api-token:/);
    });

    it('a token created in the UI is shown once, works, and stops working once revoked', async () => {
      const agent = request.agent(app);
      await signIn(agent, 'staff@example.edu');
      const page = await agent.get('/settings/api-tokens');
      const created = await agent.post('/settings/api-tokens').type('form').send({ _csrf: csrfFrom(page.text), name: 'nightly export' });
      expect(created.status).toBe(201);
      const token = /id="new-token"[^>]*value="(cc_[^"]+)"/.exec(created.text)?.[1];
      expect(token).toBeDefined();
      expect((await agent.get('/settings/api-tokens')).text).not.toContain(token!);
      expect((await request(app).get('/api/v1/whoami').set('Authorization', `Bearer ${token}`)).status).toBe(200);

      const id = (await c.apiTokens.list()).find((t) => t.name === 'nightly export')!.id;
      const revoke = await agent.post(`/settings/api-tokens/${id}/revoke`).type('form').send({ _csrf: csrfFrom(created.text) });
      expect(revoke.status).toBe(303);
      expect((await agent.get('/settings/api-tokens')).text).toContain('notice--ok');
      expect((await request(app).get('/api/v1/whoami').set('Authorization', `Bearer ${token}`)).status).toBe(401);
    });

    it('rejects unknown form fields when creating a token', async () => {
      const agent = request.agent(app);
      await signIn(agent, 'staff@example.edu');
      const page = await agent.get('/settings/api-tokens');
      const res = await agent.post('/settings/api-tokens').type('form').send({ _csrf: csrfFrom(page.text), name: 'x', admin: 'yes' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('data-code="validation_failed"');
    });

    it('bearer API requests need no CSRF token', async () => {
      const res = await request(app)
        .post('/api/v1/whoami')
        .set('Authorization', 'Bearer bootstrap-token-for-tests-0123456789')
        .send({ a: 1 });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    });
  });

  describe('404 and errors', () => {
    it('an unknown page gets the 404 page', async () => {
      const res = await request(app).get('/no/such/page');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toContain('Page not found');
    });

    it('an unknown API path gets a JSON 404 for an authenticated caller', async () => {
      const res = await request(app).get('/api/v1/nope').set('Authorization', 'Bearer bootstrap-token-for-tests-0123456789');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    });

    it('an unexpected error shows the error page with no stack and no detail', async () => {
      const failing = createApp({
        ...c,
        platformAdmin: { ...c.platformAdmin, signIn: async () => { throw new Error('boom-internal-detail SECRET-CANARY-1'); } },
      });
      const agent = request.agent(failing);
      const page = await agent.get('/login');
      const res = await agent.post('/login').type('form').send({ _csrf: csrfFrom(page.text), email: 'a@b.c', password: 'whatever long' });
      expect(res.status).toBe(500);
      expect(res.text).toContain('data-code="internal"');
      expect(res.text).not.toContain('boom-internal-detail');
      expect(res.text).not.toContain('SECRET-CANARY-1');
      expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
    });

    it('an unexpected API error answers JSON internal with a generic message', async () => {
      const failing = createApp({ ...c, apiTokens: { ...c.apiTokens, authenticate: async () => { throw new Error('db exploded SECRET-CANARY-2'); } } });
      const res = await request(failing).get('/api/v1/whoami').set('Authorization', 'Bearer x');
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('internal');
      expect(JSON.stringify(res.body)).not.toContain('SECRET-CANARY-2');
      expect(JSON.stringify(res.body)).not.toContain('exploded');
    });

    it('malformed JSON bodies answer 400 validation_failed', async () => {
      const res = await request(app)
        .post('/api/v1/whoami')
        .set('Authorization', 'Bearer bootstrap-token-for-tests-0123456789')
        .set('Content-Type', 'application/json')
        .send('{"a":');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    });
  });

  describe('security headers', () => {
    it('sends a CSP that forbids inline scripts', async () => {
      const csp = (await request(app).get('/login')).headers['content-security-policy'];
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("script-src-attr 'none'");
      expect(csp).not.toContain('unsafe-inline\';script');
    });

    it('serves the stylesheet from /static', async () => {
      const res = await request(app).get('/static/app.css');
      expect(res.status).toBe(200);
      expect(res.text).toContain('.badge--verified');
    });
  });

  describe('logging', () => {
    it('never logs a canary secret from the Authorization header, a ?code= query or a body password', async () => {
      const canary = 'CANARY-7f3a9c1e-secret';
      const agent = request.agent(app);
      const page = await agent.get('/login');
      await agent
        .post(`/login?code=${canary}&state=${canary}`)
        .set('Authorization', `Bearer ${canary}`)
        .set('X-Api-Key', canary)
        .type('form')
        .send({ _csrf: csrfFrom(page.text), email: 'staff@example.edu', password: canary });
      await request(app).get(`/oauth/callback?code=${canary}&state=x`).set('Authorization', `Bearer ${canary}`);
      await request(app).get('/api/v1/whoami').set('Authorization', `Bearer ${canary}`);
      const log = c.log.text();
      expect(log).toContain('"url":"/login?code=[redacted]');
      expect(log).toContain('/oauth/callback?code=[redacted]');
      expect(log).not.toContain(canary);
      expect(log).not.toContain('cc.sid=');
    });
  });
});
