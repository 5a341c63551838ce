import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DEMO_SCOPES } from '../../src/simulator/demo-world.js';
import { scopeAllows, scopeRegex } from '../../src/simulator/api-auth.js';
import type { CanvasSandbox } from '../../src/simulator/sandbox.js';
import { apiGet, authUrl, getTokens, standardAuth, startSandbox } from './sandbox-helpers.js';

const W = 'Bearer realm="canvas-lms"';

describe('Canvas sandbox: API authentication', () => {
  let sb: CanvasSandbox;
  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.stop());
  beforeEach(() => {
    sb.control.setKey({ workflowState: 'active', binding: 'on', requireScopes: false, allowIncludes: true, scopes: [...DEMO_SCOPES] });
    sb.control.configure({ permissionDeniedStatus: 401 });
  });

  it('no credentials: 401 unauthenticated with WWW-Authenticate', async () => {
    const r = await apiGet(sb, '/api/v1/users/self');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe(W);
    expect(await r.json()).toEqual({ status: 'unauthenticated', errors: [{ message: 'user authorization required' }] });
  });

  it('a garbage token: 401 Invalid access token. with WWW-Authenticate', async () => {
    const r = await apiGet(sb, '/api/v1/users/self', 'garbage');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe(W);
    expect(await r.json()).toEqual({ errors: [{ message: 'Invalid access token.' }] });
  });

  it('the scheme must be exactly Bearer; access_token as a query param also works', async () => {
    const t = await getTokens(sb);
    expect((await apiGet(sb, '/api/v1/users/self', undefined, { authorization: `bearer ${t.access_token}` })).status).toBe(401);
    expect((await apiGet(sb, `/api/v1/users/self?access_token=${t.access_token}`)).status).toBe(200);
  });

  it('a missing User-Agent is 403 with the body Instructure published for the rule', async () => {
    const t = await getTokens(sb);
    const r = await fetch(`${sb.url}/api/v1/users/self`, { headers: { authorization: `Bearer ${t.access_token}`, 'user-agent': '' } });
    expect(r.status).toBe(403);
    expect(await r.json()).toEqual({ error: 'Forbidden', message: 'You are not authorized to access this site because you have not provided a valid user agent.' });
  });

  it('key binding OFF after authorization: API 401 Invalid access token.; /auth redirects unauthorized_client', async () => {
    const t = await getTokens(sb);
    sb.control.setKey({ binding: 'off' });
    const r = await apiGet(sb, '/api/v1/users/self', t.access_token);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe(W);
    expect(await r.json()).toEqual({ errors: [{ message: 'Invalid access token.' }] });
    const auth = await fetch(authUrl(sb, standardAuth()), { redirect: 'manual' });
    expect(new URL(auth.headers.get('location')!).searchParams.get('error')).toBe('unauthorized_client');
  });

  it('key deactivated: API 401 Invalid access token.', async () => {
    const t = await getTokens(sb);
    sb.control.setKey({ workflowState: 'inactive' });
    expect(await (await apiGet(sb, '/api/v1/users/self', t.access_token)).json()).toEqual({ errors: [{ message: 'Invalid access token.' }] });
  });

  it('user suspended: API 401 Invalid access token.', async () => {
    const t = await getTokens(sb, 'limited');
    sb.control.suspendUser({ userId: '2' });
    try {
      const r = await apiGet(sb, '/api/v1/users/self', t.access_token);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe(W);
    } finally {
      sb.control.suspendUser({ userId: '2', suspended: false });
    }
  });

  it('removing a scope deletes every token of the key', async () => {
    sb.control.setKey({ requireScopes: true });
    const t = await getTokens(sb, 'admin', { scope: 'url:GET|/api/v1/users/:id' });
    expect((await apiGet(sb, '/api/v1/users/self', t.access_token)).status).toBe(200);
    expect(sb.control.removeScopes({ scopes: ['url:GET|/api/v1/courses/:id'] })).toBeGreaterThanOrEqual(1);
    expect((await apiGet(sb, '/api/v1/users/self', t.access_token)).status).toBe(401);
  });

  describe('scopes', () => {
    it('a path outside the token\'s scopes is 401 Insufficient scopes on access token. with no WWW-Authenticate', async () => {
      sb.control.setKey({ requireScopes: true });
      const t = await getTokens(sb, 'admin', { scope: 'url:GET|/api/v1/users/:id url:GET|/api/v1/courses/:id' });
      expect((await apiGet(sb, '/api/v1/users/self', t.access_token)).status).toBe(200);
      expect((await apiGet(sb, '/api/v1/courses/1001.json', t.access_token)).status).toBe(200);
      const r = await apiGet(sb, '/api/v1/accounts', t.access_token);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBeNull();
      expect(await r.json()).toEqual({ errors: [{ message: 'Insufficient scopes on access token.' }] });
    });

    it('tokens of an unscoped key stop working when the key starts enforcing scopes, and work again when it stops', async () => {
      const t = await getTokens(sb);
      sb.control.setKey({ requireScopes: true });
      expect(await (await apiGet(sb, '/api/v1/users/self', t.access_token)).json()).toEqual({ errors: [{ message: 'Insufficient scopes on access token.' }] });
      sb.control.setKey({ requireScopes: false });
      expect((await apiGet(sb, '/api/v1/users/self', t.access_token)).status).toBe(200);
    });

    it('include[] is stripped to uuid when the key enforces scopes without Allow Include Parameters', async () => {
      sb.control.setKey({ requireScopes: true, allowIncludes: false });
      const t = await getTokens(sb, 'admin', { scope: DEMO_SCOPES.join(' ') });
      const r = await apiGet(sb, '/api/v1/courses/1001/enrollments?include[]=email&include[]=uuid&per_page=100', t.access_token);
      expect(r.status).toBe(200);
      const rows = (await r.json()) as Array<{ user: Record<string, unknown> }>;
      expect(rows.some((e) => 'email' in e.user)).toBe(false);
      expect(rows.every((e) => typeof e.user['uuid'] === 'string')).toBe(true);
      const courses = (await (await apiGet(sb, '/api/v1/accounts/self/courses?include[]=total_students', t.access_token)).json()) as Array<Record<string, unknown>>;
      expect(courses.some((c) => 'total_students' in c)).toBe(false);
      sb.control.setKey({ allowIncludes: true });
      const allowed = (await (await apiGet(sb, '/api/v1/accounts/self/courses?include[]=total_students', t.access_token)).json()) as Array<Record<string, unknown>>;
      expect(allowed.every((c) => typeof c['total_students'] === 'number')).toBe(true);
    });

    it('matches scopes like Canvas: :param one segment, optional .json, HEAD as GET, anchored', () => {
      expect(scopeRegex('/api/v1/courses/:course_id/sections').test('/api/v1/courses/sis_course_id:X/sections')).toBe(true);
      expect(scopeAllows(['url:GET|/api/v1/courses/:id'], 'GET', '/api/v1/courses/1/sections')).toBe(false);
      expect(scopeAllows(['url:GET|/api/v1/courses/:id'], 'GET', '/api/v1/courses/1.json')).toBe(true);
      expect(scopeAllows(['url:GET|/api/v1/courses/:id'], 'HEAD', '/api/v1/courses/1')).toBe(true);
      expect(scopeAllows(['url:GET|/api/v1/courses/:id'], 'POST', '/api/v1/courses/1')).toBe(false);
      expect(scopeAllows(['url:GET|/api/v1/files/*path'], 'GET', '/api/v1/files/a/b')).toBe(true);
      expect(scopeAllows(['url:GET|/api/v1/users/:id'], 'GET', '/x/api/v1/users/self')).toBe(false);
    });
  });

  describe('permission denied', () => {
    it('is 401 user not authorized without WWW-Authenticate, or 403 with permissionDeniedStatus', async () => {
      const t = await getTokens(sb, 'student');
      let r = await apiGet(sb, '/api/v1/accounts/self/courses', t.access_token);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBeNull();
      expect(await r.json()).toEqual({ status: 'unauthorized', errors: [{ message: 'user not authorized to perform that action' }] });
      sb.control.configure({ permissionDeniedStatus: 403 });
      r = await apiGet(sb, '/api/v1/courses/1001/enrollments', t.access_token);
      expect(r.status).toBe(403);
    });

    it('a deleted course is 404 The specified resource does not exist.', async () => {
      const t = await getTokens(sb);
      const r = await apiGet(sb, '/api/v1/courses/1006', t.access_token);
      expect(r.status).toBe(404);
      expect(await r.json()).toEqual({ errors: [{ message: 'The specified resource does not exist.' }] });
    });
  });
});
