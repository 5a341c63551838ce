import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { createTestContainer } from '../../support/test-container.js';
import { mintSessionCookie } from '../../support/session-cookie.js';

type TestContainer = Awaited<ReturnType<typeof createTestContainer>>;
const TOKEN = 'bootstrap-token-for-hardening-0123456789';
const PASSWORD = 'a long passphrase for the hardening tests';
const bearer = `Bearer ${TOKEN}`;

function csrfFrom(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token in page');
  return token;
}

/** `a0=x&a1=x&…` with n fields. */
const manyFields = (n: number) => Array.from({ length: n }, (_, i) => `a${i}=x`).join('&');

describe('request hardening: 4xx instead of 500, 401 first, cache and framing headers, audit for institutions', () => {
  let c: TestContainer;
  let app: ReturnType<typeof createApp>;
  let integrationId: string;
  let otherId: string;
  let staffCookie: string;

  const staffAgent = async () => {
    const agent = request.agent(app);
    const page = await agent.get('/login');
    const res = await agent.post('/login').type('form').send({ _csrf: csrfFrom(page.text), email: 'ops@example.edu', password: PASSWORD });
    expect(res.status).toBe(303);
    return agent;
  };

  beforeAll(async () => {
    c = await createTestContainer({ env: { BOOTSTRAP_API_TOKEN: TOKEN } });
    const staff = await c.staff.create({ email: 'ops@example.edu', name: 'Olga Ops', password: PASSWORD });
    const base = { canvasUrl: 'https://a.instructure.com', clientId: '10000000000001', accountId: 'self', courseIdType: 'sis_course_id' as const, userIdType: 'sis_user_id' as const, studentRoles: ['StudentEnrollment'] };
    integrationId = (await c.integrations.create({ name: 'Institution A', ...base })).id;
    otherId = (await c.integrations.create({ name: 'Institution B', ...base, canvasUrl: 'https://b.instructure.com' })).id;
    await c.audit.record({ integrationId, actor: `staff:${staff.id}`, action: 'setup_link_created', detail: { by: 'ops@example.edu' } });
    staffCookie = await mintSessionCookie(c, { staff: { id: staff.id, email: staff.email, name: staff.name } });
    app = createApp({ ...c, lti: { handler: (_req, res) => void res.status(200).send('ltijs'), frameAncestors: ['https://*.instructure.com'] } });
  });
  afterAll(async () => {
    await c.close();
  });

  describe('too many form fields and Canvas calls without a token are 4xx, not 500', () => {
    it('POST /login with 201 urlencoded fields answers 400 validation_failed and logs no failure', async () => {
      const res = await request(app).post('/login').type('form').send(manyFields(201));
      expect(res.status).toBe(400);
      expect(res.text).toContain('data-code="validation_failed"');
      expect(c.log.text()).not.toContain('parameters.too.many');
    });

    it('an API route with 201 urlencoded fields answers 400 JSON naming the problem', async () => {
      const res = await request(app).post(`/api/v1/integrations/${integrationId}/verify`).set('Authorization', bearer).type('form').send(manyFields(201));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.message).toMatch(/too many fields/);
    });

    it('sync-preview on an integration without a token answers 409 not_connected with how to connect', async () => {
      const res = await request(app).post(`/api/v1/integrations/${integrationId}/courses/101/sync-preview`).set('Authorization', bearer).send({});
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('not_connected');
      expect(res.body.error.help).toMatch(/Generate Keys/);
    });
  });

  describe('API: 401 before any body or CSRF check', () => {
    it('malformed JSON without a token gets 401, with a valid token 400', async () => {
      const anon = await request(app).post('/api/v1/integrations').set('Content-Type', 'application/json').send('{"name":');
      expect(anon.status).toBe(401);
      expect(anon.body.error.code).toBe('unauthenticated');
      const authed = await request(app).post('/api/v1/integrations').set('Authorization', bearer).set('Content-Type', 'application/json').send('{"name":');
      expect(authed.status).toBe(400);
    });

    it('too many fields or a revoked token get 401 too', async () => {
      expect((await request(app).post('/api/v1/integrations').type('form').send(manyFields(500))).status).toBe(401);
      const { token, info } = await c.apiTokens.create({ name: 'soon revoked' });
      await c.apiTokens.revoke(info.id);
      const res = await request(app).post('/api/v1/integrations').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send('{');
      expect(res.status).toBe(401);
    });

    it('an unknown /api path without credentials is 401, not 404', async () => {
      expect((await request(app).get('/api/v2/anything')).status).toBe(401);
    });

    it('a staff session without a CSRF token still gets 403 csrf_failed on an API write', async () => {
      const res = await request(app).post('/api/v1/integrations').set('Cookie', staffCookie).send({ name: 'x' });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('csrf_failed');
    });
  });

  describe('security headers on Bearer API answers (they skip the pages\' middleware, not these)', () => {
    const SECURITY_HEADERS = [
      'content-security-policy',
      'cross-origin-opener-policy',
      'cross-origin-resource-policy',
      'origin-agent-cluster',
      'referrer-policy',
      'x-content-type-options',
      'x-dns-prefetch-control',
      'x-download-options',
      'x-frame-options',
      'x-permitted-cross-domain-policies',
      'x-xss-protection',
      'cache-control',
    ];
    const securityHeaders = (h: Record<string, string>) => Object.fromEntries(SECURITY_HEADERS.map((k) => [k, h[k]]));

    it('the same as on an API answer to a session and on a page: 200, 401, 404 and a validation error', async () => {
      const reference = securityHeaders((await request(app).get('/api/v1/whoami')).headers as Record<string, string>);
      expect(Object.values(reference).every((v) => typeof v === 'string' && v.length > 0)).toBe(true);
      const page = securityHeaders((await request(app).get('/login')).headers as Record<string, string>);
      expect({ ...page, 'cache-control': 'no-store' }).toEqual(reference);
      for (const res of [
        await request(app).get('/api/v1/whoami').set('Authorization', bearer),
        await request(app).get(`/api/v1/integrations/${integrationId}/courses`).set('Authorization', bearer),
        await request(app).get(`/api/v1/integrations/${integrationId}/courses?limit=0`).set('Authorization', bearer),
        await request(app).get('/api/v1/whoami').set('Authorization', 'Bearer not-a-token'),
        await request(app).get('/api/v1/nope').set('Authorization', bearer),
      ]) {
        expect([200, 400, 401, 404]).toContain(res.status);
        expect(securityHeaders(res.headers as Record<string, string>)).toEqual(reference);
      }
    });
  });

  describe('Cache-Control: no-store', () => {
    it('on every API answer: 200, 401 and 404', async () => {
      expect((await request(app).get('/api/v1/whoami').set('Authorization', bearer)).headers['cache-control']).toBe('no-store');
      expect((await request(app).get('/api/v1/whoami')).headers['cache-control']).toBe('no-store');
      expect((await request(app).get('/api/v1/nope').set('Authorization', bearer)).headers['cache-control']).toBe('no-store');
    });

    it('on the pages that show a credential: a new setup link, a new API token, the scope list', async () => {
      const agent = await staffAgent();
      const settings = await agent.get(`/integrations/${integrationId}`);
      const link = await agent.post(`/integrations/${integrationId}/setup-link`).type('form').send({ _csrf: csrfFrom(settings.text) });
      expect(link.status).toBe(201); // a new link, shown once (a reload of the form gets a redirect instead)
      expect(link.text).toContain('/setup?token=');
      expect(link.headers['cache-control']).toBe('no-store');
      const tokens = await agent.get('/settings/api-tokens');
      const created = await agent.post('/settings/api-tokens').type('form').send({ _csrf: csrfFrom(tokens.text), name: 'cache test' });
      expect(created.headers['cache-control']).toBe('no-store');
      expect((await agent.get(`/integrations/${integrationId}/scopes`)).headers['cache-control']).toBe('no-store');
    });

    it('Referrer-Policy: same-origin on pages, no-referrer on an address that carries a token', async () => {
      expect((await request(app).get('/login')).headers['referrer-policy']).toBe('same-origin');
      expect((await request(app).get('/setup?token=not-a-real-one')).headers['referrer-policy']).toBe('no-referrer');
      expect((await request(app).get('/launch/handoff?token=not-a-real-one')).headers['referrer-policy']).toBe('no-referrer');
      expect((await request(app).get('/oauth/start?token=not-a-real-one')).headers['referrer-policy']).toBe('no-referrer');
    });

    it('not on static files', async () => {
      const res = await request(app).get('/static/app.css');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).not.toContain('no-store');
    });
  });

  describe('framing', () => {
    const ancestors = (res: request.Response) => /frame-ancestors ([^;]+)/.exec(String(res.headers['content-security-policy']))?.[1]?.split(' ');

    it("staff and anonymous pages may be framed by this site only: frame-ancestors 'self' and X-Frame-Options SAMEORIGIN", async () => {
      for (const res of [await request(app).get('/login'), await request(app).get('/integrations').set('Cookie', staffCookie)]) {
        expect(ancestors(res)).toEqual(["'self'"]);
        expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      }
    });

    it('the pages an LTI session sees may be framed by hosted Canvas, with no X-Frame-Options', async () => {
      const lti = await mintSessionCookie(c, { integrationAccess: { integrationId, via: 'lti', label: 'Ada Admin' } });
      const res = await request(app).get(`/integrations/${integrationId}`).set('Cookie', lti);
      expect(res.status).toBe(200);
      expect(ancestors(res)).toEqual(["'self'", 'https://*.instructure.com']);
      expect(res.headers['x-frame-options']).toBeUndefined();
    });

    it('a setup-link session (a browser tab, not Canvas) is not framed by Canvas', async () => {
      const link = await mintSessionCookie(c, { integrationAccess: { integrationId, via: 'setup-link', label: 'setup link' } });
      const res = await request(app).get(`/integrations/${integrationId}`).set('Cookie', link);
      expect(res.status).toBe(200);
      expect(ancestors(res)).toEqual(["'self'"]);
    });

    it('the ltijs mount and the launch hand-over pages may be framed by Canvas', async () => {
      for (const res of [await request(app).get('/lti/login'), await request(app).get('/launch/handoff?token=nope')]) {
        expect(ancestors(res)).toEqual(["'self'", 'https://*.instructure.com']);
        expect(res.headers['x-frame-options']).toBeUndefined();
      }
    });
  });

  describe('proxy configuration', () => {
    it('warns once when an https deployment gets X-Forwarded-Proto from a proxy TRUST_PROXY does not name', async () => {
      const k = await createTestContainer({ env: { PUBLIC_URL: 'https://exams.example.edu' } });
      try {
        const behind = createApp(k);
        await request(behind).get('/login').set('X-Forwarded-Proto', 'https');
        await request(behind).get('/login').set('X-Forwarded-Proto', 'https');
        expect(k.log.text().match(/set TRUST_PROXY/g)).toHaveLength(1);
        const trusted = await createTestContainer({ env: { PUBLIC_URL: 'https://exams.example.edu', TRUST_PROXY: 'loopback' } });
        try {
          const res = await request(createApp(trusted)).get('/login').set('X-Forwarded-Proto', 'https');
          expect(String(res.headers['set-cookie'])).toContain('Secure');
          expect(trusted.log.text()).not.toContain('set TRUST_PROXY');
        } finally {
          await trusted.close();
        }
      } finally {
        await k.close();
      }
    });
  });

  describe('audit page', () => {
    it('shows staff by name and email to staff', async () => {
      const res = await request(app).get(`/integrations/${integrationId}/audit`).set('Cookie', staffCookie);
      expect(res.status).toBe(200);
      expect(res.text).toContain('ops@example.edu');
    });

    it("an institution's admin sees 'platform staff' and no staff email, not even in an event's detail", async () => {
      const admin = await mintSessionCookie(c, { integrationAccess: { integrationId, via: 'setup-link', label: 'setup link' } });
      const res = await request(app).get(`/integrations/${integrationId}/audit`).set('Cookie', admin);
      expect(res.status).toBe(200);
      expect(res.text).toContain('platform staff');
      expect(res.text).not.toContain('ops@example.edu');
      expect(res.text).not.toContain('Olga Ops');
      expect((await request(app).get(`/integrations/${otherId}/audit`).set('Cookie', admin)).status).toBe(403);
    });
  });
});
