import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { mintSessionCookie } from '../../support/session-cookie.js';
import { createTestContainer } from '../../support/test-container.js';

/**
 * Tenant isolation as a table: every route the app's router stack holds × every caller that must not
 * reach integration A (anonymous, a revoked API token, institution B's LTI admin, an LTI instructor
 * of B, a setup-link admin of B). Each route needs a rule below; a route without one fails the test,
 * so a new route cannot ship without saying who may reach it.
 */

type Rule =
  /** Anyone may call it; it must still show nothing of integration A. */
  | 'public'
  /** requireStaff: anonymous → sign in (GET 303 to /login, other methods 401), any other session → 403. */
  | 'staffOnly'
  /** requireIntegrationAccess(':id'): like staffOnly, except a session for THIS integration passes. */
  | 'integrationScoped'
  /** The LTI instructor's own course page: only an `ltiCourse` session, which sees only its own course. */
  | 'ltiCourse'
  /** JSON API: a staff API token or a staff session; anything else 401 before body or CSRF checks. */
  | 'api';

/** Every route under /api is behind the one credential check mounted on /api, so it needs no rule of its own. */
const API_PREFIX = '/api/';

const RULES: Record<string, Rule> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /': 'public',
  'GET /login': 'public',
  'POST /login': 'public',
  'POST /logout': 'public',
  'GET /oauth/start': 'public', // signed authorization link: without a valid token, 403
  'GET /oauth/callback': 'public', // bound to the browser that started it
  'GET /oauth/result': 'public', // shows only this session's own last result
  'GET /setup': 'public', // signed setup link
  'GET /launch/handoff': 'public', // single-use LTI hand-over token
  'GET /launch/handoff/confirm': 'public',
  'GET /launch/course': 'ltiCourse',
  'GET /launch/frame/integrations/:id/courses/:courseId': 'public', // frame token bound to integration + course; none here: 401
  'GET /launch/frame/integrations/:id': 'public', // frame token bound to integration (admin page); none here: 401
  'GET /lti/register': 'public', // Dynamic Registration: an open window + Canvas's single-use token
  'POST /integrations/:id/lti/registration-window': 'integrationScoped',
  'GET /settings/api-tokens': 'staffOnly',
  'POST /settings/api-tokens': 'staffOnly',
  'POST /settings/api-tokens/:tokenId/revoke': 'staffOnly',
  'GET /integrations': 'staffOnly',
  'GET /integrations/new': 'staffOnly',
  'POST /integrations': 'staffOnly',
  'POST /integrations/:id/setup-link': 'staffOnly',
  'POST /integrations/:id/delete': 'staffOnly',
  'GET /jobs': 'staffOnly',
  'GET /webhooks': 'staffOnly',
  'POST /webhooks': 'staffOnly',
  'GET /webhooks/:id': 'staffOnly',
  'POST /webhooks/:id/delete': 'staffOnly',
  'POST /webhooks/:id/enable': 'staffOnly',
  'POST /webhooks/:id/deliveries/:deliveryId/redeliver': 'staffOnly',
  'GET /metrics': 'public', // bearer METRICS_TOKEN or staff API token: 401 without; counts only, no institution's data
  'GET /docs/api': 'staffOnly',
  'GET /integrations/:id': 'integrationScoped',
  'POST /integrations/:id/settings': 'integrationScoped',
  'POST /integrations/:id/preflight': 'integrationScoped',
  'POST /integrations/:id/verify': 'integrationScoped',
  'POST /integrations/:id/disconnect': 'integrationScoped',
  'GET /integrations/:id/configure': 'integrationScoped',
  'POST /integrations/:id/configure': 'integrationScoped',
  'GET /integrations/:id/scopes': 'integrationScoped',
  'GET /integrations/:id/scopes.txt': 'integrationScoped',
  'GET /integrations/:id/troubleshoot': 'integrationScoped',
  'POST /integrations/:id/troubleshoot': 'integrationScoped',
  'GET /integrations/:id/audit': 'integrationScoped',
  'GET /integrations/:id/lti': 'integrationScoped',
  'POST /integrations/:id/lti': 'integrationScoped',
  'POST /integrations/:id/generate-keys': 'integrationScoped',
  'GET /integrations/:id/courses': 'integrationScoped',
  'POST /integrations/:id/course-refresh': 'integrationScoped',
  'GET /integrations/:id/sync-list': 'integrationScoped',
  'POST /integrations/:id/sync-list/add': 'integrationScoped',
  'POST /integrations/:id/sync-list/remove': 'integrationScoped',
  'POST /integrations/:id/sync-list/import': 'integrationScoped',
  'GET /integrations/:id/sync-list/imports/:importId': 'integrationScoped',
  'POST /integrations/:id/sync-list/imports/:importId/apply': 'integrationScoped',
  'GET /integrations/:id/sync-list/export': 'integrationScoped',
  'POST /integrations/:id/sync-list/sync': 'integrationScoped',
  'POST /integrations/:id/sync-list/schedule': 'integrationScoped',
  'POST /integrations/:id/courses/lookup': 'integrationScoped',
  'POST /integrations/:id/course-sync': 'integrationScoped',
  'GET /integrations/:id/course-sync-all': 'integrationScoped',
  'POST /integrations/:id/course-sync-all': 'integrationScoped',
  'GET /integrations/:id/courses/:canvasId': 'integrationScoped',
  'POST /integrations/:id/courses/:canvasId/sync': 'integrationScoped',
  'GET /integrations/:id/jobs/:jobId': 'integrationScoped',
  'POST /integrations/:id/jobs/:jobId/cancel': 'integrationScoped',
};

