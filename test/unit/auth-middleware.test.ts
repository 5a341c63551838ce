import { describe, expect, it } from '@jest/globals';
import express from 'express';
import type session from 'express-session';
import request from 'supertest';
import { requireIntegrationAccess, requireStaff } from '../../src/http/middleware/auth.js';
import '../../src/http/session.js';

/** A tiny app whose "session" is fixed per test, so the middleware is tested alone. */
function appWith(sess: Partial<session.SessionData>) {
  const app = express();
  app.use((req, _res, next) => {
    (req as unknown as { session: Partial<session.SessionData> }).session = sess;
    next();
  });
  app.get('/api/v1/integrations/:id', requireIntegrationAccess('id'), (req, res) => {
    res.json({ ok: req.params.id });
  });
  app.get('/api/v1/staff-only', requireStaff, (_req, res) => {
    res.json({ ok: true });
  });
  return app;
}

describe('requireIntegrationAccess', () => {
  it('lets staff reach any integration', async () => {
    const res = await request(appWith({ staff: { id: 's', email: 'e@x.y', name: 'S' } })).get('/api/v1/integrations/int-9');
    expect(res.status).toBe(200);
  });

  it('lets a Canvas admin reach only their own integration', async () => {
    const app = appWith({ integrationAccess: { integrationId: 'int-1', via: 'setup-link', label: 'Uni One' } });
    expect((await request(app).get('/api/v1/integrations/int-1')).status).toBe(200);
    const other = await request(app).get('/api/v1/integrations/int-2');
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('forbidden');
    expect(JSON.stringify(other.body)).not.toContain('int-2');
  });

  it('refuses an LTI instructor session and an anonymous visitor', async () => {
    const lti = await request(appWith({ ltiCourse: { integrationId: 'int-1', courseId: '5', via: 'lti' } })).get('/api/v1/integrations/int-1');
    expect(lti.status).toBe(403);
    const anon = await request(appWith({})).get('/api/v1/integrations/int-1');
    expect(anon.status).toBe(401);
  });
});

describe('requireStaff', () => {
  it('refuses a limited Canvas admin session', async () => {
    const res = await request(appWith({ integrationAccess: { integrationId: 'int-1', via: 'lti', label: 'U' } })).get('/api/v1/staff-only');
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });

  it('asks an anonymous API caller to authenticate', async () => {
    const res = await request(appWith({})).get('/api/v1/staff-only');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
  });
});