interface RouteEntry {
  method: string;
  path: string;
}

/** Method + full path of every route in the app's router stack (nested routers included; Express 5's `router` package). */
function routesOf(app: Express): RouteEntry[] {
  const found: RouteEntry[] = [];
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; rawPath?: unknown };
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on) found.push({ method: method === '_all' ? 'ALL' : method.toUpperCase(), path: prefix + layer.route.path });
        }
      } else if (layer.handle?.stack) {
        // A router mounted on a path (app.use('/x', router)) prefixes its routes' paths.
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found;
}

const ruleOf = (r: RouteEntry): Rule | undefined => (r.path.startsWith(API_PREFIX) ? 'api' : RULES[`${r.method} ${r.path}`]);

type CallerName = 'anonymous' | 'revokedToken' | 'otherLtiAdmin' | 'ltiInstructor' | 'otherSetupLink';
const CALLERS: CallerName[] = ['anonymous', 'revokedToken', 'otherLtiAdmin', 'ltiInstructor', 'otherSetupLink'];

/** What each caller must get on a route of each rule; `login` = 303 to /login?next=…; null = any non-5xx without A's data. */
function expected(rule: Rule, caller: CallerName, method: string): number | 'login' | null {
  const hasSession = caller !== 'revokedToken';
  const limited = caller === 'otherLtiAdmin' || caller === 'ltiInstructor' || caller === 'otherSetupLink';
  switch (rule) {
    case 'public':
      return null;
    case 'api':
      return 401;
    case 'ltiCourse':
      return caller === 'ltiInstructor' ? 200 : 403;
    case 'staffOnly':
    case 'integrationScoped':
      if (limited) return 403;
      if (method === 'GET') return 'login';
      // A page form without a session fails its CSRF check before the guard: 403 either way.
      return hasSession ? 401 : 403;
  }
}

describe('tenant isolation: every route × every caller without access to integration A', () => {
  let c: Awaited<ReturnType<typeof createTestContainer>>;
  let app: Express;
  let routes: RouteEntry[];
  let a: string;
  let b: string;
  let revoked: string;
  let tokenId: string;
  const MARKERS = ['Alpha Institute 7f3c', 'alpha-7f3c.instructure.com', '20000000000077'] as const;

  beforeAll(async () => {
    c = await createTestContainer({ env: { BOOTSTRAP_API_TOKEN: 'bootstrap-token-for-isolation-0123456789' } });
    const base = { accountId: 'self', courseIdType: 'sis_course_id' as const, userIdType: 'sis_user_id' as const, studentRoles: ['StudentEnrollment'] };
    a = (await c.integrations.create({ ...base, name: MARKERS[0], canvasUrl: `https://${MARKERS[1]}`, clientId: MARKERS[2] })).id;
    b = (await c.integrations.create({ ...base, name: 'Beta College', canvasUrl: 'https://beta-college.instructure.com', clientId: '30000000000003' })).id;
    const created = await c.apiTokens.create({ name: 'revoked one' });
    await c.apiTokens.revoke(created.info.id);
    revoked = created.token;
    tokenId = (await c.apiTokens.create({ name: 'live one' })).info.id;
    app = createApp(c);
    routes = routesOf(app);
  });
  afterAll(async () => {
    await c.close();
  });

  /** Headers for one request by `caller`: a fresh session (with a CSRF token, so forms reach their guard) or a revoked bearer token. */
  async function headersFor(caller: CallerName | 'ownLtiAdmin'): Promise<Record<string, string>> {
    const csrfToken = randomBytes(16).toString('hex');
    const session = (fields: object) => mintSessionCookie(c, { ...fields, csrfToken } as never);
    const cookie = {
      anonymous: () => session({}),
      revokedToken: async () => '',
      otherLtiAdmin: () => session({ integrationAccess: { integrationId: b, via: 'lti', label: 'Beta admin' } }),
      ltiInstructor: () => session({ ltiCourse: { integrationId: b, courseId: '901', via: 'lti' } }),
      otherSetupLink: () => session({ integrationAccess: { integrationId: b, via: 'setup-link', label: 'setup link' } }),
      ownLtiAdmin: () => session({ integrationAccess: { integrationId: a, via: 'lti', label: 'Alpha admin' } }),
    }[caller];
    const value = await cookie();
    if (caller === 'revokedToken') return { Authorization: `Bearer ${revoked}` };
    return { Cookie: value, 'X-CSRF-Token': csrfToken };
  }

  const concrete = (path: string) =>
    path.replace(':id', a).replace(':canvasId', '101').replace(':jobId', 'job-of-a').replace(':tokenId', tokenId).replace(':userId', '5');

  async function call(route: RouteEntry, headers: Record<string, string>) {
    const agent = request(app);
    const method = (route.method === 'ALL' ? 'get' : route.method.toLowerCase()) as 'get' | 'post' | 'patch' | 'put' | 'delete';
    let req = agent[method](concrete(route.path));
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    return method === 'get' ? req : req.send({});
  }

  it('finds the routes in the router stack, and every route has a rule (no rule left for a route that is gone)', () => {
    expect(routes.length).toBeGreaterThan(50);
    expect(routes.filter((r) => r.path.startsWith(API_PREFIX)).length).toBeGreaterThan(15);
    const missing = routes.filter((r) => ruleOf(r) === undefined).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
    const known = new Set(routes.map((r) => `${r.method} ${r.path}`));
    expect(Object.keys(RULES).filter((k) => !known.has(k))).toEqual([]);
  });

  it('no caller without access gets content or integration A data from any route', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      const rule = ruleOf(route)!;
      for (const caller of CALLERS) {
        const res = await call(route, await headersFor(caller));
        const want = expected(rule, caller, route.method);
        const where = `${caller} ${route.method} ${route.path} (${rule})`;
        const text = `${res.text ?? ''} ${res.headers.location ?? ''}`;
        const leaked = MARKERS.filter((m) => text.includes(m));
        if (leaked.length > 0) failures.push(`${where}: shows integration A's ${leaked.join(', ')}`);
        if (res.status >= 500) failures.push(`${where}: ${res.status}`);
        if (want === 'login') {
          if (res.status !== 303 || !String(res.headers.location).startsWith('/login?next=')) failures.push(`${where}: ${res.status} ${res.headers.location ?? ''}, expected 303 to /login`);
        } else if (want !== null && res.status !== want) {
          failures.push(`${where}: ${res.status}, expected ${want}`);
        }
        if (rule === 'api' && res.body?.error?.code !== 'unauthenticated') failures.push(`${where}: API answer without code unauthenticated`);
        if (rule !== 'public' && want !== 200 && res.status >= 200 && res.status < 300) failures.push(`${where}: ${res.status} with content`);
        if (res.status >= 300 && res.status < 400 && rule !== 'public' && want !== 'login') failures.push(`${where}: redirected to ${res.headers.location}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("the table can fail: integration A's own admin does reach A's pages and sees A's data", async () => {
    const own = await headersFor('ownLtiAdmin');
    const pages = routes.filter((r) => ruleOf(r) === 'integrationScoped' && r.method === 'GET' && !r.path.includes(':canvasId') && !r.path.includes(':jobId') && !r.path.includes(':importId'));
    expect(pages.length).toBeGreaterThan(5);
    for (const route of pages) {
      const res = await call(route, own);
      expect([route.path, res.status]).toEqual([route.path, 200]);
    }
    expect((await call({ method: 'GET', path: '/integrations/:id' }, own)).text).toContain(MARKERS[0]);
  });
});
